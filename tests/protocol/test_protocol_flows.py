# The exchanges of docs/protocol.md played end to end with the real codec (box side and server side),
# plus the encoders' refusal of bad values. Runs under CPython and MicroPython.
from support import raises

from protocol import codes, errors, frame, keys

KEY = bytes(range(16))
BOX = 12
HEALTH = {"fw": "1.0.0", "csq": 20, "mv": 12500, "backlog": 0, "gps": 1, "uptime": 10, "reset": 1}


def _keys(box_id):
    return KEY if box_id == BOX else None


def _event(seq, t=1772436600, value=1):
    return {"type": "event", "seq": seq, "t": t, "code": codes.EV_IGNITION, "value": value}


def _positions(first_seq, n, t=1772436600):
    out = []
    for i in range(n):
        out.append({"type": "pos", "seq": first_seq + i, "t": t + 10 * i, "lat": 457593500 + 700 * i,
                    "lon": 48426000 + 900 * i, "speed": 1100 + (i % 7), "course": (40 + i) % 360})
    return out


class FakeServer:
    """The server's part of the exchange, as docs/protocol.md prescribes, over the real codec."""

    def __init__(self, last_counter=0):
        self.last_counter = last_counter
        self.stored = {}  # seq -> record: dedup by (box, seq)
        self.applied_frames = 0

    def handle(self, data, now=1772440000):
        try:
            req = frame.decode_request(data, _keys)
        except errors.ProtocolError as exc:
            return frame.error_reply(exc, _keys, self.last_counter, now)
        if req.type == codes.T_RESYNC:
            return frame.encode_resync_reply(req.box_id, req.nonce, self.last_counter, now, KEY)
        code = frame.check_counter(req.counter, self.last_counter)
        if code:
            response = {"error": code, "last_counter": self.last_counter, "time": now}
            return frame.encode_response(req.box_id, req.counter, response, KEY)
        for r in req.records:
            self.stored[r["seq"]] = r
        self.last_counter = req.counter
        self.applied_frames += 1
        ack = max(self.stored) if self.stored else 0
        return frame.encode_response(req.box_id, req.counter, {"ack": ack, "time": now}, KEY)


def test_sync_then_replay_of_the_same_frame_is_rejected_and_harmless():
    server = FakeServer(last_counter=4)
    data = frame.encode_request(BOX, 5, [_event(1), _event(2, value=0)], HEALTH, KEY)
    reply = frame.decode_response(server.handle(data), BOX, 5, KEY)
    assert reply["error"] == 0 and reply["ack"] == 2
    again = frame.decode_response(server.handle(data), BOX, 5, KEY)
    assert again["error"] == errors.ERR_REPLAY and again["last_counter"] == 5
    assert server.applied_frames == 1 and sorted(server.stored) == [1, 2]


def test_lost_answer_then_resend_with_a_new_counter_is_idempotent():
    server = FakeServer()
    records = [_event(7), _event(8)]
    server.handle(frame.encode_request(BOX, 1, records, HEALTH, KEY))  # the answer is lost on the way
    reply = frame.decode_response(server.handle(frame.encode_request(BOX, 2, records, HEALTH, KEY)), BOX, 2, KEY)
    assert reply["ack"] == 8 and sorted(server.stored) == [7, 8]


def test_reflashed_box_resynchronises_its_counter_safely():
    server = FakeServer(last_counter=500)
    # After a reflash the counter file is gone: the box asks first (no encrypted data under an old counter).
    nonce = b"\x11\x22\x33\x44\x55\x66\x77\x88"
    answer = frame.decode_resync_reply(server.handle(frame.encode_resync(BOX, nonce, KEY)), BOX, nonce, KEY)
    assert answer["error"] == 0 and answer["last_counter"] == 500
    counter = answer["last_counter"] + 1
    reply = frame.decode_response(server.handle(frame.encode_request(BOX, counter, [_event(1)], HEALTH, KEY)),
                                  BOX, counter, KEY)
    assert reply["error"] == 0 and server.last_counter == 501


def test_stale_counter_answer_tells_the_box_where_to_continue():
    server = FakeServer(last_counter=500)
    reply = frame.decode_response(server.handle(frame.encode_request(BOX, 3, [], HEALTH, KEY)), BOX, 3, KEY)
    assert reply["error"] == errors.ERR_STALE and reply["last_counter"] == 500


