"""Property tests of the wire protocol (CPython only): round trips over generated records and replies,
the hand-written HMAC and CTR against CPython's hmac and the `cryptography` package, no exception other
than ProtocolError from any mutated or random input, and golden vectors in step with the code."""

import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol import codes, crypto, frame, golden, keys
from protocol.errors import ProtocolError
from protocol.records import LAT_LIMIT, LON_LIMIT, MAX_SPEED

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KEY = bytes(range(16))
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

u32 = st.integers(0, 0xFFFFFFFF)
epoch = st.integers(0, 4000000000)
small = st.integers(0, 100000)
signed = st.integers(-(1 << 40), 1 << 40)
badge = st.binary(min_size=8, max_size=8)


def _record_body(kind):
    if kind == "badge":
        return st.fixed_dictionaries({"badge": badge, "granted": st.booleans(), "reason": st.integers(0, 0xFFFF)})
    if kind == "trip_start":
        return st.fixed_dictionaries({"trip": u32, "badge": badge, "reservation": u32, "odo_m": u32})
    if kind == "trip_end":
        return st.fixed_dictionaries({"trip": u32, "odo_m": u32, "distance_m": u32, "reason": st.integers(0, 9)})
    if kind == "event":
        return st.fixed_dictionaries({"code": st.integers(0, 0xFFFF), "value": signed})
    return st.fixed_dictionaries({
        "lat": st.integers(-LAT_LIMIT, LAT_LIMIT),
        "lon": st.integers(-LON_LIMIT, LON_LIMIT),
        "speed": st.integers(0, MAX_SPEED),
        "course": st.integers(0, 359),
    })


KINDS = ("badge", "trip_start", "trip_end", "event", "pos", "pos", "pos", "pos")


@st.composite
def record_lists(draw, max_size=60):
    kinds = draw(st.lists(st.sampled_from(KINDS), max_size=max_size))
    seq = draw(st.integers(0, 1 << 40))
    t = draw(epoch)
    out = []
    for kind in kinds:
        seq += draw(st.sampled_from((1, 1, 1, 2, 50)))
        t = max(0, t + draw(st.sampled_from((0, 1, 3, 10, 10, 10, 20, -5, 100000))))
        rec = {"type": kind, "seq": seq, "t": t}
        rec.update(draw(_record_body(kind)))
        out.append(rec)
    return out


@st.composite
def realistic_tracks(draw):
    """Positions as a car makes them (small steps), where most of the bytes go."""
    n = draw(st.integers(1, 80))
    lat = draw(st.integers(-LAT_LIMIT + 10 ** 7, LAT_LIMIT - 10 ** 7))
    lon = draw(st.integers(-LON_LIMIT + 10 ** 7, LON_LIMIT - 10 ** 7))
    t = draw(epoch)
    out = []
    for i in range(n):
        t += draw(st.integers(0, 30))
        lat += draw(st.integers(-9000, 9000))
        lon += draw(st.integers(-13000, 13000))
        out.append({"type": "pos", "seq": 1000 + i, "t": t, "lat": lat, "lon": lon,
                    "speed": draw(st.integers(0, 4000)), "course": draw(st.integers(0, 359))})
    return out


HEALTH = st.fixed_dictionaries({
    "fw": st.text(max_size=10), "csq": st.integers(0, 99), "mv": small, "backlog": small,
    "gps": st.integers(0, 2), "uptime": u32, "reset": st.integers(0, 20), "allow": u32, "rx": u32,
})


def _lookup(box_id):
    return KEY


@SETTINGS
@given(record_lists(), HEALTH, u32, u32)
def test_request_round_trip(records, health, box_id, counter):
    try:
        data = frame.encode_request(box_id, counter, records, health, KEY)
    except ProtocolError as exc:
        assert exc.code in (3, 10)  # too big for one frame; or fw text over 32 UTF-8 bytes
        return
    req = frame.decode_request(data, _lookup)
    assert (req.box_id, req.counter, req.records, req.health) == (box_id, counter, records, health)


@SETTINGS
@given(realistic_tracks())
def test_track_round_trip(records):
    data = frame.encode_request(3, 9, records, {"fw": "x", "csq": 1, "mv": 1, "backlog": 0, "gps": 1,
                                                 "uptime": 1, "reset": 0}, KEY)
    assert frame.decode_request(data, _lookup).records == records


@SETTINGS
@given(record_lists(max_size=200), st.integers(40, 1500))
def test_pack_request_fits_and_keeps_a_prefix(records, max_bytes):
    health = {"fw": "1.0.0", "csq": 1, "mv": 1, "backlog": 0, "gps": 1, "uptime": 1, "reset": 0}
    data, n = frame.pack_request(5, 6, iter(records), health, KEY, max_bytes=max_bytes)
    assert len(data) <= max_bytes
    assert frame.decode_request(data, _lookup).records == records[:n]
    if n < len(records):
        # The next record really did not fit.
        bigger, m = frame.pack_request(5, 6, records[: n + 1], health, KEY, max_bytes=frame.MAX_FRAME)
        assert m < n + 1 or len(bigger) > max_bytes


