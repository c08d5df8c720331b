"""POST /api/v1/sync through the Flask test client on a real SQLite file: frames of the real protocol."""

import time

import pytest
from conftest import future

from protocol import codes, errors, frame, keys, schema
from server.queries import agents as agents_q
from server import sync
from server.queries import boxes, org, reservations
from server.queries.common import Rules

KEY = bytes(range(16))
BOX = 3
UID = "04a1b2c3d4e5f6"  # fleet.agent's badge (DDT, habilitated for the on-the-spot pool)
OCTETS = {"Content-Type": "application/octet-stream"}


def health(**extra):
    h = {"fw": "1.2.0", "csq": 17, "mv": 12600, "backlog": 0, "gps": 1, "uptime": 3600, "reset": 1}
    h.update(extra)
    return h


def dump(db):
    """Every row of every table, for 'nothing changed' assertions."""
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {n: sorted(tuple(r) for r in db.execute("SELECT * FROM [%s]" % n)) for n in names}


def post(client, body):
    response = client.post("/api/v1/sync", data=body, headers=OCTETS)
    assert response.status_code == 200
    assert response.mimetype == "application/octet-stream"
    return response.data


class Box:
    """The box side of the protocol: counters and records as the firmware would send them."""

    def __init__(self, client, box_id=BOX, key=KEY):
        self.client = client
        self.box_id = box_id
        self.key = key
        self.counter = 0
        self.seq = 0

    def record(self, kind, t, **fields):
        self.seq += 1
        r = {"type": kind, "seq": self.seq, "t": t}
        r.update(fields)
        return r

    def frame(self, records=(), counter=None, **h):
        if counter is None:
            self.counter += 1
            counter = self.counter
        return frame.encode_request(self.box_id, counter, list(records), health(**h), self.key), counter

    def sync(self, records=(), **h):
        data, counter = self.frame(records, **h)
        return frame.decode_response(post(self.client, data), self.box_id, counter, self.key)


@pytest.fixture
def box(client, db, fleet):
    boxes.register(db, BOX, fleet.car, KEY.hex())
    return Box(client)


def badge(uid=UID):
    return keys.badge_hash(KEY, bytes.fromhex(uid))


def trip_records(b, t0, n_pos=5, reservation=0, trip=1):
    out = [b.record("badge", t0, badge=badge(), granted=True, reason=codes.REASON_SPOT),
           b.record("trip_start", t0 + 1, trip=trip, badge=badge(), reservation=reservation, odo_m=1000)]
    for i in range(n_pos):
        out.append(b.record("pos", t0 + 10 + 10 * i, lat=472186000 + 100 * i, lon=-15536000 + 80 * i, speed=1400,
                            course=45))
    out.append(b.record("trip_end", t0 + 20 + 10 * n_pos, trip=trip, odo_m=1000 + 70 * n_pos, distance_m=70 * n_pos,
                        reason=codes.END_BADGE))
    out.append(b.record("event", t0 + 21 + 10 * n_pos, code=codes.EV_IGNITION, value=0))
    return out


def test_a_trip_is_stored_with_its_positions_and_an_unplanned_reservation(box, db, fleet):
    t0 = int(time.time()) - 3600
    records = trip_records(box, t0)
    before = time.time()
    answer = box.sync(records)
    assert answer["error"] == 0 and answer["ack"] == records[-1]["seq"]
    assert before - 1 <= answer["time"] <= time.time() + 1
    trip = db.execute("SELECT * FROM trips").fetchone()
    assert (trip["box_trip"], trip["start"], trip["end"], trip["distance_m"], trip["agent_id"], trip["unplanned"]) == (
        1, t0 + 1, t0 + 70, 350, fleet.agent, 1)
    res = reservations.get(db, trip["reservation_id"])
    assert res["unplanned"] == 1 and res["agent_id"] == fleet.agent and (res["start"], res["end"]) == (t0 + 1, t0 + 70)
    pos = db.execute("SELECT trip_id, t, lat, lon, speed, course FROM positions ORDER BY t").fetchall()
    assert [tuple(p) for p in pos] == [(trip["id"], t0 + 10 + 10 * i, 472186000 + 100 * i, -15536000 + 80 * i, 1400, 45)
                                       for i in range(5)]
    ev = db.execute("SELECT agent_id, granted, reason, vehicle_id FROM badge_events").fetchone()
    assert tuple(ev) == (fleet.agent, 1, codes.REASON_SPOT, fleet.car)
    assert tuple(db.execute("SELECT code, value FROM box_events").fetchone()) == (codes.EV_IGNITION, 0)
    b = boxes.get(db, BOX)
    assert (b["firmware"], b["csq"], b["supply_mv"], b["last_counter"], b["last_ack"]) == ("1.2.0", 17, 12600, 1,
                                                                                          records[-1]["seq"])


