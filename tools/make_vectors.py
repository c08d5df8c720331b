"""Regenerate the protocol's golden vectors (protocol/vectors/*.json), deterministically.

Usage: python -m tools.make_vectors [--check]
  --check   do not write; exit 1 if the files on disk differ from what the current code produces.

Every vector is built from fixed keys, nonces and records through the public encoders (and, for the bad
frames of errors.json, through the frame internals), then decoded again before being written. The JSON
form of bytes values is hex (protocol.golden). Changing an existing vector means changing the wire
format: bump frame.VERSION or make sure old boxes still decode (docs/protocol.md, "Versioning").
"""

import argparse
import hashlib
import hmac
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from protocol import codes, crypto, errors, frame, golden, keys, schema  # noqa: E402
from protocol.predict import sin14 as predict_sin  # noqa: E402
from protocol.records import RecordPacker, encode_health  # noqa: E402
from protocol.wire import put_svarint, put_uvarint  # noqa: E402

KEY = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
OTHER_KEY = bytes.fromhex("f0e1d2c3b4a5968778695a4b3c2d1e0f")
BOX = 7
T0 = 1772436600  # 2026-03-02 07:30:00 UTC
UID_A = bytes.fromhex("04a1b2c3d4e5f6")  # a 7-byte MIFARE UID
UID_B = bytes.fromhex("0a0b0c0d")
BADGE_A = keys.badge_hash(KEY, UID_A)
BADGE_B = keys.badge_hash(KEY, UID_B)
HEALTH = {"fw": "1.0.0", "csq": 17, "mv": 12600, "backlog": 0, "gps": 1, "uptime": 3600, "reset": 1,
          "allow": 41, "rx": 99}
NONCE = bytes.fromhex("8f1e2d3c4b5a6978")


def _key_for(box_id):
    return KEY if box_id == BOX else None


def plaintext(data):
    """The decrypted payload of an authentic frame (for readers of the vectors and docs/protocol.md)."""
    box_id, counter, ftype, start = frame._parse_header(data)
    return frame._open(data, box_id, counter, ftype, start, KEY).hex()


def _track(seq, t, lat, lon, steps):
    """Position records from (dt, dlat, dlon, speed, course) steps."""
    out = []
    for dt, dlat, dlon, speed, course in steps:
        t += dt
        lat += dlat
        lon += dlon
        out.append({"type": "pos", "seq": seq, "t": t, "lat": lat, "lon": lon, "speed": speed, "course": course})
        seq += 1
    return out


LYON_TRACK = _track(20, T0 + 60, 457593500, 48426000, [
    (0, 0, 0, 0, 0),  # parked, course unknown (0)
    (10, 120, 80, 420, 34),
    (10, 2900, 1900, 1250, 33),
    (10, 4200, 3500, 1390, 40),
    (8, 6100, 5700, 1470, 43),  # the 100 m rule fired before 10 s
    (3, 900, 4300, 1510, 78),  # turning east
    (10, -2100, 11800, 1380, 101),
    (20, -1500, 300, 0, 101),  # a 20 s step: time travels outside the speed varint
    (10, 20, -40, 30, 355),  # course wraps through north
    (10, 800, 20, 560, 2),
])

SOUTH_WEST_TRACK = _track(1, 1700000000, -346037220, -583815920, [
    (0, 0, 0, 900, 200),
    (10, -8300, -3200, 950, 205),
    (10, -8400, -4000, 980, 210),
    (5, -4000, -2500, 990, 215),
])


