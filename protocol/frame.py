# Frames: header, encryption (AES-128-CTR), authentication (truncated HMAC-SHA256), and the public
# encode/decode API of docs/architecture.md. Layout and rationale: docs/protocol.md.
#
#   version(1) | box_id(varint) | counter(varint) | type(1) | payload | mac(8)
#
# Decoders raise ProtocolError and nothing else: every failure has a code (protocol.errors).
from protocol import codes
from protocol.crypto import ctr_xor, equal, hmac_sha256
from protocol.errors import (
    ERR_BAD_MAC,
    ERR_COUNTER_MISMATCH,
    ERR_INVALID,
    ERR_MALFORMED,
    ERR_NONCE,
    ERR_NONE,
    ERR_REPLAY,
    ERR_STALE,
    ERR_TOO_BIG,
    ERR_TOO_MANY,
    ERR_TRUNCATED,
    ERR_TYPE,
    ERR_UNKNOWN_BOX,
    ERR_VERSION,
    ERR_WRONG_BOX,
    ProtocolError,
)
from protocol.keys import derive
from protocol.records import (
    MAX_RECORDS,
    RecordPacker,
    decode_health,
    decode_records,
    decode_reply_body,
    encode_health,
    encode_reply_body,
)
from protocol.wire import Reader, put_uvarint

VERSION = 1
MAC_BYTES = 8
NONCE_BYTES = 8  # resync challenge
MAX_FRAME = 4096  # bytes, both directions (box RAM: frame + keystream chunk + records)
MAX_ID = 0xFFFFFFFF  # box id and counter fit in 32 bits (they are part of the CTR nonce)
_HEADER_MAX = 1 + 5 + 5 + 1

_ENCRYPTED = (codes.T_SYNC, codes.T_SYNC_REPLY)
_REQUEST_TYPES = (codes.T_SYNC, codes.T_RESYNC)
_RESPONSE_TYPES = (codes.T_SYNC_REPLY, codes.T_RESYNC_REPLY, codes.T_ERROR, codes.T_PLAIN_ERROR)


class Request:
    """A decoded, authenticated box -> server frame. type is codes.T_SYNC (records, health) or
    codes.T_RESYNC (nonce); skipped counts records of unknown types that were passed over; last_seq is the
    highest sequence number in the frame, skipped records included (what the server may acknowledge), None
    when the frame has no record."""

    def __init__(self, box_id, counter, records, health, type=codes.T_SYNC, nonce=None, skipped=0, last_seq=None):
        self.box_id = box_id
        self.counter = counter
        self.records = records
        self.health = health
        self.type = type
        self.nonce = nonce
        self.skipped = skipped
        self.last_seq = last_seq

    def __repr__(self):
        return "Request(box_id=%d, counter=%d, type=%d, records=%d)" % (
            self.box_id,
            self.counter,
            self.type,
            len(self.records),
        )


def _check_id(value, what):
    if type(value) is not int or value < 0 or value > MAX_ID:
        raise ProtocolError(ERR_INVALID, "%s=%r" % (what, value))


def _header(box_id, counter, ftype):
    _check_id(box_id, "box_id")
    _check_id(counter, "counter")
    buf = bytearray()
    buf.append(VERSION)
    put_uvarint(buf, box_id)
    put_uvarint(buf, counter)
    buf.append(ftype)
    return buf


def _nonce(ftype, box_id, counter):
    # Unique per (direction and kind, box, counter): the box never reuses a counter and the server
    # sends at most one encrypted reply per accepted counter (docs/protocol.md, "Encryption").
    return bytes((VERSION, ftype)) + box_id.to_bytes(4, "big") + counter.to_bytes(4, "big") + b"\x00\x00"


def _seal(buf, payload_start, box_key, box_id, counter, ftype):
    """Encrypt buf[payload_start:] in place if the type is encrypted, append the MAC, return bytes."""
    mac_key, enc_key = derive(box_key)
    if ftype in _ENCRYPTED:
        ctr_xor(enc_key, _nonce(ftype, box_id, counter), buf, payload_start)
    buf.extend(hmac_sha256(mac_key, buf)[:MAC_BYTES])
    if len(buf) > MAX_FRAME:
        raise ProtocolError(ERR_TOO_BIG, "%d bytes" % len(buf))
    return bytes(buf)