def test_a_booked_trip_marks_its_reservation_started(box, db, fleet):
    start = future(1)
    res = reservations.create(db, fleet.agent, fleet.car, start, start + 7200, start - 3600, Rules())
    box.sync(trip_records(box, start + 60, n_pos=2, reservation=res))
    trip = db.execute("SELECT reservation_id, unplanned FROM trips").fetchone()
    assert tuple(trip) == (res, 0)
    assert reservations.get(db, res)["started_at"] == start + 61


def test_positions_outside_a_trip_are_not_kept(box, db):
    t0 = int(time.time()) - 7200
    parked = [box.record("pos", t0 + i, lat=472186000, lon=-15536000, speed=0, course=0) for i in range(3)]
    answer = box.sync(parked)
    assert answer["ack"] == parked[-1]["seq"]  # acknowledged: the box must not keep sending them
    assert db.execute("SELECT count(*) FROM positions").fetchone()[0] == 0


def test_the_same_frame_twice_is_a_replay_that_changes_nothing(box, client, db):
    data, counter = box.frame(trip_records(box, int(time.time()) - 3600))
    first = frame.decode_response(post(client, data), BOX, counter, KEY)
    assert first["error"] == 0
    state = dump(db)
    again = frame.decode_response(post(client, data), BOX, counter, KEY)
    assert again["error"] == errors.ERR_REPLAY and again["last_counter"] == counter
    assert dump(db) == state


def test_a_lost_answer_is_harmless_the_resent_records_are_acked_once_stored(box, client, db):
    records = trip_records(box, int(time.time()) - 3600)
    data, _counter = box.frame(records)
    post(client, data)  # the answer is lost on the way back
    state = dump(db)
    answer = box.sync(records)  # the box sends the same records with its next counter
    assert answer["error"] == 0 and answer["ack"] == records[-1]["seq"]
    after = dump(db)
    for table in ("trips", "positions", "badge_events", "box_events", "reservations", "box_record_runs"):
        assert after[table] == state[table], table
    # a frame mixing old and new records stores only the new ones
    more = records[-3:] + [box.record("event", int(time.time()), code=codes.EV_RELAY, value=1)]
    assert box.sync(more)["ack"] == box.seq
    assert db.execute("SELECT count(*) FROM box_events").fetchone()[0] == 2


def test_a_stale_counter_gets_the_last_one_and_the_box_resynchronises(box, client, db):
    for _ in range(3):
        box.sync()
    state = dump(db)
    data, counter = box.frame(counter=2)
    stale = frame.decode_response(post(client, data), BOX, counter, KEY)
    assert stale["error"] == errors.ERR_STALE and stale["last_counter"] == 3
    nonce = b"\x01\x02\x03\x04\x05\x06\x07\x08"
    reply = frame.decode_resync_reply(post(client, frame.encode_resync(BOX, nonce, KEY)), BOX, nonce, KEY)
    assert reply["error"] == 0 and reply["last_counter"] == 3 and abs(reply["time"] - time.time()) < 5
    assert dump(db) == state
    box.counter = reply["last_counter"]
    assert box.sync()["error"] == 0