def _walk(n, seed=12345):
    """A deterministic car-like walk (integer LCG, no floats): turns, stops, accelerations, a gap in time,
    so the predictor is exercised on many cases by every interpreter that checks the vector."""
    state = seed
    out = []
    t, lat, lon, speed, course = T0 + 3600, 457593500, 48426000, 0, 90
    for i in range(n):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        r = state >> 8
        dt = 10 if r % 5 else 3 + r % 8
        if i == n // 2:
            dt = 95  # a tunnel: beyond the predictor's 60 s
        speed = max(0, min(3600, speed + (r % 401) - 180))
        course = (course + (r >> 9) % 41 - 20) % 360
        step = speed * dt  # cm
        lat += step * predict_sin(course + 90) // 18212 + (r % 61) - 30
        lon += step * predict_sin(course) // 12990 + (r >> 3) % 61 - 30
        t += dt
        out.append({"type": "pos", "seq": 500 + i, "t": t, "lat": lat, "lon": lon, "speed": speed,
                    "course": course})
    return out


def request_vectors():
    v = []

    def add(name, records, health=HEALTH, counter=42, note=""):
        data = frame.encode_request(BOX, counter, records, health, KEY)
        req = frame.decode_request(data, _key_for)
        assert req.records == records and req.health == dict({"allow": 0, "rx": 0}, **health)
        v.append({"name": name, "note": note, "box_key": KEY.hex(), "box_id": BOX, "counter": counter,
                  "hex": data.hex(), "plaintext": plaintext(data), "records": golden.to_json(records),
                  "health": req.health, "skipped": 0, "reencode": True})

    add("request_empty", [], note="health only: a parked box's periodic sync")
    add("request_badge", [
        {"type": "badge", "seq": 1, "t": T0, "badge": BADGE_A, "granted": True, "reason": codes.REASON_RESERVATION},
        {"type": "badge", "seq": 2, "t": T0 + 4, "badge": BADGE_B, "granted": False,
         "reason": codes.REASON_UNKNOWN_BADGE},
    ], note="one granted and one denied badge decision")
    add("request_trip_start", [
        {"type": "trip_start", "seq": 3, "t": T0 + 5, "trip": 12, "badge": BADGE_A, "reservation": 5021,
         "odo_m": 41250},
        {"type": "trip_start", "seq": 9, "t": T0 + 9000, "trip": 13, "badge": BADGE_B, "reservation": 0,
         "odo_m": 41262},
    ], note="a planned trip, then an unplanned one (reservation 0)")
    add("request_trip_end", [
        {"type": "trip_end", "seq": 50, "t": T0 + 1900, "trip": 12, "odo_m": 53260, "distance_m": 12010,
         "reason": codes.END_BADGE},
        {"type": "trip_end", "seq": 51, "t": T0 + 1895, "trip": 13, "odo_m": 53260, "distance_m": 0,
         "reason": codes.END_TIMEOUT},
    ], note="the second record's time is earlier (clock corrected): time deltas are signed")
    add("request_event", [
        {"type": "event", "seq": 4, "t": T0 + 8, "code": codes.EV_IGNITION, "value": 1},
        {"type": "event", "seq": 5, "t": T0 + 8, "code": codes.EV_RELAY, "value": 0},
        {"type": "event", "seq": 6, "t": T0 + 30, "code": codes.EV_CLOCK_SET, "value": -3},
        {"type": "event", "seq": 7, "t": T0 + 31, "code": codes.EV_POWER_LOSS, "value": 10850},
    ], note="signed event values")
    add("request_track", LYON_TRACK, note="ten samples in Lyon: residuals after dead reckoning, dt escape, "
        "course wrap")
    add("request_track_south_west", SOUTH_WEST_TRACK, note="negative latitude and longitude (floor division)")
    add("request_track_walk", _walk(150), counter=77, note="150 samples of a synthetic drive: the predictor "
        "on turns, stops and a 95 s gap, identical on both interpreters")
    day = [
        {"type": "badge", "seq": 100, "t": T0, "badge": BADGE_A, "granted": True, "reason": codes.REASON_SPOT},
        {"type": "event", "seq": 101, "t": T0, "code": codes.EV_RELAY, "value": 0},
        {"type": "trip_start", "seq": 102, "t": T0 + 1, "trip": 14, "badge": BADGE_A, "reservation": 0,
         "odo_m": 53260},
        {"type": "event", "seq": 103, "t": T0 + 9, "code": codes.EV_IGNITION, "value": 1},
    ]
    day += _track(104, T0 + 10, 457600000, 48430000, [(0, 0, 0, 0, 0), (10, 3000, 2000, 1300, 35),
                                                       (10, 6000, 4100, 1350, 36)])
    # seq 107..109 were dropped by the journal (flash full): the next samples start a new track.
    day += _track(110, T0 + 60, 457700000, 48500000, [(0, 0, 0, 1200, 90), (10, 100, 9000, 1250, 88)])
    day += [
        {"type": "event", "seq": 112, "t": T0 + 80, "code": codes.EV_IGNITION, "value": 0},
        {"type": "badge", "seq": 113, "t": T0 + 95, "badge": BADGE_A, "granted": True,
         "reason": codes.REASON_END_TRIP},
        {"type": "trip_end", "seq": 114, "t": T0 + 95, "trip": 14, "odo_m": 53500, "distance_m": 240,
         "reason": codes.END_BADGE},
        {"type": "event", "seq": 115, "t": T0 + 96, "code": codes.EV_RELAY, "value": 1},
    ]
    add("request_short_trip", day, counter=300, note="a whole short unplanned trip with a gap in the sequence")
    add("request_old_health_keys", [], health={k: HEALTH[k] for k in HEALTH if k not in ("allow", "rx")},
        note="health without allow/rx: encoded as 0")

    # Decode-only vectors: what a newer box could send (versioning rules).
    unknown = bytearray()
    frame_hdr = frame._header(BOX, 43, codes.T_SYNC)
    start = len(frame_hdr)
    body = bytearray(frame_hdr)
    encode_health(body, HEALTH)
    first = {"type": "event", "seq": 4, "t": T0 + 8, "code": codes.EV_IGNITION, "value": 1}
    packer = RecordPacker(body, 4000)
    packer.add(first)
    packer.finish()
    # A record of tag 0x40 (unknown to version 1): chained header (seq +1, t +2) then 3 opaque bytes.
    put_uvarint(unknown, 1)
    put_svarint(unknown, 2)
    unknown.extend(b"\xde\xad\xbe")
    body.append(0x40)
    put_uvarint(body, len(unknown))
    body.extend(unknown)
    # Then a known record, chained after the unknown one.
    tail = bytearray()
    put_uvarint(tail, 1)
    put_svarint(tail, 1)
    put_uvarint(tail, codes.EV_RELAY)
    put_svarint(tail, 0)
    body.append(schema.by_name("event")[schema.TAG])
    put_uvarint(body, len(tail))
    body.extend(tail)
    data = frame._seal(body, start, KEY, BOX, 43, codes.T_SYNC)
    records = [first, {"type": "event", "seq": 6, "t": T0 + 11, "code": codes.EV_RELAY, "value": 0}]
    req = frame.decode_request(data, _key_for)
    assert req.records == records and req.skipped == 1
    v.append({"name": "request_unknown_record_type", "note": "a record of unknown tag 0x40 is skipped; the "
              "chain continues from its header", "box_key": KEY.hex(), "box_id": BOX, "counter": 43,
              "hex": data.hex(), "records": golden.to_json(records), "health": req.health, "skipped": 1,
              "reencode": False})

    # A box of an older firmware: health block with fewer fields (the decoder fills in 0).
    body = bytearray(frame._header(BOX, 44, codes.T_SYNC))
    start = len(body)
    old = bytearray()
    fw = b"0.9.0"
    put_uvarint(old, len(fw))
    old.extend(fw)
    for value in (20, 12100, 0, 1, 60, 2):  # csq, mv, backlog, gps, uptime, reset
        put_uvarint(old, value)
    put_uvarint(body, len(old))
    body.extend(old)
    data = frame._seal(body, start, KEY, BOX, 44, codes.T_SYNC)
    req = frame.decode_request(data, _key_for)
    v.append({"name": "request_older_box_health", "note": "health block of an older firmware (6 fields)",
              "box_key": KEY.hex(), "box_id": BOX, "counter": 44, "hex": data.hex(), "records": [],
              "health": req.health, "skipped": 0, "reencode": False})
    assert req.health["allow"] == 0 and req.health["reset"] == 2

    resync = frame.encode_resync(BOX, NONCE, KEY)
    req = frame.decode_request(resync, _key_for)
    assert req.type == codes.T_RESYNC and req.nonce == NONCE
    v.append({"name": "resync_request", "note": "counter resynchronisation after a reflash", "kind": "resync",
              "box_key": KEY.hex(), "box_id": BOX, "counter": 0, "nonce": NONCE.hex(), "hex": resync.hex()})
    return v


