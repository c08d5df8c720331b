"""The sync endpoint's bulk paths: dedup claims by runs and scattered numbers, positions stored from rows."""

from protocol import schema
from server.db import write
from server.queries import box_records, boxes, positions, trips


POS = schema.by_name("pos")[schema.TAG]


def _runs(db, box_id):
    return [tuple(r) for r in db.execute("SELECT first, last FROM box_record_runs WHERE box_id = ? ORDER BY first",
                                         (box_id,))]


def test_claim_new_runs_and_scattered_numbers(db):
    with write(db):
        assert box_records.claim_new(db, 7, list(range(100, 140))) == list(range(100, 140))  # one run
    with write(db):
        # overlap with what was claimed, a run of 10, a short run and isolated numbers
        seqs = [98, 99, 100, 139, 140, 141] + list(range(150, 160)) + [170, 171, 175]
        assert box_records.claim_new(db, 7, seqs) == [98, 99, 140, 141] + list(range(150, 160)) + [170, 171, 175]
    with write(db):
        assert box_records.claim_new(db, 7, seqs) == []
        assert box_records.claim_new(db, 8, [100, 101]) == [100, 101]  # another box: its own numbers
    expected = [98, 99] + list(range(100, 142)) + list(range(150, 160)) + [170, 171, 175]
    assert box_records.stored_seqs(db, 7) == expected
    assert box_records.stored_seqs(db, 8) == [100, 101]
    # kept as runs: [98, 141], [150, 159], [170, 171], [175, 175]; filling a gap joins its neighbours
    assert _runs(db, 7) == [(98, 141), (150, 159), (170, 171), (175, 175)]
    with write(db):
        assert box_records.claim_new(db, 7, list(range(142, 150)) + [160, 174]) == list(range(142, 150)) + [160, 174]
    assert _runs(db, 7) == [(98, 160), (170, 171), (174, 175)]
    assert box_records.last_seq(db, 7) == 175 and box_records.last_seq(db, 9) == 0


def test_a_box_sending_in_order_keeps_one_run(db):
    for first in range(1, 5001, 500):
        with write(db):
            assert box_records.claim_new(db, 7, list(range(first, first + 500))) == list(range(first, first + 500))
    assert _runs(db, 7) == [(1, 5000)]


def test_migration_folds_per_record_rows_into_runs(tmp_path):
    import sqlite_utils

    from server.migrations import migrations

    db = sqlite_utils.Database(str(tmp_path / "old.sqlite"))
    # the database as it was before 0003: one row per stored record
    old = migrations.__class__("autopartage")
    for m in migrations._migrations[:2]:
        old._migrations.append(m)
    old.apply(db)
    db.conn.executemany("INSERT INTO box_records (box_id, seq) VALUES (?, ?)",
                        [(7, s) for s in [1, 2, 3, 5, 6, 9]] + [(8, 1), (8, 2)])
    db.conn.commit()
    migrations.apply(db)
    assert _runs(db, 7) == [(1, 3), (5, 6), (9, 9)]
    assert _runs(db, 8) == [(1, 2)]
    assert "box_records" not in db.table_names()


def test_add_rows_fills_the_open_trip_or_splits_between_trips(db, fleet):
    boxes.register(db, 7, fleet.car, "00" * 16)
    t0 = 1_800_000_000
    first = trips.record_start(db, 7, 1, t0, b"", 0, 1000)
    rows = [(POS, i, t0 + 10 * i, 480000000 + i, 2000000 + i, 100 * i, i) for i in range(1, 6)]
    # one open trip covering every row: the single-statement path
    assert positions.add_rows(db, 7, rows) == (5, 0)
    assert trips.record_end(db, 7, 1, t0 + 100, 3000, 2000, 1) == first
    second = trips.record_start(db, 7, 2, t0 + 200, b"", 0, 3000)
    # before the first trip, inside it, between the trips, inside the second (still open)
    mixed = [(POS, 10, t0 - 5, 1, 1, 0, 0), (POS, 11, t0 + 60, 2, 2, 0, 0), (POS, 12, t0 + 150, 3, 3, 0, 0),
             (POS, 13, t0 + 250, 4, 4, 0, 0)]
    assert positions.add_rows(db, 7, mixed) == (2, 2)
    got = [tuple(r) for r in db.execute("SELECT trip_id, t, lat, lon, speed, course FROM positions ORDER BY t")]
    assert got == [(first,) + r[2:] for r in rows] + [(first, t0 + 60, 2, 2, 0, 0), (second, t0 + 250, 4, 4, 0, 0)]


def test_claims_agree_with_a_set_of_stored_numbers(tmp_path):
    """Frames of ascending numbers in any mix (retransmissions, gaps, overlaps): claim_new answers exactly
    the numbers not stored before, and the runs stay disjoint, apart and ordered."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from server.db import connect
    from server.migrations import apply

    db = connect(str(tmp_path / "runs.sqlite"))
    apply(db)
    frames = st.lists(st.lists(st.integers(1, 120), max_size=30).map(lambda xs: sorted(set(xs))), max_size=12)

    @settings(max_examples=150, deadline=None)
    @given(frames)
    def check(batch):
        db.execute("DELETE FROM box_record_runs")
        stored = set()
        for seqs in batch:
            with write(db):
                new = box_records.claim_new(db, 7, seqs)
            assert new == [s for s in seqs if s not in stored]
            stored.update(seqs)
        assert box_records.stored_seqs(db, 7) == sorted(stored)
        runs = _runs(db, 7)
        assert all(a[1] + 1 < b[0] for a, b in zip(runs, runs[1:]))  # merged: never touching
        assert box_records.last_seq(db, 7) == (max(stored) if stored else 0)

    check()