def test_the_resync_reply_carries_the_last_seq_stored_and_it_outlives_a_re_registration(box, client, db, fleet):
    nonce = b"\x11" * 8
    reply = frame.decode_resync_reply(post(client, frame.encode_resync(BOX, nonce, KEY)), BOX, nonce, KEY)
    assert reply["last_seq"] == 0  # nothing stored yet
    t0 = int(time.time()) - 600
    assert box.sync(trip_records(box, t0))["ack"] == box.seq == 9
    box.sync([box.record("event", t0 + 200, code=codes.EV_IGNITION, value=1)])
    reply = frame.decode_resync_reply(post(client, frame.encode_resync(BOX, nonce, KEY)), BOX, nonce, KEY)
    assert (reply["error"], reply["last_counter"], reply["last_seq"]) == (0, 2, 10)

    # reflashed with a new key and registered again (CLI box-register): counter and dedup rows kept
    other = bytes(range(100, 116))
    boxes.register(db, BOX, fleet.car, other.hex())
    state = dump(db)
    reply = frame.decode_resync_reply(post(client, frame.encode_resync(BOX, nonce, other)), BOX, nonce, other)
    assert (reply["last_counter"], reply["last_seq"]) == (2, 10)
    assert dump(db) == state  # the exchange stores nothing
    reborn = Box(client, key=other)
    reborn.counter = reply["last_counter"]  # the firmware continues above the server's counter
    reborn.seq = reply["last_seq"]  # and numbers its journal above last_seq
    events = db.execute("SELECT count(*) FROM box_events WHERE box_id = ?", (BOX,)).fetchone()[0]
    answer = reborn.sync([reborn.record("event", t0 + 300, code=codes.EV_REBOOT, value=0)])
    assert answer["error"] == 0 and answer["ack"] == 11
    assert db.execute("SELECT count(*) FROM box_events WHERE box_id = ?", (BOX,)).fetchone()[0] == events + 1


@pytest.mark.parametrize("case", ["garbage", "empty", "unknown_box", "bad_mac", "version", "other_key"])
def test_frames_that_do_not_authenticate_get_a_plain_error_and_change_nothing(case, box, client, db):
    data, counter = box.frame()
    box_id, key = BOX, KEY
    expected = {"garbage": errors.ERR_VERSION, "empty": errors.ERR_TRUNCATED, "unknown_box": errors.ERR_UNKNOWN_BOX,
                "bad_mac": errors.ERR_BAD_MAC, "version": errors.ERR_VERSION, "other_key": errors.ERR_BAD_MAC}[case]
    if case == "garbage":
        data = b"\x42hello"
    elif case == "empty":
        data = b""
    elif case == "unknown_box":
        box_id = 999
        data = frame.encode_request(box_id, 1, [], health(), key)
    elif case == "bad_mac":
        data = data[:-1] + bytes([data[-1] ^ 1])
    elif case == "version":
        data = b"\x02" + data[1:]
    elif case == "other_key":
        data = frame.encode_request(BOX, counter, [], health(), bytes(16))
    state = dump(db)
    with pytest.raises(errors.ProtocolError) as exc:
        frame.decode_response(post(client, data), box_id, counter, key)
    assert exc.value.remote and exc.value.code == expected
    assert dump(db) == state


def test_oversized_bodies_and_other_methods_are_refused_without_a_5xx(box, client):
    with pytest.raises(errors.ProtocolError) as exc:
        frame.decode_response(post(client, b"\x01" * (frame.MAX_FRAME + 1)), BOX, 1, KEY)
    assert exc.value.code == errors.ERR_TOO_BIG
    assert client.get("/api/v1/sync").status_code == 405


def test_the_allow_list_comes_full_then_as_diffs(app, box, db, fleet):
    first = box.sync()
    allow = first["allow"]
    assert allow["full"] and allow["version"] == 1
    spot = {e["badge"] for e in allow["add"] if e["kind"] == codes.KIND_SPOT}
    assert spot == {badge(), badge("04a1b2c3d4e5f7")}  # both habilitated departments' agents, hashed per box
    assert box.sync(allow=1)["allow"] is None  # nothing changed
    start = future(3)
    res = reservations.create(db, fleet.agent2, fleet.car, start, start + 3600, start - 7200, Rules())
    # the booking moved the car's change stamp: the very next sync carries it (no refresh delay)
    app.config["SYNC_ALLOW_REFRESH_S"] = 3600
    delta = box.sync(allow=1)["allow"]
    assert not delta["full"] and delta["version"] == 2 and delta["remove"] == []
    assert [(e["kind"], e["reservation"], e["start"], e["end"], e["badge"]) for e in delta["add"]] == [
        (codes.KIND_RESERVATION, res, start, start + 3600, badge("04a1b2c3d4e5f7"))]
    assert box.sync(allow=2)["allow"] is None
    # the box says it holds another version (its previous answer was lost): the whole list again, at once
    again = box.sync(allow=1)["allow"]
    assert again["full"] and again["version"] == 3 and len(again["add"]) == 3