def _parse_header(data):
    """-> (box_id, counter, type, payload_start). Checks size and version."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ProtocolError(ERR_MALFORMED, "not bytes")
    if len(data) > MAX_FRAME:
        raise ProtocolError(ERR_TOO_BIG, "%d bytes" % len(data))
    reader = Reader(data)
    version = reader.u8()
    if version != VERSION:
        raise ProtocolError(ERR_VERSION, "version %d" % version)
    box_id = reader.uvarint()
    counter = reader.uvarint()
    ftype = reader.u8()
    if box_id > MAX_ID or counter > MAX_ID:
        raise ProtocolError(ERR_MALFORMED, "id out of range")
    return box_id, counter, ftype, reader.pos


def _open(data, box_id, counter, ftype, start, box_key):
    """Verify the MAC and decrypt: -> bytearray of the plaintext payload."""
    if len(data) - start < MAC_BYTES:
        raise ProtocolError(ERR_TRUNCATED, "no room for the MAC", box_id, counter)
    mac_key, enc_key = derive(box_key)
    end = len(data) - MAC_BYTES
    expected = hmac_sha256(mac_key, data[:end])[:MAC_BYTES]
    if not equal(expected, data[end:]):
        raise ProtocolError(ERR_BAD_MAC, "", box_id, counter)
    payload = bytearray(data[start:end])
    if ftype in _ENCRYPTED:
        ctr_xor(enc_key, _nonce(ftype, box_id, counter), payload)
    return payload


def _authenticated(exc, box_id, counter):
    # Decoding errors after the MAC check: the sender is genuine, so the server can answer with an
    # authenticated error frame (error_reply()).
    exc.box_id = box_id
    exc.counter = counter
    exc.authenticated = True
    return exc


# ------------------------------------------------------------------------------------------- requests


def pack_request(box_id, counter, records, health, box_key, max_bytes=MAX_FRAME, max_records=MAX_RECORDS):
    """Encode a sync request with as many leading records (any iterable, consumed lazily) as fit in
    max_bytes. Returns (frame_bytes, n_records_included). The box sends the rest in the next sync."""
    buf = _header(box_id, counter, codes.T_SYNC)
    start = len(buf)
    encode_health(buf, health)
    packer = RecordPacker(buf, min(max_bytes, MAX_FRAME) - MAC_BYTES, max_records)
    for r in records:
        if not packer.add(r):
            break
    n = packer.finish()
    return _seal(buf, start, box_key, box_id, counter, codes.T_SYNC), n


def encode_request(box_id, counter, records, health, box_key):
    """Encode a sync request carrying all records; ProtocolError(ERR_TOO_BIG/ERR_TOO_MANY) if they do not
    fit one frame (use pack_request to send a part)."""
    if not isinstance(records, (list, tuple)):
        records = list(records)
    if len(records) > MAX_RECORDS:
        raise ProtocolError(ERR_TOO_MANY, "%d records" % len(records))
    frame, n = pack_request(box_id, counter, records, health, box_key)
    if n != len(records):
        raise ProtocolError(ERR_TOO_BIG, "only %d of %d records fit" % (n, len(records)))
    return frame


def encode_resync(box_id, nonce, box_key):
    """Counter resynchronisation request (after a reflash or when the persisted counter is lost):
    authenticated, not encrypted, counter field 0. nonce: NONCE_BYTES fresh random bytes (os.urandom)."""
    if not isinstance(nonce, (bytes, bytearray)) or len(nonce) != NONCE_BYTES:
        raise ProtocolError(ERR_INVALID, "nonce must be %d bytes" % NONCE_BYTES)
    buf = _header(box_id, 0, codes.T_RESYNC)
    start = len(buf)
    buf.extend(nonce)
    return _seal(buf, start, box_key, box_id, 0, codes.T_RESYNC)


def decode_request(data, key_for_box, rows=False):
    """Decode and authenticate a box -> server frame. key_for_box(box_id) -> 16-byte key or None.
    Returns Request; raises ProtocolError only. Counter freshness is the caller's check (check_counter).
    rows=True: every record is a tuple (tag, seq, t, fields in protocol.schema order), see decode_records."""
    box_id, counter, ftype, start = _parse_header(data)
    if ftype not in _REQUEST_TYPES:
        raise ProtocolError(ERR_TYPE, "type 0x%02x" % ftype, box_id, counter)
    key = key_for_box(box_id)
    if key is None:
        raise ProtocolError(ERR_UNKNOWN_BOX, "box %d" % box_id, box_id, counter)
    payload = _open(data, box_id, counter, ftype, start, key)
    try:
        reader = Reader(payload)
        if ftype == codes.T_RESYNC:
            nonce = reader.take(NONCE_BYTES)
            if reader.remaining():
                raise ProtocolError(ERR_MALFORMED, "resync payload")
            return Request(box_id, counter, [], None, ftype, nonce)
        health = decode_health(reader)
        records, skipped, last_seq = decode_records(reader, rows)
    except ProtocolError as exc:
        raise _authenticated(exc, box_id, counter) from None
    except Exception as exc:  # defensive: no other exception type may escape a decoder
        raise _authenticated(ProtocolError(ERR_MALFORMED, repr(exc)), box_id, counter) from None
    return Request(box_id, counter, records, health, ftype, None, skipped, last_seq)


def check_counter(counter, last_accepted):
    """Server side freshness rule: ERR_NONE if counter > last_accepted, else ERR_REPLAY (equal: this very
    frame was already applied) or ERR_STALE (below: the box must resynchronise)."""
    if counter > last_accepted:
        return ERR_NONE
    return ERR_REPLAY if counter == last_accepted else ERR_STALE


# ------------------------------------------------------------------------------------------ responses


def encode_response(box_id, counter, response, box_key):
    """Encode the server's answer to request `counter`. If response["error"] is non-zero the frame is an
    authenticated error frame carrying error, last_counter and time; otherwise an encrypted sync reply."""
    if not isinstance(response, dict):
        raise ProtocolError(ERR_INVALID, "response must be a dict")
    error = response.get("error") or 0
    if error:
        buf = _header(box_id, counter, codes.T_ERROR)
        start = len(buf)
        last = response.get("last_counter") or 0
        t = response.get("time") or 0
        for value in (error, last, t):
            if type(value) is not int or value < 0 or value > MAX_ID:
                raise ProtocolError(ERR_INVALID, "error frame field %r" % (value,))
            put_uvarint(buf, value)
        return _seal(buf, start, box_key, box_id, counter, codes.T_ERROR)
    buf = _header(box_id, counter, codes.T_SYNC_REPLY)
    start = len(buf)
    encode_reply_body(buf, response)
    return _seal(buf, start, box_key, box_id, counter, codes.T_SYNC_REPLY)


def encode_plain_error(code, box_id=0, counter=0):
    """Unauthenticated error frame for input the server cannot authenticate (garbage, unknown box, bad
    MAC, unsupported version): version | box_id | counter | 0xFF | code. The box treats it as a hint only."""
    buf = _header(box_id if type(box_id) is int and 0 <= box_id <= MAX_ID else 0,
                  counter if type(counter) is int and 0 <= counter <= MAX_ID else 0, codes.T_PLAIN_ERROR)
    put_uvarint(buf, code)
    return bytes(buf)


def error_reply(exc, key_for_box, last_counter=0, time=0):
    """The server's answer to a request that decode_request rejected with exc: authenticated when the
    request was (exc.authenticated), plain otherwise."""
    if exc.authenticated and exc.box_id is not None:
        key = key_for_box(exc.box_id)
        if key is not None:
            response = {"error": exc.code, "last_counter": last_counter, "time": time}
            return encode_response(exc.box_id, exc.counter, response, key)
    return encode_plain_error(exc.code, exc.box_id or 0, exc.counter or 0)


def _reply_header(data, box_id, counter):
    got_box, got_counter, ftype, start = _parse_header(data)
    if ftype not in _RESPONSE_TYPES:
        raise ProtocolError(ERR_TYPE, "type 0x%02x" % ftype, got_box, got_counter)
    if ftype == codes.T_PLAIN_ERROR:
        reader = Reader(data, start)
        code = reader.uvarint()
        raise ProtocolError(code, "plain error frame from the server", got_box, got_counter, False, True)
    return got_box, got_counter, ftype, start


def decode_response(data, box_id, counter, box_key):
    """Decode the server's answer to our request (box_id, counter). Returns the response dict
    {ack, time, allow, config, commands, error, last_counter}; error != 0 comes from an authenticated error
    frame. Raises ProtocolError (remote=True for a plain error frame, whose code cannot be trusted)."""
    got_box, got_counter, ftype, start = _reply_header(data, box_id, counter)
    payload = _open(data, got_box, got_counter, ftype, start, box_key)
    if got_box != box_id:
        raise ProtocolError(ERR_WRONG_BOX, "reply for box %d" % got_box, got_box, got_counter, True)
    if got_counter != counter or ftype == codes.T_RESYNC_REPLY:
        raise ProtocolError(ERR_COUNTER_MISMATCH, "reply to %d" % got_counter, got_box, got_counter, True)
    try:
        reader = Reader(payload)
        if ftype == codes.T_ERROR:
            response = {"ack": 0, "time": 0, "allow": None, "config": {}, "commands": []}
            response["error"] = reader.uvarint()
            response["last_counter"] = reader.uvarint()
            response["time"] = reader.uvarint()
        else:
            response = decode_reply_body(reader)
            response["error"] = ERR_NONE
            response["last_counter"] = counter
        if reader.remaining():
            raise ProtocolError(ERR_MALFORMED, "trailing bytes")
    except ProtocolError as exc:
        raise _authenticated(exc, got_box, got_counter) from None
    except Exception as exc:
        raise _authenticated(ProtocolError(ERR_MALFORMED, repr(exc)), got_box, got_counter) from None
    return response


def encode_resync_reply(box_id, nonce, last_counter, time, box_key, last_seq=0, error=ERR_NONE):
    """Server's answer to a resync request: echoes the box's nonce (freshness), gives the last accepted
    counter (the box continues at last_counter + 1), the time, and the highest journal sequence number the
    server holds for the box (last_seq: a reflashed box continues its journal numbering above it, so its new
    records are not taken for duplicates). Authenticated, not encrypted.
    With a non-zero error (e.g. ERR_BOX_DISABLED): an error frame (counter 0) that echoes the nonce too,
    nonce | error | last_counter | time, so a recorded one cannot be replayed to a later resync."""
    if not isinstance(nonce, (bytes, bytearray)) or len(nonce) != NONCE_BYTES:
        raise ProtocolError(ERR_INVALID, "nonce must be %d bytes" % NONCE_BYTES)
    _check_id(last_counter, "last_counter")
    _check_id(time, "time")
    _check_id(last_seq, "last_seq")
    _check_id(error, "error")
    ftype = codes.T_ERROR if error else codes.T_RESYNC_REPLY
    buf = _header(box_id, 0, ftype)
    start = len(buf)
    buf.extend(nonce)
    if error:
        put_uvarint(buf, error)
    put_uvarint(buf, last_counter)
    put_uvarint(buf, time)
    if not error:
        put_uvarint(buf, last_seq)
    return _seal(buf, start, box_key, box_id, 0, ftype)


def decode_resync_reply(data, box_id, nonce, box_key):
    """Box side: -> {"error": 0, "last_counter", "time", "last_seq"} (the box sets its counter to
    max(own, last_counter + 1) and its next journal sequence to max(own, last_seq + 1)). A reply without
    last_seq (a server older than the field) reads as last_seq 0. An authenticated error frame that echoes
    the nonce (e.g. ERR_BOX_DISABLED) comes back as {"error": code, "last_counter", "time", "last_seq": 0};
    one that does not (replayed, or from a server older than the binding) raises ERR_NONCE."""
    got_box, got_counter, ftype, start = _reply_header(data, box_id, 0)
    payload = _open(data, got_box, got_counter, ftype, start, box_key)
    if got_box != box_id:
        raise ProtocolError(ERR_WRONG_BOX, "reply for box %d" % got_box, got_box, got_counter, True)
    try:
        reader = Reader(payload)
        if ftype not in (codes.T_RESYNC_REPLY, codes.T_ERROR) or got_counter != 0:
            raise ProtocolError(ERR_TYPE, "type 0x%02x" % ftype)
        if reader.remaining() < NONCE_BYTES or not equal(reader.take(NONCE_BYTES), nonce):
            raise ProtocolError(ERR_NONCE, "nonce not echoed")
        if ftype == codes.T_ERROR:
            result = {"error": reader.uvarint(), "last_counter": reader.uvarint(), "time": reader.uvarint(),
                      "last_seq": 0}
        else:
            result = {"error": ERR_NONE, "last_counter": reader.uvarint(), "time": reader.uvarint(),
                      "last_seq": reader.uvarint() if reader.remaining() else 0}
        if reader.remaining():
            raise ProtocolError(ERR_MALFORMED, "trailing bytes")
    except ProtocolError as exc:
        raise _authenticated(exc, got_box, got_counter) from None
    except Exception as exc:
        raise _authenticated(ProtocolError(ERR_MALFORMED, repr(exc)), got_box, got_counter) from None
    return result
