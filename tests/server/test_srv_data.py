"""The data layer on a real SQLite file: schema, booking rules, box records, positions, purge."""

import threading

import pytest
from conftest import future

from server import migrations
from server.db import connect, init_db
from server.queries import box_records, boxes, maintenance, positions, reservations, trips
from server.queries.common import RuleError, Rules

RULES = Rules()
KEY = "00112233445566778899aabbccddeeff"


def test_migrations_are_idempotent_and_keep_data(app, db, fleet):
    with app.app_context():
        init_db()
        init_db()
    assert db.execute("SELECT count(*) FROM vehicles").fetchone()[0] == 2
    # every migration recorded once (counted from the list: helpers append migrations in parallel)
    assert db.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(migrations.migrations.pending(
        connect(":memory:")))
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_booking_rules_refuse_overlap_unhabilitated_and_bad_slots(db, fleet):
    start = future(24)
    now = start - 24 * 3600
    rid = reservations.create(db, fleet.agent, fleet.car, start, start + 3600, now, RULES)
    assert rid > 0
    codes = {}
    for name, args in {
        "overlap": (fleet.agent2, fleet.car, start + 1800, start + 5400),
        "not_habilitated": (fleet.agent, fleet.car2, start, start + 3600),
        "order": (fleet.agent, fleet.car, start + 3600, start),
        "past": (fleet.agent, fleet.car, now - 7200, now - 3600),
        "too_short": (fleet.agent, fleet.car, start + 7200, start + 7300),
        "too_long": (fleet.agent, fleet.car, start + 7200, start + 7200 + 4 * 86400),
        "horizon": (fleet.agent, fleet.car, now + 100 * 86400, now + 100 * 86400 + 3600),
        "agent_overlap": (fleet.agent, 999999, start, start + 3600),
    }.items():
        with pytest.raises(RuleError) as exc:
            reservations.create(db, *args, now=now, rules=RULES)
        codes[name] = exc.value.code
    assert codes == {"overlap": "overlap", "not_habilitated": "not_habilitated", "order": "order", "past": "past",
                     "too_short": "too_short", "too_long": "too_long", "horizon": "horizon",
                     "agent_overlap": "vehicle_unavailable"}
    # back-to-back is not an overlap
    assert reservations.create(db, fleet.agent2, fleet.car, start + 3600, start + 7200, now, RULES)


def test_availability_lists_only_free_cars_of_habilitated_pools(db, fleet):
    start = future(48)
    agent = {"id": fleet.agent2, "department_id": fleet.ddpp}
    assert {c["plate"] for c in reservations.available(db, agent, start, start + 3600)} == {"AB-123-CD", "EF-456-GH"}
    reservations.create(db, fleet.agent, fleet.car, start - 1800, start + 600, start - 86400, RULES)
    assert {c["plate"] for c in reservations.available(db, agent, start, start + 3600)} == {"EF-456-GH"}
    ddt_agent = {"id": fleet.agent, "department_id": fleet.ddt}
    assert reservations.available(db, ddt_agent, start, start + 3600) == []
    assert [c["plate"] for c in reservations.available(db, ddt_agent, start + 600, start + 3600)] == ["AB-123-CD"]


