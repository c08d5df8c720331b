"""The firmware's sync client (firmware/app/sync.py, run under CPython) against the real endpoint.

The box is the firmware's `app.box.Box` on a directory filesystem; its `SyncClient` builds the HTTP/1.0
request bytes exactly as they leave through the modem. The only stand-in is the modem's
`exchange`: it splits those bytes into request line, headers and body, hands them to the Flask test
client, and returns the HTTP answer as raw bytes, the way the modem driver returns what it read.
"""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "firmware"))
from boxfakes import Fix, ManualClock, RecordingPin  # noqa: E402  (the firmware tests' recording fakes)

from app import access, box, config, sync  # noqa: E402
from hal.fsdir import DirFS  # noqa: E402
from protocol import codes, frame  # noqa: E402
from server.queries import box_records, boxes, reservations  # noqa: E402

KEY = bytes(range(16, 32))
BOX_ID = 12
UID = bytes.fromhex("04a1b2c3d4e5f6")  # fleet.agent's badge: DDT, habilitated for the on-the-spot pool
CONFIG = config.check({"box_id": BOX_ID, "server_host": "autopartage.test", "server_port": 80})[0]


class FlaskModem:
    """The modem's exchange over the Flask test client; records the raw requests."""

    def __init__(self, client):
        self.client = client
        self.requests = []

    async def start(self):
        pass

    async def attach(self, apn):
        pass

    async def signal_quality(self):
        return 18

    async def power_off(self):
        pass

    async def exchange(self, host, port, data, timeout_ms):
        self.requests.append(data)
        head, body = data.split(b"\r\n\r\n", 1)
        lines = head.decode("ascii").split("\r\n")
        method, path, version = lines[0].split(" ")
        assert (method, version) == ("POST", "HTTP/1.0")
        headers = dict(line.split(": ", 1) for line in lines[1:])
        assert int(headers["Content-Length"]) == len(body)
        response = self.client.open(path, method=method, data=body, headers=headers)
        status = "%d %s" % (response.status_code, response.status.split(" ", 1)[1])
        return ("HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n" % (
            status, response.content_type, len(response.data))).encode() + response.data


def _request(raw):
    """The decoded frame of a raw HTTP request as the modem sent it."""
    return frame.decode_request(raw.split(b"\r\n\r\n", 1)[1], lambda box_id: KEY)


def _sync(client, b, modem):
    # as firmware/main.py does: health with the allow-list version held and rx (last reply applied)
    return asyncio.run(client.run_once(modem, lambda csq: b.health("1.0.0", csq, 12400, 1, client.rx), "m2m", 5000))


