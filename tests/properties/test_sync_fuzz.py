"""Fuzzing POST /api/v1/sync: malformed, mutated, truncated, extended, misaddressed and replayed frames
never get a 5xx and never change the database (a dump of every table is compared before and after).

The app is the real one (Flask test client, real SQLite file). Before fuzzing, a box has synced a real
trip (counter 1..2), so replays and stale counters meet a database with rows in every table they could
touch. Deterministic sweeps (every byte flipped, every truncation) plus hypothesis cases make thousands of
frames per run.
"""

import os
import time

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from protocol import codes, errors, frame, keys
from server import create_app
from server.db import connect, init_db
from server.queries import agents as agents_q
from server.queries import boxes, org, positions

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
KEY = bytes(range(16))
OTHER_KEY = bytes(range(16, 32))
BOX, OTHER_BOX = 3, 4
T0 = int(time.time()) - 3 * 3600
HEALTH = {"fw": "1.2.0", "csq": 17, "mv": 12600, "backlog": 0, "gps": 1, "uptime": 3600, "reset": 1}


def dump(db):
    names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    return {n: sorted(tuple(r) for r in db.execute("SELECT * FROM [%s]" % n)) for n in names}


def trip(seq0, t0, n_pos):
    h = keys.badge_hash(KEY, bytes.fromhex("04a1b2c3d4e5f6"))
    out = [{"type": "badge", "seq": seq0, "t": t0, "badge": h, "granted": True, "reason": codes.REASON_SPOT},
           {"type": "trip_start", "seq": seq0 + 1, "t": t0 + 1, "trip": seq0, "badge": h, "reservation": 0,
            "odo_m": 500}]
    for i in range(n_pos):
        out.append({"type": "pos", "seq": seq0 + 2 + i, "t": t0 + 5 + 5 * i, "lat": 472186000 + 90 * i,
                    "lon": -15536000 + 70 * i, "speed": 1300 + i, "course": (40 + i) % 360})
    s = seq0 + 2 + n_pos
    out.append({"type": "trip_end", "seq": s, "t": t0 + 10 + 5 * n_pos, "trip": seq0, "odo_m": 900, "distance_m": 400,
                "reason": codes.END_BADGE})
    out.append({"type": "event", "seq": s + 1, "t": t0 + 11 + 5 * n_pos, "code": codes.EV_RELAY, "value": 1})
    return out


class Env:
    def __init__(self, root):
        self.app = create_app({"TESTING": True, "DATABASE": os.path.join(root, "fuzz.sqlite"), "SECRET_KEY": "t",
                               "MAINTENANCE_ON_REQUEST": False})
        with self.app.app_context():
            init_db()
        self.client = self.app.test_client()
        self.db = connect(self.app.config["DATABASE"])
        db = self.db
        ddt = org.ensure_department(db, "DDT", "Direction départementale des territoires")
        positions.track_at_any_hour(db, ddt)
        pool = org.ensure_pool(db, "Pool Paixhans", ddt, on_the_spot=True)
        org.add_habilitation(db, pool, department_id=ddt)
        car = org.upsert_vehicle(db, "AB-123-CD", "Renault Clio IV", pool, ddt, 12, 30000)
        car2 = org.upsert_vehicle(db, "EF-456-GH", "Toyota Yaris", pool, ddt, 10, 24000)
        agent = agents_q.create(db, "Camille Martin", "camille.martin@ddt.gouv.fr", ddt)
        agents_q.add_badge(db, agent, "04a1b2c3d4e5f6")
        boxes.register(db, BOX, car, KEY.hex())
        boxes.register(db, OTHER_BOX, car2, OTHER_KEY.hex())
        boxes.add_command(db, BOX, codes.CMD_RESYNC, 0, T0)
        self.accepted = []
        for counter, records in ((1, trip(1, T0, 20)), (2, trip(30, T0 + 3600, 40))):
            data = frame.encode_request(BOX, counter, records, HEALTH, KEY)
            assert frame.decode_response(self.post(data), BOX, counter, KEY)["error"] == 0
            self.accepted.append(data)
        boxes.add_command(db, BOX, codes.CMD_RELEASE, 7, T0)  # pending: a wrongly applied frame would send it
        # Valid frames never sent: mutations of these must not be applied either.
        self.fresh = frame.encode_request(BOX, 3, trip(100, T0 + 7200, 30), HEALTH, KEY)
        self.resync = frame.encode_resync(BOX, b"\x00\x11\x22\x33\x44\x55\x66\x77", KEY)
        self.state = dump(db)

    def post(self, data):
        response = self.client.post("/api/v1/sync", data=data, headers={"Content-Type": "application/octet-stream"})
        assert response.status_code < 500
        return response.data

    def check(self, data):
        """Post a frame that must not be applied: no 5xx, an error frame back, nothing changed."""
        body = self.post(data)
        assert body[:1] == bytes([frame.VERSION]) and len(body) <= frame.MAX_FRAME
        assert dump(self.db) == self.state
        return body


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    e = Env(str(tmp_path_factory.mktemp("syncfuzz")))
    yield e
    e.db.conn.close()