def test_every_change_an_allow_list_is_made_of_reaches_the_box_at_its_next_sync(app, box, db, fleet):
    """No recomputation without a change (stamps kept by triggers), none missed with one."""
    app.config["SYNC_ALLOW_REFRESH_S"] = 3600
    box.sync()
    held = 1
    newcomer = agents_q.create(db, "Sacha Girard", "sacha.girard@ddt.gouv.fr", fleet.ddt)

    def next_change():
        nonlocal held
        allow = box.sync(allow=held)["allow"]
        if allow is not None:
            held = allow["version"]
        return allow

    changes = [
        (lambda: agents_q.add_badge(db, newcomer, "0499887766"), "add"),  # a badge of a habilitated agent
        (lambda: agents_q.update(db, newcomer, active=False), "remove"),  # the agent leaves
        (lambda: agents_q.set_permanent_access(db, fleet.agent2, pool_ids=[fleet.pool]), "add"),  # a mechanic
        (lambda: agents_q.set_permanent_access(db, fleet.agent2, pool_ids=[fleet.pool_ddpp]), "remove"),  # scope
        (lambda: agents_q.set_permanent_access(db, fleet.agent2, department_ids=[fleet.ddt]), "add"),
        (lambda: org.add_habilitation(db, fleet.pool, agent_id=fleet.admin), None),  # no badge: same list
        (lambda: org.set_pool_on_the_spot(db, fleet.pool, False), "remove"),
    ]
    for change, expected in changes:
        assert next_change() is None  # nothing changed: nothing sent
        change()
        allow = next_change()
        if expected is None:
            assert allow is None
        else:
            assert allow is not None and allow[expected], (change, allow)


def test_a_reservation_entering_the_horizon_or_ending_reaches_a_box_with_unchanged_data(db, fleet):
    boxes.register(db, BOX, fleet.car, KEY.hex())
    now = future(1)
    res = reservations.create(db, fleet.agent2, fleet.car, now + 50 * 3600, now + 51 * 3600, now, Rules())

    def allow_at(t, held):
        counter = allow_at.counter = getattr(allow_at, "counter", 0) + 1
        data = frame.encode_request(BOX, counter, [], health(allow=held, rx=counter - 1), KEY)
        reply = sync.handle(db, data, t, allow_refresh_s=10 * 86400)
        return frame.decode_response(reply.body, BOX, counter, KEY)["allow"]

    first = allow_at(now, 0)
    assert res not in {e["reservation"] for e in first["add"]}  # 50 h away: beyond the 48 h horizon
    assert allow_at(now + 600, first["version"]) is None
    entered = allow_at(now + 3 * 3600, first["version"])  # now 47 h away
    assert [e["reservation"] for e in entered["add"]] == [res]
    assert allow_at(now + 50 * 3600, entered["version"]) is None  # running
    ended = allow_at(now + 52 * 3600, entered["version"])
    assert ended["remove"] == [entered["add"][0]["id"]]


def test_a_long_allow_list_is_split_over_answers_with_a_resync_command(box, db, fleet):
    for i in range(200):
        agent = agents_q.create(db, "Agent %d" % i, "agent%d@ddt.gouv.fr" % i, fleet.ddt)
        agents_q.add_badge(db, agent, "05%08x" % i)
    held, ids, rounds = 0, set(), 0
    while True:
        rounds += 1
        answer = box.sync(allow=held, rx=box.counter)
        allow = answer["allow"]
        if allow is None:
            break
        if allow["full"]:
            ids = set()
        ids |= {e["id"] for e in allow["add"]}
        ids -= set(allow["remove"])
        held = allow["version"]
        resync = {"cmd": codes.CMD_RESYNC, "arg": 0} in answer["commands"]
        assert resync == (len(ids) < 202)
        assert rounds < 5
    assert rounds == 3 and len(ids) == 202


def test_commands_are_sent_once_and_again_when_their_answer_was_lost(box, client, db):
    box.sync()  # counter 1, decoded
    boxes.add_command(db, BOX, codes.CMD_RELEASE, 42, int(time.time()))
    data, counter = box.frame(allow=1, rx=1)
    post(client, data)  # counter 2: this answer (with the command) is lost
    answer = box.sync(allow=1, rx=1)  # rx: the last answer the box decoded is still 1
    assert answer["commands"] == [{"cmd": codes.CMD_RELEASE, "arg": 42}]
    assert box.sync(allow=1, rx=box.counter)["commands"] == []  # delivered: not sent again
    assert box.sync(allow=1, rx=box.counter)["commands"] == []