def _entry(id_, badge, kind, start=0, end=0, reservation=0):
    return {"id": id_, "badge": badge, "kind": kind, "start": start, "end": end, "reservation": reservation}


def response_vectors():
    v = []

    def add(name, response, counter=42, note=""):
        data = frame.encode_response(BOX, counter, response, KEY)
        got = frame.decode_response(data, BOX, counter, KEY)
        full = {"ack": 0, "time": 0, "allow": None, "config": {}, "commands": [], "error": 0,
                "last_counter": counter}
        full.update(response)
        if not full["error"]:
            full["last_counter"] = counter
        else:
            full.update({"ack": 0, "allow": None, "config": {}, "commands": []})
        assert got == full, (got, full)
        v.append({"name": name, "note": note, "kind": "reply", "box_key": KEY.hex(), "box_id": BOX,
                  "counter": counter, "hex": data.hex(), "plaintext": plaintext(data),
                  "response": golden.to_json(full), "reencode": True})

    add("reply_ack_only", {"ack": 57, "time": T0 + 1960}, note="nothing new for the box")
    add("reply_full_allow", {"ack": 57, "time": T0 + 1960, "allow": {"version": 42, "full": True, "remove": [],
        "add": [
            _entry(9001, BADGE_A, codes.KIND_RESERVATION, T0 + 3600, T0 + 3 * 3600, 5022),
            _entry(9002, BADGE_B, codes.KIND_ROLE),
            _entry(9003, keys.badge_hash(KEY, b"\x01\x02\x03\x04"), codes.KIND_SPOT),
        ]}}, note="the whole allow-list replaces the box's (version 42)")
    add("reply_delta_allow", {"ack": 60, "time": T0 + 4000, "allow": {"version": 43, "full": False,
        "add": [_entry(9004, BADGE_B, codes.KIND_RESERVATION, T0 + 7200, T0 + 9000, 5023)],
        "remove": [9001]}}, note="changes since version 42")
    add("reply_config_commands", {"ack": 60, "time": T0 + 4000, "config": {"grace_s": 300,
        "sync_period_s": 21600, "tz_offset_s": -3600}, "commands": [
            {"cmd": codes.CMD_RELEASE, "arg": 5023}, {"cmd": codes.CMD_FIRMWARE, "arg": 10100},
            {"cmd": codes.CMD_RESYNC, "arg": 0}, {"cmd": codes.CMD_REBOOT, "arg": 0}]},
        note="configuration changes and every command")
    for code, last in ((errors.ERR_REPLAY, 42), (errors.ERR_STALE, 57), (errors.ERR_SERVER, 41),
                       (errors.ERR_BOX_DISABLED, 41), (errors.ERR_MALFORMED, 42)):
        add("error_" + errors.NAMES[code], {"error": code, "last_counter": last, "time": T0 + 5000},
            note="authenticated error frame")

    # Decode-only: a reply section unknown to version 1 (tag 0x40) is skipped.
    body = bytearray(frame._header(BOX, 42, codes.T_SYNC_REPLY))
    start = len(body)
    put_uvarint(body, 61)
    put_uvarint(body, T0 + 4100)
    body.append(0x40)
    put_uvarint(body, 2)
    body.extend(b"\x01\x02")
    data = frame._seal(body, start, KEY, BOX, 42, codes.T_SYNC_REPLY)
    full = {"ack": 61, "time": T0 + 4100, "allow": None, "config": {}, "commands": [], "error": 0,
            "last_counter": 42}
    assert frame.decode_response(data, BOX, 42, KEY) == full
    v.append({"name": "reply_unknown_section", "note": "a section of unknown tag 0x40 is skipped", "kind": "reply",
              "box_key": KEY.hex(), "box_id": BOX, "counter": 42, "hex": data.hex(), "response": full,
              "reencode": False})

    data = frame.encode_resync_reply(BOX, NONCE, 57, T0 + 6000, KEY, last_seq=61)
    got = frame.decode_resync_reply(data, BOX, NONCE, KEY)
    assert got == {"error": 0, "last_counter": 57, "time": T0 + 6000, "last_seq": 61}
    v.append({"name": "resync_reply", "note": "the box continues at counter 58 and journal sequence 62",
              "kind": "resync_reply", "box_key": KEY.hex(), "box_id": BOX, "counter": 0, "nonce": NONCE.hex(),
              "hex": data.hex(), "response": got, "reencode": True})

    # A server older than last_seq: the reply ends after time; the box reads last_seq 0.
    body = frame._header(BOX, 0, codes.T_RESYNC_REPLY)
    start = len(body)
    body.extend(NONCE)
    put_uvarint(body, 57)
    put_uvarint(body, T0 + 6000)
    data = frame._seal(body, start, KEY, BOX, 0, codes.T_RESYNC_REPLY)
    got = frame.decode_resync_reply(data, BOX, NONCE, KEY)
    assert got == {"error": 0, "last_counter": 57, "time": T0 + 6000, "last_seq": 0}
    v.append({"name": "resync_reply_without_last_seq", "note": "an older server's answer: last_seq reads 0",
              "kind": "resync_reply", "box_key": KEY.hex(), "box_id": BOX, "counter": 0, "nonce": NONCE.hex(),
              "hex": data.hex(), "response": got, "reencode": False})

    data = frame.encode_resync_reply(BOX, NONCE, 57, T0 + 6000, KEY, error=errors.ERR_BOX_DISABLED)
    got = frame.decode_resync_reply(data, BOX, NONCE, KEY)
    assert got == {"error": errors.ERR_BOX_DISABLED, "last_counter": 57, "time": T0 + 6000, "last_seq": 0}
    v.append({"name": "resync_error", "note": "a disabled box's RESYNC: an error frame that echoes the nonce",
              "kind": "resync_reply", "box_key": KEY.hex(), "box_id": BOX, "counter": 0, "nonce": NONCE.hex(),
              "hex": data.hex(), "response": got, "reencode": True})
    return v