def test_firmware_sync_client_and_endpoint_agree_end_to_end(client, db, fleet, tmp_path):
    boxes.register(db, BOX_ID, fleet.car, KEY.hex())
    t0 = int(time.time())  # the box and the server agree on the time: no EV_CLOCK_SET record
    clock = ManualClock(t0)
    relay = RecordingPin()
    b = box.Box(DirFS(str(tmp_path)), clock, relay, KEY, BOX_ID)
    b.boot(False)
    assert b.tap(UID).outcome == access.NOT_READY  # no allow-list yet
    sync_client = sync.SyncClient(b, CONFIG, KEY)
    sync_client.load()
    modem = FlaskModem(client)

    assert _sync(sync_client, b, modem), sync_client.last_error
    assert modem.requests[0].startswith(b"POST /api/v1/sync HTTP/1.0\r\n")
    assert b.allow.loaded and b.journal.backlog() == 0  # allow-list received, boot records acknowledged
    assert b.allow.version == boxes.get(db, BOX_ID)["allow_version"] == 1 and sync_client.rx == 1

    # on-the-spot trip: badge-in, drive with GPS fixes, badge-out
    d = b.tap(UID)
    assert d.granted and d.reason == codes.REASON_SPOT and relay.value() == 0
    b.set_ignition(True)
    for i in range(12):
        clock.advance(30)
        b.fix(Fix(t=clock.time(), speed_mms=14000, lat=472186000 + 3000 * i, lon=-15536000 + 2000 * i,
                  course_cdeg=4500))
    b.set_ignition(False)
    clock.advance(5)
    assert b.tap(UID).reason == codes.REASON_END_TRIP
    b.fix(Fix(t=clock.time(), speed_mms=0, lat=472186000 + 36000, lon=-15536000 + 24000))
    sent = b.journal.pending(1000)
    n_pos = len([r for r in sent if r["type"] == "pos"])
    assert n_pos >= 6

    assert _sync(sync_client, b, modem), sync_client.last_error
    # every record sent was acknowledged; what is left was journaled while applying the answer (the server's
    # time moves the box's hand-driven clock back: EV_CLOCK_SET)
    assert [(r["type"], r["code"]) for r in b.journal.pending(1000)] == [("event", codes.EV_CLOCK_SET)]
    assert b.journal.pending(1000)[0]["seq"] > sent[-1]["seq"]
    trip = db.execute("SELECT * FROM trips WHERE box_id = ?", (BOX_ID,)).fetchone()
    assert trip["agent_id"] == fleet.agent and trip["unplanned"] == 1 and trip["end"] is not None
    res = reservations.get(db, trip["reservation_id"])
    assert res["unplanned"] == 1 and res["vehicle_id"] == fleet.car
    stored = db.execute("SELECT count(*) FROM positions WHERE trip_id = ?", (trip["id"],)).fetchone()[0]
    assert stored == n_pos
    events = db.execute("SELECT granted, reason, agent_id FROM badge_events WHERE box_id = ? ORDER BY id",
                        (BOX_ID,)).fetchall()
    assert [tuple(e) for e in events] == [(0, codes.REASON_NOT_READY, fleet.agent), (1, codes.REASON_SPOT, fleet.agent),
                                          (1, codes.REASON_END_TRIP, fleet.agent)]
    health = boxes.get(db, BOX_ID)
    assert (health["firmware"], health["csq"], health["supply_mv"]) == ("1.0.0", 18, 12400)
    assert health["last_counter"] == sync_client.counter == 2

    # the counter file lost: RESYNC first (never an encrypted frame under a reused counter), then the sync
    b.fs.remove(sync.COUNTER_FILE)
    reflashed = sync.SyncClient(b, CONFIG, KEY)
    reflashed.load()
    assert reflashed.counter == 0 and not reflashed.known
    before = len(modem.requests)
    assert _sync(reflashed, b, modem), reflashed.last_error
    assert [_request(r).type for r in modem.requests[before:]] == [codes.T_RESYNC, codes.T_SYNC]
    assert _request(modem.requests[-1]).counter == reflashed.counter == 3
    assert boxes.get(db, BOX_ID)["last_counter"] == 3

    # an administrator's "release for one trip" reaches the box at its next sync, once
    assert relay.value() == 1
    boxes.add_command(db, BOX_ID, codes.CMD_RELEASE, 0, int(time.time()))
    assert _sync(reflashed, b, modem), reflashed.last_error
    assert relay.value() == 0
    sent = db.execute("SELECT sent_at FROM box_commands WHERE box_id = ?", (BOX_ID,)).fetchone()[0]
    assert sent is not None
    assert _sync(reflashed, b, modem) and relay.value() == 0
    assert db.execute("SELECT count(*) FROM box_commands WHERE box_id = ? AND sent_at IS NULL",
                      (BOX_ID,)).fetchone()[0] == 0


def _trip(b, clock, n_fixes=8, lat0=472186000):
    """Badge-in, drive with GPS fixes, badge-out (the on-the-spot agent)."""
    assert b.tap(UID).granted
    b.set_ignition(True)
    for i in range(n_fixes):
        clock.advance(30)
        b.fix(Fix(t=clock.time(), speed_mms=14000, lat=lat0 + 3000 * i, lon=-15536000 + 2000 * i, course_cdeg=4500))
    b.set_ignition(False)
    clock.advance(5)
    assert b.tap(UID).reason == codes.REASON_END_TRIP
    b.fix(Fix(t=clock.time(), speed_mms=0, lat=lat0 + 3000 * n_fixes, lon=-15536000 + 2000 * n_fixes))