def test_a_database_failure_rolls_the_frame_back_and_answers_err_server(box, client, db):
    box.sync()
    db.execute("DROP TABLE box_events")  # the event insert will fail after the trip was written
    state = dump(db)
    answer = box.sync(trip_records(box, int(time.time()) - 3600))
    assert answer["error"] == errors.ERR_SERVER and answer["last_counter"] == 1
    assert dump(db) == state


def _event_record(buf, dseq, dt, code, value):
    from protocol.wire import put_svarint, put_uvarint

    body = bytearray()
    put_uvarint(body, dseq)
    put_svarint(body, dt)
    put_uvarint(body, code)
    put_svarint(body, value)
    buf.append(schema.by_name("event")[schema.TAG])
    put_uvarint(buf, len(body))
    buf.extend(body)


def test_authentic_records_beyond_sqlite_ranges_are_dropped_not_a_poison_frame(box, client, db):
    # A buggy box: sequence numbers that chain past 2**63 and a time past 2106. The encoder refuses them,
    # so the frame is built by hand and sealed with the box's key.
    from protocol.records import encode_health

    now = int(time.time())
    buf = frame._header(BOX, 1, codes.T_SYNC)
    start = len(buf)
    encode_health(buf, health())
    _event_record(buf, 5, now, codes.EV_RELAY, 1)  # seq 5: fine
    _event_record(buf, 1, 1 << 40, codes.EV_RELAY, 0)  # seq 6, t far beyond 2106: dropped
    _event_record(buf, (1 << 63) - 1, -(1 << 40), codes.EV_RELAY, 0)  # seq 2**63 + 5: dropped
    data = frame._seal(buf, start, KEY, BOX, 1, codes.T_SYNC)
    answer = frame.decode_response(post(client, data), BOX, 1, KEY)
    assert answer["error"] == 0 and answer["ack"] == 6
    assert [tuple(r) for r in db.execute("SELECT t, code, value FROM box_events")] == [(now, codes.EV_RELAY, 1)]


def test_records_of_an_unknown_type_from_a_newer_box_are_acknowledged(box, client, db):
    from protocol.records import encode_health
    from protocol.wire import put_svarint, put_uvarint

    now = int(time.time())
    buf = frame._header(BOX, 1, codes.T_SYNC)
    start = len(buf)
    encode_health(buf, health())
    _event_record(buf, 7, now, codes.EV_RELAY, 1)  # seq 7
    body = bytearray()  # seq 8: tag 0x60, unknown to this server, skipped thanks to its length
    put_uvarint(body, 1)
    put_svarint(body, 1)
    body.extend(b"future fields")
    buf.append(0x60)
    put_uvarint(buf, len(body))
    buf.extend(body)
    data = frame._seal(buf, start, KEY, BOX, 1, codes.T_SYNC)
    answer = frame.decode_response(post(client, data), BOX, 1, KEY)
    assert answer["error"] == 0 and answer["ack"] == 8
    assert db.execute("SELECT count(*) FROM box_events").fetchone()[0] == 1


def test_concurrent_copies_of_one_frame_are_applied_exactly_once(app, box, db):
    import threading

    records = trip_records(box, int(time.time()) - 3600, n_pos=40)
    data, counter = box.frame(records)
    answers = []
    barrier = threading.Barrier(6)

    def send():
        client = app.test_client()
        barrier.wait()
        answers.append(frame.decode_response(post(client, data), BOX, counter, KEY))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a["error"] for a in answers) == [0] + [errors.ERR_REPLAY] * 5
    assert db.execute("SELECT count(*) FROM positions").fetchone()[0] == 40
    assert db.execute("SELECT count(*) FROM trips").fetchone()[0] == 1


def test_without_a_database_the_box_gets_no_answer_rather_than_a_frame(app, box, client, db):
    box.sync()
    db.execute("ALTER TABLE boxes RENAME TO boxes_gone")  # the key cannot be read any more
    data, _counter = box.frame()
    response = client.post("/api/v1/sync", data=data, headers=OCTETS)
    assert response.status_code == 503 and response.data == b""


def test_box_requests_get_no_cookie_session_pages_do(app):
    """A box has no cookie: its requests skip the session's parsing and signing."""
    from flask import request
    from flask.sessions import NullSession

    for path, null in (("/api/v1/sync", True), ("/api/v1/health", True), ("/connexion", False), ("/apiculture", False)):
        with app.test_request_context(path):
            assert isinstance(app.session_interface.open_session(app, request), NullSession) == null, path
