# Round trips of the public protocol API (docs/architecture.md), under CPython and MicroPython.
from support import raises

from protocol import codes, errors, frame, keys

KEY = bytes(range(16))
OTHER_KEY = bytes(range(1, 17))
BADGE = keys.badge_hash(KEY, b"\x04\x11\x22\x33\x44\x55\x66")
HEALTH = {"fw": "0.1.0", "csq": 17, "mv": 12400, "backlog": 7, "gps": 1, "uptime": 3600, "reset": 1,
          "allow": 5, "rx": 41}


def _records():
    return [
        {"type": "badge", "seq": 10, "t": 1767250000, "badge": BADGE, "granted": True,
         "reason": codes.REASON_RESERVATION},
        {"type": "trip_start", "seq": 11, "t": 1767250005, "trip": 3, "badge": BADGE, "reservation": 1234,
         "odo_m": 45678},
        {"type": "pos", "seq": 12, "t": 1767250010, "lat": 472183000, "lon": -15531000, "speed": 1250, "course": 359},
        {"type": "pos", "seq": 13, "t": 1767250020, "lat": 472184000, "lon": -15529000, "speed": 1300, "course": 2},
        {"type": "event", "seq": 15, "t": 1767250030, "code": codes.EV_IGNITION, "value": 0},
        {"type": "pos", "seq": 16, "t": 1767250040, "lat": 472185000, "lon": -15528000, "speed": 0, "course": 180},
        {"type": "trip_end", "seq": 17, "t": 1767250050, "trip": 3, "odo_m": 46679, "distance_m": 1001,
         "reason": codes.END_BADGE},
    ]


def _key_for(box_id):
    return KEY if box_id == 7 else None


def test_request_round_trip_keeps_every_record():
    data = frame.encode_request(7, 42, _records(), HEALTH, KEY)
    req = frame.decode_request(data, _key_for)
    assert (req.box_id, req.counter, req.type, req.skipped) == (7, 42, codes.T_SYNC, 0)
    assert req.records == _records()
    assert req.health == HEALTH


def test_request_without_records():
    data = frame.encode_request(7, 1, [], HEALTH, KEY)
    req = frame.decode_request(data, _key_for)
    assert req.records == [] and req.health == HEALTH


def test_response_round_trip():
    response = {
        "ack": 17,
        "time": 1767250060,
        "allow": {
            "version": 5,
            "full": False,
            "add": [{"id": 9, "badge": BADGE, "kind": codes.KIND_RESERVATION, "start": 1767250000, "end": 1767260000,
                     "reservation": 77}],
            "remove": [3, 4],
        },
        "config": {"grace_s": 300, "sync_period_s": 3600},
        "commands": [{"cmd": codes.CMD_RELEASE, "arg": 77}],
        "error": 0,
    }
    data = frame.encode_response(7, 42, response, KEY)
    got = frame.decode_response(data, 7, 42, KEY)
    response["last_counter"] = 42
    assert got == response


def test_authenticated_error_response_carries_last_counter():
    data = frame.encode_response(7, 42, {"error": errors.ERR_STALE, "last_counter": 100, "time": 5}, KEY)
    got = frame.decode_response(data, 7, 42, KEY)
    assert got["error"] == errors.ERR_STALE and got["last_counter"] == 100 and got["time"] == 5


def test_wrong_key_is_bad_mac_never_another_exception():
    data = frame.encode_request(7, 42, _records(), HEALTH, OTHER_KEY)
    exc = raises(errors.ProtocolError, frame.decode_request, data, _key_for)
    assert exc.code == errors.ERR_BAD_MAC and not exc.authenticated


def test_every_truncation_is_a_typed_error():
    data = frame.encode_request(7, 42, _records(), HEALTH, KEY)
    for n in range(len(data)):
        exc = raises(errors.ProtocolError, frame.decode_request, data[:n], _key_for)
        assert exc.code in (errors.ERR_TRUNCATED, errors.ERR_BAD_MAC, errors.ERR_MALFORMED), (n, exc.code)
