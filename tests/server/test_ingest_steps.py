"""The sync pipeline's steps (server/ingest/), each on its own against a real SQLite file."""

import pytest

from protocol import codes, errors, frame, schema
from server.db import write
from server.ingest import MAX_SEQ, MAX_TIME, counter, decode, dedup, reply, store
from server.queries import boxes, trips

KEY = bytes(range(16))
BADGE = bytes(range(1, 9))
T0 = 1_800_000_000
HEALTH = {"fw": "1.0.0", "csq": 20, "mv": 12400, "backlog": 0, "gps": 1, "uptime": 60, "reset": 1}


def _records():
    return [
        {"type": "badge", "seq": 1, "t": T0, "badge": BADGE, "granted": True, "reason": codes.REASON_SPOT},
        {"type": "trip_start", "seq": 2, "t": T0 + 1, "trip": 1, "badge": BADGE, "reservation": 0, "odo_m": 1000},
        {"type": "pos", "seq": 3, "t": T0 + 10, "lat": 480000000, "lon": 20000000, "speed": 1000, "course": 90},
        {"type": "pos", "seq": 4, "t": T0 + 20, "lat": 480000100, "lon": 20000100, "speed": 1100, "course": 91},
        {"type": "event", "seq": 5, "t": T0 + 21, "code": codes.EV_IGNITION, "value": 0},
        {"type": "trip_end", "seq": 6, "t": T0 + 30, "trip": 1, "odo_m": 1020, "distance_m": 20,
         "reason": codes.END_BADGE},
        {"type": "pos", "seq": 7, "t": T0 + 40, "lat": 480000200, "lon": 20000200, "speed": 0, "course": 91},
    ]


def _rows(records=None):
    data = frame.encode_request(7, 1, records or _records(), HEALTH, KEY)
    return frame.decode_request(data, {7: KEY}.get, rows=True)


def test_decoder_gives_every_record_kind_one_shape_in_schema_order():
    req = _rows()
    assert {type(r) for r in req.records} == {tuple}
    for row, record in zip(req.records, _records()):
        spec = schema.by_name(record["type"])
        assert row == (spec[schema.TAG], record["seq"], record["t"]) + tuple(
            record[name] for name in schema.field_names(spec))
        assert schema.as_dict(row) == record


def test_store_dispatch_is_derived_from_the_declared_record_types():
    assert set(store.STORES) == {spec[schema.TAG] for spec in schema.RECORDS}
    assert store.IN_RUNS == {schema.by_name("pos")[schema.TAG]}
    assert store.STORES[schema.by_name("trip_end")[schema.TAG]] is store.store_trip_end


def test_store_all_keeps_journal_order_and_drops_what_has_no_trip(db, fleet):
    boxes.register(db, 7, fleet.car, KEY.hex())
    with write(db):
        stored, dropped = store.store_all(db, 7, _rows().records)
    # the position after the trip's end (seq 7) is outside every trip: dropped, never stored
    assert (stored, dropped) == (6, 1)
    assert trips.open_trip(db, 7) is None
    got = db.execute("SELECT t.box_trip, t.distance_m, count(p.t) FROM trips t JOIN positions p ON p.trip_id = t.id "
                     "GROUP BY t.id").fetchall()
    assert [tuple(r) for r in got] == [(1, 20, 2)]
    assert [tuple(r) for r in db.execute("SELECT granted, reason FROM badge_events")] == [(1, codes.REASON_SPOT)]


def test_store_all_drops_a_time_past_2106_and_stores_the_rest(db, fleet):
    boxes.register(db, 7, fleet.car, KEY.hex())
    event = schema.by_name("event")[schema.TAG]
    rows = [(event, 1, T0, codes.EV_RELAY, 1), (event, 2, MAX_TIME + 1, codes.EV_RELAY, 0)]
    with write(db):
        assert store.store_all(db, 7, rows) == (1, 1)


def test_dedup_returns_only_new_records_and_drops_numbers_beyond_sqlite(db):
    rows = _rows().records
    with write(db):
        assert dedup.new_records(db, 7, rows[:4]) == (rows[:4], 0, 0)
    with write(db):
        too_far = (schema.by_name("event")[schema.TAG], MAX_SEQ + 1, T0, 1, 0)
        new, duplicates, dropped = dedup.new_records(db, 7, rows + [too_far])
    assert new == rows[4:] and duplicates == 4 and dropped == 1


def test_counter_step_rejects_a_replay_and_a_stale_frame(db, fleet):
    boxes.register(db, 7, fleet.car, KEY.hex())
    req = _rows()
    req.counter = 5
    with write(db):
        counter.accept(db, req)
    for number, code in ((5, errors.ERR_REPLAY), (4, errors.ERR_STALE)):
        req.counter = number
        with pytest.raises(counter.Rejected) as exc:
            counter.accept(db, req)
        assert (exc.value.code, exc.value.last) == (code, 5)


def test_reply_acknowledges_the_frame_and_sends_the_first_full_list(db, fleet):
    boxes.register(db, 7, fleet.car, KEY.hex())
    req = _rows()
    with write(db):
        response = reply.build(db, req, T0 + 100, 48 * 3600, {"sync_period_s": 600}, 3600)
    assert response["ack"] == 7 and response["time"] == T0 + 100
    assert response["allow"] is not None and response["commands"] == []
    # settings travel with a full list only
    assert response["config"] == ({"sync_period_s": 600} if response["allow"]["full"] else {})


def test_box_keys_read_each_key_once(db, fleet):
    boxes.register(db, 7, fleet.car, KEY.hex())
    keys = decode.BoxKeys(db)
    assert keys(7) == KEY and keys(8) is None
    db.execute("UPDATE boxes SET key_hex = ? WHERE id = 7", ("11" * 16,))
    assert keys(7) == KEY  # one frame, one key