def error_vectors():
    """Bad input -> expected error code. decoder: request | response | resync_reply."""
    v = []
    good = bytes.fromhex(next(x for x in request_vectors() if x["name"] == "request_event")["hex"])
    reply = frame.encode_response(BOX, 42, {"ack": 7, "time": T0}, KEY)

    def add(name, decoder, data, code, counter=42, remote=False, note=""):
        if decoder == "request":
            call = (frame.decode_request, data, _key_for)
        elif decoder == "response":
            call = (frame.decode_response, data, BOX, counter, KEY)
        else:
            call = (frame.decode_resync_reply, data, BOX, NONCE, KEY)
        try:
            call[0](*call[1:])
        except errors.ProtocolError as exc:
            assert exc.code == code and exc.remote == remote, (name, exc)
        else:
            raise AssertionError(name + " decoded")
        v.append({"name": name, "note": note, "decoder": decoder, "box_key": KEY.hex(), "box_id": BOX,
                  "counter": counter, "nonce": NONCE.hex(), "hex": data.hex(), "expect": code,
                  "expect_name": errors.NAMES[code], "remote": remote})

    add("garbage", "request", b"GET / HTTP/1.0\r\n\r\n", errors.ERR_VERSION, note="not a frame at all")
    add("empty", "request", b"", errors.ERR_TRUNCATED)
    add("truncated_header", "request", good[:3], errors.ERR_TRUNCATED)
    add("truncated_mac", "request", good[:-1], errors.ERR_BAD_MAC, note="one byte short: the MAC no longer checks")
    add("oversized", "request", good[:5] + bytes(frame.MAX_FRAME), errors.ERR_TOO_BIG)
    add("wrong_version", "request", b"\x02" + good[1:], errors.ERR_VERSION)
    add("unknown_type", "request", good[:3] + b"\x7f" + good[4:], errors.ERR_TYPE)
    add("reply_sent_to_server", "request", reply, errors.ERR_TYPE)
    add("unknown_box", "request", frame.encode_request(99, 1, [], HEALTH, KEY), errors.ERR_UNKNOWN_BOX)
    flipped = bytearray(good)
    flipped[-1] ^= 1
    add("bad_mac", "request", bytes(flipped), errors.ERR_BAD_MAC)
    flipped = bytearray(good)
    flipped[10] ^= 0x80
    add("tampered_payload", "request", bytes(flipped), errors.ERR_BAD_MAC)
    add("wrong_key", "request", frame.encode_request(BOX, 42, [], HEALTH, OTHER_KEY), errors.ERR_BAD_MAC)
    add("non_canonical_varint", "request", b"\x01\x87\x00" + good[2:], errors.ERR_MALFORMED,
        note="box id 7 written on two bytes")
    # Authentic frames with a bad payload (a buggy box): the error is authenticated.
    health = bytearray()
    encode_health(health, HEALTH)
    bad_fw = bytes.fromhex("0a02ff00") + bytes(8)  # fw "\xff\x00": not UTF-8
    for name, payload, code in (
        ("payload_truncated_record", health + b"\x05\x05\x04\x00\x01", errors.ERR_TRUNCATED),
        ("payload_seq_not_increasing", health + b"\x05\x04\x05\x00\x01\x00" + b"\x05\x04\x00\x00\x02\x00",
         errors.ERR_MALFORMED),
        ("payload_track_count_over_limit", health + b"\x04\x04\x00\x00\x81\x08", errors.ERR_TOO_MANY),
        ("payload_bad_utf8", bad_fw, errors.ERR_MALFORMED),
    ):
        body = bytearray(frame._header(BOX, 42, codes.T_SYNC))
        start = len(body)
        body.extend(payload)
        add(name, "request", frame._seal(body, start, KEY, BOX, 42, codes.T_SYNC), code,
            note="authentic frame, bad payload: answered with an authenticated error frame")

    add("reply_wrong_box", "response", frame.encode_response(8, 42, {"ack": 7, "time": T0}, KEY),
        errors.ERR_WRONG_BOX)
    add("reply_to_other_request", "response", frame.encode_response(BOX, 41, {"ack": 7, "time": T0}, KEY),
        errors.ERR_COUNTER_MISMATCH, note="a late answer to the previous request")
    add("reply_bad_mac", "response", reply[:-1] + bytes([reply[-1] ^ 0x40]), errors.ERR_BAD_MAC)
    add("reply_request_type", "response", good, errors.ERR_TYPE)
    for code in (errors.ERR_BAD_MAC, errors.ERR_UNKNOWN_BOX, errors.ERR_VERSION, errors.ERR_MALFORMED):
        add("plain_error_" + errors.NAMES[code], "response", frame.encode_plain_error(code, BOX, 42), code,
            remote=True, note="unauthenticated error frame from the server: a hint, never acted upon")
    add("resync_reply_wrong_nonce", "resync_reply",
        frame.encode_resync_reply(BOX, b"\x00" * 8, 57, T0, KEY), errors.ERR_NONCE,
        note="a replayed resync answer")
    add("resync_reply_bad_mac", "resync_reply", frame.encode_resync_reply(BOX, NONCE, 57, T0, OTHER_KEY),
        errors.ERR_BAD_MAC)
    add("resync_error_wrong_nonce", "resync_reply",
        frame.encode_resync_reply(BOX, b"\x00" * 8, 57, T0, KEY, error=errors.ERR_BOX_DISABLED), errors.ERR_NONCE,
        note="a recorded error answer to an earlier resync, replayed")
    add("resync_error_without_nonce", "resync_reply",
        frame.encode_response(BOX, 0, {"error": errors.ERR_BOX_DISABLED, "last_counter": 57, "time": T0}, KEY),
        errors.ERR_NONCE, counter=0, note="an error frame to counter 0 not bound to the nonce (older servers)")
    return v