def test_an_old_resync_answer_replayed_to_the_box_is_refused():
    server = FakeServer(last_counter=40)
    old = server.handle(frame.encode_resync(BOX, b"\x01" * 8, KEY))
    exc = raises(errors.ProtocolError, frame.decode_resync_reply, old, BOX, b"\x02" * 8, KEY)
    assert exc.code == errors.ERR_NONCE


def test_a_recorded_resync_error_answer_replayed_to_a_later_resync_is_refused():
    # An attacker records the ERR_BOX_DISABLED answer to one RESYNC and plays it back later (the box is
    # enabled again): bound to the first nonce, it does not pass for the answer to the second one.
    recorded = frame.encode_resync_reply(BOX, b"\x01" * 8, 40, 1750000000, KEY, error=errors.ERR_BOX_DISABLED)
    assert frame.decode_resync_reply(recorded, BOX, b"\x01" * 8, KEY)["error"] == errors.ERR_BOX_DISABLED
    exc = raises(errors.ProtocolError, frame.decode_resync_reply, recorded, BOX, b"\x02" * 8, KEY)
    assert exc.code == errors.ERR_NONCE
    # the unbound form an older server sent (an error frame to counter 0) is refused the same way
    unbound = frame.encode_response(BOX, 0, {"error": errors.ERR_BOX_DISABLED, "last_counter": 40,
                                             "time": 1750000000}, KEY)
    exc = raises(errors.ProtocolError, frame.decode_resync_reply, unbound, BOX, b"\x02" * 8, KEY)
    assert exc.code == errors.ERR_NONCE


def test_garbage_gets_a_plain_error_the_box_cannot_mistake_for_an_answer():
    server = FakeServer()
    answer = server.handle(b"\x01\x0c\x05\x01garbage-garbage")
    exc = raises(errors.ProtocolError, frame.decode_response, answer, BOX, 5, KEY)
    assert exc.remote and exc.code == errors.ERR_BAD_MAC and not exc.authenticated
    unknown = server.handle(frame.encode_request(99, 1, [], HEALTH, KEY))
    assert raises(errors.ProtocolError, frame.decode_response, unknown, 99, 1, KEY).code == errors.ERR_UNKNOWN_BOX


def test_authentic_frame_with_a_bad_payload_gets_an_authenticated_error():
    exc = raises(errors.ProtocolError, frame.decode_request, frame._seal(
        bytearray(b"\x01\x0c\x05\x01\x05\x01"), 4, KEY, BOX, 5, codes.T_SYNC), _keys)
    assert exc.authenticated and exc.box_id == BOX and exc.counter == 5
    answer = frame.decode_response(frame.error_reply(exc, _keys, 4, 99), BOX, 5, KEY)
    assert answer["error"] == exc.code and answer["last_counter"] == 4 and answer["time"] == 99


def test_backlog_larger_than_a_frame_goes_in_several_syncs():
    records = _positions(1, 300)
    server = FakeServer()
    counter = 0
    sent = 0
    exchanges = 0
    while sent < len(records):
        counter += 1
        data, n = frame.pack_request(BOX, counter, iter(records[sent:]), HEALTH, KEY, max_bytes=1024)
        assert len(data) <= 1024 and n > 0
        reply = frame.decode_response(server.handle(data), BOX, counter, KEY)
        assert reply["ack"] == records[sent + n - 1]["seq"]
        sent += n
        exchanges += 1
    assert [server.stored[s] for s in sorted(server.stored)] == records
    assert exchanges >= 2


def test_small_frame_budget_is_respected():
    data, n = frame.pack_request(BOX, 1, _positions(1, 200), HEALTH, KEY, max_bytes=300)
    assert len(data) <= 300 and 0 < n < 200
    assert frame.decode_request(data, _keys).records == _positions(1, n)