entries = st.fixed_dictionaries({
    "id": u32, "badge": badge, "kind": st.sampled_from((codes.KIND_RESERVATION, codes.KIND_ROLE, codes.KIND_SPOT)),
    "start": epoch, "end": epoch, "reservation": u32,
})
responses = st.fixed_dictionaries({
    "ack": st.integers(0, 1 << 50),
    "time": epoch,
    "allow": st.none() | st.fixed_dictionaries({"version": u32, "full": st.booleans(),
                                                "add": st.lists(entries, max_size=20),
                                                "remove": st.lists(u32, max_size=20)}),
    "config": st.dictionaries(st.text(st.characters(codec="ascii"), min_size=1, max_size=20), signed, max_size=6),
    "commands": st.lists(st.fixed_dictionaries({"cmd": st.integers(0, 0xFFFF), "arg": signed}), max_size=5),
    "error": st.just(0),
})


@SETTINGS
@given(responses, u32, u32)
def test_response_round_trip(response, box_id, counter):
    data = frame.encode_response(box_id, counter, response, KEY)
    got = frame.decode_response(data, box_id, counter, KEY)
    assert got == dict(response, last_counter=counter)


@SETTINGS
@given(st.binary(max_size=200), st.binary(max_size=300))
def test_hmac_matches_cpython(key, msg):
    assert crypto.hmac_sha256(key, msg) == hmac.new(key, msg, hashlib.sha256).digest()
    assert crypto.hmac_sha256(key, msg[:7], msg[7:]) == hmac.new(key, msg, hashlib.sha256).digest()


@SETTINGS
@given(st.binary(min_size=16, max_size=16), st.binary(min_size=12, max_size=12), st.binary(max_size=600),
       st.integers(0, 0xFFFFFFFF))
def test_ctr_matches_cryptography(key, nonce, data, first):
    buf = bytearray(data)
    crypto.ctr_xor(key, nonce, buf, first_block=first)
    blocks = crypto.ctr_xor_blocks(key, nonce, bytearray(data), 0, len(data), first)  # MicroPython's way
    ref = Cipher(algorithms.AES(key), modes.CTR(nonce + first.to_bytes(4, "big"))).encryptor().update(data)
    if first + (len(data) + 15) // 16 <= 1 << 32:  # the 32-bit block counter wraps in ours, carries in theirs
        assert bytes(buf) == ref
        assert bytes(blocks) == ref
    else:
        assert buf == blocks


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_protocol_errors(data):
    for call in (lambda: frame.decode_request(data, _lookup),
                 lambda: frame.decode_response(data, 7, 42, KEY),
                 lambda: frame.decode_resync_reply(data, 7, b"\0" * 8, KEY)):
        try:
            call()
        except ProtocolError:
            pass


def _valid_frames():
    out = []
    for v in golden.load("requests", ROOT) + golden.load("responses", ROOT):
        out.append((v.get("kind", "request"), bytes.fromhex(v["hex"]), v))
    return out


FRAMES = _valid_frames()


@SETTINGS
@given(st.sampled_from(range(len(FRAMES))), st.data())
def test_mutated_frames_never_decode_and_never_crash(index, data):
    kind, raw, v = FRAMES[index]
    buf = bytearray(raw)
    pos = data.draw(st.integers(0, len(buf) - 1))
    buf[pos] ^= data.draw(st.integers(1, 255))
    key = bytes.fromhex(v["box_key"])
    try:
        if kind in ("request", "resync"):
            frame.decode_request(bytes(buf), lambda b: key)
        elif kind == "resync_reply":
            frame.decode_resync_reply(bytes(buf), v["box_id"], bytes.fromhex(v["nonce"]), key)
        else:
            frame.decode_response(bytes(buf), v["box_id"], v["counter"], key)
    except ProtocolError:
        return
    raise AssertionError("a frame with a modified byte was accepted (byte %d)" % pos)


def test_badge_hash_is_per_box_and_8_bytes():
    uid = b"\x04\x11\x22\x33"
    a = keys.badge_hash(KEY, uid)
    b = keys.badge_hash(bytes(16), uid)
    assert len(a) == 8 and a != b


def test_golden_vectors_are_up_to_date():
    from tools import make_vectors

    for name, content in make_vectors.build().items():
        with open(os.path.join(ROOT, golden.VECTOR_DIR, name + ".json")) as f:
            assert json.load(f) == json.loads(json.dumps(content)), "run python -m tools.make_vectors (%s)" % name