def counter_vectors():
    return [{"counter": c, "last_accepted": last, "expect": frame.check_counter(c, last),
             "expect_name": errors.NAMES[frame.check_counter(c, last)]}
            for c, last in ((43, 42), (42, 42), (41, 42), (1, 0), (1, 57))]


def key_vectors():
    mac_key, enc_key = keys.derive(KEY)
    out = {"derive": [{"box_key": KEY.hex(), "mac_key": mac_key.hex(), "enc_key": enc_key.hex()}],
           "badge_hash": [{"box_key": KEY.hex(), "uid": u.hex(), "badge": keys.badge_hash(KEY, u).hex()}
                          for u in (UID_A, UID_B, b"")],
           # RFC 4231 test case 2 and a long key (hashed first).
           "hmac_sha256": [{"key": b"Jefe".hex(), "msg": b"what do ya want for nothing?".hex()},
                           {"key": (b"\xaa" * 131).hex(),
                            "msg": b"Test Using Larger Than Block-Size Key - Hash Key First".hex()}],
           # NIST SP 800-38A F.5.1 (CTR-AES128.Encrypt), counter block f0f1...fcfdfeff.
           "aes128_ctr": [{"key": "2b7e151628aed2a6abf7158809cf4f3c", "nonce12": "f0f1f2f3f4f5f6f7f8f9fafb",
                           "first_block": 0xfcfdfeff,
                           "plaintext": "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
                           "ciphertext": "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff"}]}
    for item in out["hmac_sha256"]:
        k, m = bytes.fromhex(item["key"]), bytes.fromhex(item["msg"])
        item["mac"] = hmac.new(k, m, hashlib.sha256).hexdigest()
        assert crypto.hmac_sha256(k, m).hex() == item["mac"]
    c = out["aes128_ctr"][0]
    buf = bytearray(bytes.fromhex(c["plaintext"]))
    crypto.ctr_xor(bytes.fromhex(c["key"]), bytes.fromhex(c["nonce12"]), buf, first_block=c["first_block"])
    assert buf.hex() == c["ciphertext"]
    return out


def build():
    return {
        "keys": key_vectors(),
        "requests": request_vectors(),
        "responses": response_vectors(),
        "errors": error_vectors(),
        "counters": counter_vectors(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the files on disk, write nothing")
    args = parser.parse_args(argv)
    out_dir = os.path.join(ROOT, golden.VECTOR_DIR)
    os.makedirs(out_dir, exist_ok=True)
    stale = 0
    for name, content in build().items():
        text = json.dumps(content, indent=1, sort_keys=True) + "\n"
        path = os.path.join(out_dir, name + ".json")
        if args.check:
            try:
                with open(path) as f:
                    same = f.read() == text
            except OSError:
                same = False
            if not same:
                print("differs: %s" % os.path.relpath(path, ROOT))
                stale += 1
            continue
        with open(path, "w") as f:
            f.write(text)
        print("wrote %s" % os.path.relpath(path, ROOT))
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