def test_encoders_refuse_bad_values_with_invalid():
    good = _positions(1, 1)[0]
    bad_records = [
        dict(good, lat=900000001),
        dict(good, lon=-1800000001),
        dict(good, course=360),
        dict(good, speed=-1),
        dict(good, seq=-1),
        dict(good, t="now"),
        dict(good, type="unknown"),
        {"type": "badge", "seq": 1, "t": 1, "badge": b"1234567", "granted": True, "reason": 1},
        {"type": "badge", "seq": 1, "t": 1, "badge": b"12345678", "granted": 1, "reason": 1},
        {"type": "event", "seq": 1, "t": 1, "code": 1},
        "not a record",
    ]
    for bad in bad_records:
        exc = raises(errors.ProtocolError, frame.encode_request, BOX, 1, [bad], HEALTH, KEY)
        assert exc.code == errors.ERR_INVALID, bad
    exc = raises(errors.ProtocolError, frame.encode_request, BOX, 1, [_event(5), _event(5)], HEALTH, KEY)
    assert exc.code == errors.ERR_INVALID
    assert raises(errors.ProtocolError, frame.encode_request, BOX, 1, [], {"fw": "x"}, KEY).code == errors.ERR_INVALID
    assert raises(errors.ProtocolError, frame.encode_request, BOX, 1, [], HEALTH, b"short").code == errors.ERR_INVALID
    assert raises(errors.ProtocolError, frame.encode_request, -1, 1, [], HEALTH, KEY).code == errors.ERR_INVALID
    assert raises(errors.ProtocolError, frame.encode_request, BOX, 1 << 32, [], HEALTH, KEY).code == errors.ERR_INVALID
    assert raises(errors.ProtocolError, frame.encode_response, BOX, 1, {"ack": 1}, KEY).code == errors.ERR_INVALID
    assert raises(errors.ProtocolError, frame.encode_response, BOX, 1, None, KEY).code == errors.ERR_INVALID


def test_encode_request_refuses_what_does_not_fit_one_frame():
    exc = raises(errors.ProtocolError, frame.encode_request, BOX, 1, _positions(1, 1025), HEALTH, KEY)
    assert exc.code == errors.ERR_TOO_MANY
    events = [_event(i, value=1 << 40) for i in range(1, 600)]
    assert raises(errors.ProtocolError, frame.encode_request, BOX, 1, events, HEALTH, KEY).code == errors.ERR_TOO_BIG


def test_badge_hash_depends_on_box_key_and_uid():
    a = keys.badge_hash(KEY, b"\x04\x01\x02\x03")
    assert len(a) == 8
    assert a != keys.badge_hash(KEY, b"\x04\x01\x02\x04")
    assert a != keys.badge_hash(bytes(16), b"\x04\x01\x02\x03")
    assert keys.parse_hex_key("000102030405060708090a0b0c0d0e0f") == KEY
    assert raises(errors.ProtocolError, keys.parse_hex_key, "zz").code == errors.ERR_INVALID


def test_derived_keys_differ_from_each_other_and_from_the_box_key():
    mac_key, enc_key = keys.derive(KEY)
    assert len(mac_key) == 32 and len(enc_key) == 16
    assert enc_key != KEY and mac_key[:16] != enc_key and mac_key[:16] != KEY


def _position_stream(n):
    # What the box does: records come one by one from the journal, never as one big list.
    for i in range(n):
        yield {"type": "pos", "seq": 1 + i, "t": 1772436600 + 10 * i, "lat": 457593500 + 700 * i,
               "lon": 48426000 + 900 * i, "speed": 1100 + (i % 7), "course": (40 + i) % 360}


def test_box_fills_a_whole_frame_from_a_stream():
    data, n = frame.pack_request(BOX, 1, _position_stream(5000), HEALTH, KEY)
    assert frame.MAX_FRAME - 16 < len(data) <= frame.MAX_FRAME
    assert 300 < n < 1025


def test_unknown_record_at_the_end_still_counts_for_the_ack():
    from protocol.wire import put_svarint, put_uvarint
    from protocol.records import RecordPacker, encode_health

    body = bytearray(frame._header(BOX, 9, codes.T_SYNC))
    start = len(body)
    encode_health(body, HEALTH)
    packer = RecordPacker(body, 4000)
    packer.add(_event(30))
    packer.finish()
    unknown = bytearray()
    put_uvarint(unknown, 2)  # seq 32
    put_svarint(unknown, 0)
    body.append(0x41)
    put_uvarint(body, len(unknown))
    body.extend(unknown)
    req = frame.decode_request(frame._seal(body, start, KEY, BOX, 9, codes.T_SYNC), _keys)
    assert [r["seq"] for r in req.records] == [30] and req.skipped == 1 and req.last_seq == 32