def _counts(db):
    one = (BOX_ID,)
    return {"records": len(box_records.stored_seqs(db, BOX_ID)),
            "badge": db.execute("SELECT count(*) FROM badge_events WHERE box_id = ?", one).fetchone()[0],
            "event": db.execute("SELECT count(*) FROM box_events WHERE box_id = ?", one).fetchone()[0],
            "pos": db.execute("SELECT count(*) FROM positions p JOIN trips t ON t.id = p.trip_id "
                              "WHERE t.box_id = ?", one).fetchone()[0],
            "trip_start": db.execute("SELECT count(*) FROM trips WHERE box_id = ?", one).fetchone()[0]}


def test_a_reflashed_box_resyncs_and_none_of_its_new_records_is_dropped_or_duplicated(client, db, fleet, tmp_path):
    boxes.register(db, BOX_ID, fleet.car, KEY.hex())
    t0 = int(time.time()) - 3 * 3600
    modem = FlaskModem(client)

    # first life: allow-list, one trip, everything acknowledged
    clock = ManualClock(t0)
    (tmp_path / "first").mkdir()
    (tmp_path / "reflashed").mkdir()
    first = box.Box(DirFS(str(tmp_path / "first")), clock, RecordingPin(), KEY, BOX_ID)
    first.boot(False)
    c1 = sync.SyncClient(first, CONFIG, KEY)
    c1.load()
    assert _sync(c1, first, modem), c1.last_error
    _trip(first, clock)
    assert _sync(c1, first, modem), c1.last_error
    old = _counts(db)
    old_top = box_records.last_seq(db, BOX_ID)
    assert old["pos"] >= 6 and old_top >= 10

    # reflashed: a fresh data directory, the same key and box id; it works offline before its first sync
    clock2 = ManualClock(t0 + 3600)
    b = box.Box(DirFS(str(tmp_path / "reflashed")), clock2, RecordingPin(), KEY, BOX_ID)
    b.boot(False)
    assert b.tap(UID).outcome == access.NOT_READY  # no allow-list yet: journaled all the same
    assert b.journal.pending(10)[0]["seq"] == 1  # its own numbering restarted
    c2 = sync.SyncClient(b, CONFIG, KEY)
    c2.load()
    first_request = len(modem.requests)
    assert _sync(c2, b, modem), c2.last_error
    # the server took it for a box holding the list it was last sent: with rx now set, it asks again at once
    assert not b.allow.loaded and b.sync_wanted & box.WANT_DEMAND
    b.sync_wanted = 0
    assert _sync(c2, b, modem), c2.last_error
    assert b.allow.loaded and not b.sync_wanted
    clock2.advance(600)  # both lives took the server's time: their trip 1 must not start in the same second
    _trip(b, clock2, lat0=472300000)
    assert _sync(c2, b, modem), c2.last_error
    while b.journal.backlog():  # what the last answer made the box journal (EV_CLOCK_SET...)
        assert _sync(c2, b, modem), c2.last_error

    frames = [_request(r) for r in modem.requests[first_request:]]
    assert frames[0].type == codes.T_RESYNC and all(f.type == codes.T_SYNC for f in frames[1:])
    sent = [r for f in frames[1:] for r in f.records]
    seqs = [r[0] if type(r) is tuple else r["seq"] for r in sent]
    assert min(seqs) == old_top + 1 and len(set(seqs)) == len(seqs)  # numbered above the first life, once each
    kinds = {}
    for r in sent:
        kind = "pos" if type(r) is tuple else r["type"]
        kinds[kind] = kinds.get(kind, 0) + 1
    assert kinds["pos"] >= 6 and kinds["badge"] == 3 and kinds["trip_start"] == 1
    new = _counts(db)
    assert new["records"] - old["records"] == len(sent)  # none taken for a duplicate
    for kind in ("badge", "event", "pos", "trip_start"):
        assert new[kind] - old[kind] == kinds.get(kind, 0), kind  # each stored, once
    assert any(r["type"] == "event" and r["code"] == codes.EV_COUNTER_RESYNC for r in sent if type(r) is dict)