def test_parallel_bookings_of_one_slot_exactly_one_wins(app, fleet):
    start = future(72)
    results = []
    barrier = threading.Barrier(12)

    def attempt(agent_id):
        db = connect(app.config["DATABASE"])
        barrier.wait()
        try:
            results.append(reservations.create(db, agent_id, fleet.car, start, start + 3600, start - 86400, RULES))
        except RuleError as exc:
            results.append(exc.code)
        finally:
            db.conn.close()

    agents = [fleet.person("Agent %d" % i, "a%d@ddt.gouv.fr" % i, fleet.ddt) for i in range(12)]
    threads = [threading.Thread(target=attempt, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r for r in results if isinstance(r, str)) == ["overlap"] * 11
    assert len([r for r in results if isinstance(r, int)]) == 1


def test_cancel_and_extend_respect_ownership_and_neighbours(db, fleet):
    start = future(24)
    now = start - 86400
    mine = reservations.create(db, fleet.agent, fleet.car, start, start + 3600, now, RULES)
    reservations.create(db, fleet.agent2, fleet.car, start + 7200, start + 10800, now, RULES)
    reservations.extend(db, mine, fleet.agent, start + 7200, now, RULES)
    with pytest.raises(RuleError) as exc:
        reservations.extend(db, mine, fleet.agent, start + 9000, now, RULES)
    assert exc.value.code == "overlap"
    with pytest.raises(RuleError) as exc:
        reservations.cancel(db, mine, fleet.agent2, now)
    assert exc.value.code == "not_yours"
    reservations.cancel(db, mine, fleet.agent, now)
    assert reservations.get(db, mine)["status"] == "cancelled"


def test_box_counter_rejects_replays_and_records_dedup(db, fleet):
    boxes.register(db, 7, fleet.car, KEY)
    assert boxes.get_key(db, 7) == bytes.fromhex(KEY)
    assert boxes.get_key(db, 8) is None
    assert boxes.accept_counter(db, 7, 1)
    assert not boxes.accept_counter(db, 7, 1)
    assert boxes.accept_counter(db, 7, 5)
    assert not boxes.accept_counter(db, 7, 4)
    assert box_records.claim(db, 7, 10)
    assert not box_records.claim(db, 7, 10)
    assert box_records.claim_many(db, 7, [10, 11, 12, 11]) == [11, 12]
    boxes.update_health(db, 7, {"fw": "0.1.0", "csq": 17, "mv": 12600, "backlog": 3, "gps": 1, "uptime": 60,
                                "reset": 1, "unknown": 5}, 1000)
    b = boxes.get(db, 7)
    assert (b["firmware"], b["csq"], b["supply_mv"], b["backlog"], b["last_seen"]) == ("0.1.0", 17, 12600, 3, 1000)
    with pytest.raises(ValueError):
        boxes.register(db, 9, fleet.car2, "zz")


def test_trips_positions_outside_trips_are_dropped_and_unplanned_becomes_reservation(db, fleet):
    boxes.register(db, 7, fleet.car, KEY)
    t0 = 1_800_000_000
    trip = trips.record_start(db, 7, 1, t0, b"", 0, 1000)
    assert trips.record_start(db, 7, 1, t0, b"", 0, 1000) == trip  # replay: same trip
    stored, dropped = positions.add_many(db, 7, [
        {"t": t0 - 10, "lat": 480000000, "lon": 2000000, "speed": 0, "course": 0},
        {"t": t0 + 10, "lat": 480000100, "lon": 2000100, "speed": 500, "course": 90},
        {"t": t0 + 20, "lat": 480000200, "lon": 2000200, "speed": 600, "course": 90},
    ])
    assert (stored, dropped) == (2, 1)
    assert trips.record_end(db, 7, 1, t0 + 30, 3000, 2000, 1) == trip
    assert positions.add_many(db, 7, [{"t": t0 + 40, "lat": 1, "lon": 1}]) == (0, 1)
    assert trips.get(db, trip)["distance_m"] == 2000
    # an unknown badge: no agent, so no unplanned reservation, but the trip is kept
    assert trips.get(db, trip)["unplanned"] == 1


def test_trip_with_reservation_marks_it_started_and_no_show_releases_others(db, fleet):
    boxes.register(db, 7, fleet.car, KEY)
    start = future(2)
    now = start - 3600
    used = reservations.create(db, fleet.agent, fleet.car, start, start + 3600, now, RULES)
    idle = reservations.create(db, fleet.agent2, fleet.car, start + 7200, start + 10800, now, RULES)
    trips.record_start(db, 7, 1, start + 60, b"", used, 0)
    assert reservations.get(db, used)["started_at"] == start + 60
    assert reservations.release_no_shows(db, start + 7200 + 31 * 60, RULES.no_show_delay_s) == 1
    assert reservations.get(db, idle)["status"] == "no_show"
    assert reservations.get(db, used)["status"] == "booked"


def test_late_return_warns_the_next_booker_once(db, fleet):
    boxes.register(db, 7, fleet.car, KEY)
    start = future(2)
    now = start - 3600
    first = reservations.create(db, fleet.agent, fleet.car, start, start + 3600, now, RULES)
    reservations.create(db, fleet.agent2, fleet.car, start + 3600, start + 7200, now, RULES)
    trips.record_start(db, 7, 1, start + 60, b"", first, 0)
    assert reservations.warn_late_returns(db, start + 3600 + 600, RULES.late_warning_window_s) == 1
    assert reservations.warn_late_returns(db, start + 3600 + 900, RULES.late_warning_window_s) == 0
    notes = db.execute("SELECT agent_id, message FROM notifications").fetchall()
    assert [n[0] for n in notes] == [fleet.agent2]
    assert "AB-123-CD" in notes[0][1]


def test_purge_reduces_old_positions_to_trip_summaries(db, fleet):
    boxes.register(db, 7, fleet.car, KEY)
    t0 = 1_700_000_000
    trip = trips.record_start(db, 7, 1, t0, b"", 0, 0)
    positions.add_many(db, 7, [{"t": t0 + i, "lat": 480000000 + i, "lon": 2000000, "speed": 100 * i, "course": 0}
                               for i in range(1, 6)])
    trips.record_end(db, 7, 1, t0 + 10, 0, 100, 1)
    assert maintenance.purge_positions(db, t0 + 30 * 86400, 61) == 0
    assert maintenance.purge_positions(db, t0 + 62 * 86400, 61) == 5
    summary = trips.get(db, trip)
    assert (summary["positions_count"], summary["max_speed"], summary["min_lat"], summary["positions_purged"]) == (
        5, 500, 480000001, 1)
    assert positions.count(db) == 0


def test_maintenance_runs_purge_at_most_once_a_day(db, fleet):
    now = 1_800_000_000
    assert "purged" in maintenance.run_due(db, now, RULES, 61)
    assert maintenance.run_due(db, now + 30, RULES, 61) == {}
    assert "purged" not in maintenance.run_due(db, now + 3600, RULES, 61)
    assert "purged" in maintenance.run_due(db, now + 86400, RULES, 61)


def test_an_open_unplanned_trip_keeps_its_car_booked(db, fleet):
    from protocol import keys

    key = bytes.fromhex(KEY)
    boxes.register(db, 7, fleet.car, KEY)
    t0 = future(-5)
    trip = trips.record_start(db, 7, 1, t0, keys.badge_hash(key, bytes.fromhex("04a1b2c3d4e5f6")), 0, 0)
    res = trips.get(db, trip)["reservation_id"]
    now = t0 + 3 * 3600
    agent2 = {"id": fleet.agent2, "department_id": fleet.ddpp}
    assert "AB-123-CD" in {c["plate"] for c in reservations.available(db, agent2, now, now + 600)}
    assert reservations.extend_open_unplanned(db, now) == 1
    assert reservations.get(db, res)["end"] == now + 1800
    assert "AB-123-CD" not in {c["plate"] for c in reservations.available(db, agent2, now, now + 600)}
    trips.record_end(db, 7, 1, now + 60, 0, 1000, 1)
    assert reservations.get(db, res)["end"] == now + 60
    assert reservations.extend_open_unplanned(db, now + 7200) == 0
