"""The sync endpoint's bulk paths: dedup claims by runs and scattered numbers, positions stored from rows."""

from server.db import write
from server.queries import boxes, positions, trips
from server.queries import sync as sync_q


def _claimed(db, box_id):
    return [r[0] for r in db.execute("SELECT seq FROM box_records WHERE box_id = ? ORDER BY seq", (box_id,))]


def test_claim_new_runs_and_scattered_numbers(db):
    with write(db):
        assert sync_q.claim_new(db, 7, list(range(100, 140))) == set(range(100, 140))  # one run
    with write(db):
        # overlap with what was claimed, a run of 10, a short run and isolated numbers
        seqs = [98, 99, 100, 139, 140, 141] + list(range(150, 160)) + [170, 171, 175]
        assert sync_q.claim_new(db, 7, seqs) == {98, 99, 140, 141, 170, 171, 175} | set(range(150, 160))
    with write(db):
        assert sync_q.claim_new(db, 7, seqs) == set()
        assert sync_q.claim_new(db, 8, [100, 101]) == {100, 101}  # another box: its own numbers
    expected = [98, 99] + list(range(100, 142)) + list(range(150, 160)) + [170, 171, 175]
    assert _claimed(db, 7) == expected
    assert _claimed(db, 8) == [100, 101]


def test_add_rows_fills_the_open_trip_or_splits_between_trips(db, fleet):
    boxes.register(db, 7, fleet.car, "00" * 16)
    t0 = 1_800_000_000
    first = trips.record_start(db, 7, 1, t0, b"", 0, 1000)
    rows = [(i, t0 + 10 * i, 480000000 + i, 2000000 + i, 100 * i, i) for i in range(1, 6)]
    # one open trip covering every row: the single-statement path
    assert positions.add_rows(db, 7, rows) == (5, 0)
    assert trips.record_end(db, 7, 1, t0 + 100, 3000, 2000, 1) == first
    second = trips.record_start(db, 7, 2, t0 + 200, b"", 0, 3000)
    # before the first trip, inside it, between the trips, inside the second (still open)
    mixed = [(10, t0 - 5, 1, 1, 0, 0), (11, t0 + 60, 2, 2, 0, 0), (12, t0 + 150, 3, 3, 0, 0),
             (13, t0 + 250, 4, 4, 0, 0)]
    assert positions.add_rows(db, 7, mixed) == (2, 2)
    got = [tuple(r) for r in db.execute("SELECT trip_id, t, lat, lon, speed, course FROM positions ORDER BY t")]
    assert got == [(first,) + r[1:] for r in rows] + [(first, t0 + 60, 2, 2, 0, 0), (second, t0 + 250, 4, 4, 0, 0)]