def _applies(data):
    """True when `data` would be a valid, fresh frame for the server (then it is not a fuzz case)."""
    try:
        req = frame.decode_request(data, lambda b: {BOX: KEY, OTHER_BOX: OTHER_KEY}.get(b))
    except errors.ProtocolError:
        return False
    return req.type == codes.T_SYNC and req.counter > (2 if req.box_id == BOX else 0)


def test_every_single_byte_flip_truncation_and_extension_is_refused(env):
    n = 0
    for base in (env.fresh, env.accepted[1], env.resync):
        for i in range(len(base)):
            for bit in (1, 2, 4, 8, 16, 32, 64, 128):
                mutated = bytearray(base)
                mutated[i] ^= bit
                env.check(bytes(mutated))
                n += 1
        for cut in range(len(base)):
            env.check(base[:cut])
            n += 1
        for tail in (b"\x00", b"\xff" * 8, bytes(range(40))):
            env.check(base + tail)
            n += 1
    assert n > 5000


def test_replays_and_stale_counters_get_an_authenticated_error_with_the_last_counter(env):
    for counter, data in enumerate(env.accepted, 1):
        answer = frame.decode_response(env.check(data), BOX, counter, KEY)
        assert answer["error"] == (errors.ERR_STALE if counter < 2 else errors.ERR_REPLAY)
        assert answer["last_counter"] == 2
    reply = frame.decode_resync_reply(env.check(env.resync), BOX, b"\x00\x11\x22\x33\x44\x55\x66\x77", KEY)
    assert reply["last_counter"] == 2


@SETTINGS
@given(data=st.data())
def test_mutated_valid_frames_never_apply(env, data):
    base = data.draw(st.sampled_from([env.fresh, env.accepted[0], env.accepted[1], env.resync]))
    frame_bytes = bytearray(base)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["set", "insert", "delete", "truncate", "extend"]))
        pos = data.draw(st.integers(0, max(0, len(frame_bytes) - 1)))
        if op == "set" and frame_bytes:
            frame_bytes[pos] = data.draw(st.integers(0, 255))
        elif op == "insert":
            frame_bytes[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        elif op == "delete" and frame_bytes:
            del frame_bytes[pos:pos + data.draw(st.integers(1, 16))]
        elif op == "truncate":
            del frame_bytes[pos:]
        else:
            frame_bytes.extend(data.draw(st.binary(min_size=1, max_size=64)))
    candidate = bytes(frame_bytes)
    assume(not _applies(candidate))
    env.check(candidate)


@SETTINGS
@given(blob=st.binary(max_size=600))
def test_random_bytes_are_refused(env, blob):
    env.check(blob)
    env.check(bytes([frame.VERSION]) + blob)


@SETTINGS
@given(payload=st.binary(max_size=300), counter=st.integers(0, 2), ftype=st.integers(0, 255),
       box=st.sampled_from([(BOX, KEY), (OTHER_BOX, KEY), (BOX, OTHER_KEY), (999, KEY)]))
def test_authenticated_garbage_wrong_boxes_and_types_are_refused(env, payload, counter, ftype, box):
    # A correctly MACed (and, for sync frames, encrypted) payload of random bytes: decoding fails after the
    # MAC check (authenticated error frame), or it decodes but its counter is stale, or the box/key
    # pair is wrong (plain error frame).
    box_id, key = box
    buf = frame._header(box_id, counter, ftype)
    start = len(buf)
    buf.extend(payload)
    candidate = frame._seal(buf, start, key, box_id, counter, ftype) if len(buf) + 8 <= frame.MAX_FRAME else bytes(buf)
    assume(not _applies(candidate) and not (ftype == codes.T_RESYNC and len(payload) == 8))
    env.check(candidate)


@SETTINGS
@given(records=st.integers(0, 60), counter=st.integers(3, 1 << 20), box_id=st.integers(0, (1 << 32) - 1))
def test_valid_frames_for_unknown_boxes_are_refused(env, records, counter, box_id):
    assume(box_id not in (BOX, OTHER_BOX))
    data = frame.encode_request(box_id, counter, trip(1, T0, records)[:records], HEALTH, KEY)
    with pytest.raises(errors.ProtocolError) as exc:
        frame.decode_response(env.check(data), box_id, counter, KEY)
    assert exc.value.code == errors.ERR_UNKNOWN_BOX and exc.value.remote
