# Plaintext payload codecs: journal records and health (sync request), reply sections (sync reply).
# Byte layouts are in docs/protocol.md. Records are dicts (see docs/architecture.md); position samples are
# grouped on the wire into TRACK records (consecutive sequence numbers) and delta-encoded.
from protocol import codes, schema
from protocol.errors import ERR_INVALID, ERR_MALFORMED, ERR_TOO_MANY, ERR_TRUNCATED, ProtocolError
from protocol.schema import (
    BADGE_BYTES,
    F_HIGH,
    F_KIND,
    F_LOW,
    F_NAME,
    FIELDS,
    FLAG,
    HASH8,
    LAT_LIMIT,
    LON_LIMIT,
    MAX_SIGNED,
    MAX_SPEED,
    TAG,
    TRACK,
    UINT,
    CODEC,
)
from protocol.predict import K_LAT, K_LON, MAX_DT, MIN_COS, SIN14, predict, sin14
from protocol.wire import MAX_UVARINT, MAX_VARINT_BYTES, put_svarint, put_uvarint, uvarint_size, zigzag

MAX_RECORDS = 1024  # per request frame
MAX_TEXT = 32  # firmware version string, config names (UTF-8 bytes)
MAX_ENTRIES = 1024  # allow-list entries + removals, config pairs, commands per reply

HEALTH_FIELDS = ("csq", "mv", "backlog", "gps", "uptime", "reset", "allow", "rx")

def _bad(what):
    return ProtocolError(ERR_INVALID, what)


def _uint(d, key, limit=MAX_UVARINT):
    v = d[key]
    if type(v) is not int or v < 0 or v > limit:
        raise _bad("%s=%r" % (key, v))
    return v


def _sint(d, key, low=-MAX_SIGNED, high=MAX_SIGNED):
    v = d[key]
    if type(v) is not int or v < low or v > high:
        raise _bad("%s=%r" % (key, v))
    return v


def _hash8(d, key):
    v = d[key]
    if not isinstance(v, (bytes, bytearray)) or len(v) != BADGE_BYTES:
        raise _bad("%s must be %d bytes" % (key, BADGE_BYTES))
    return v


def _put_text(buf, text):
    if not isinstance(text, str):
        raise _bad("text %r" % (text,))
    raw = text.encode("utf-8")
    if len(raw) > MAX_TEXT:
        raise _bad("text longer than %d bytes" % MAX_TEXT)
    put_uvarint(buf, len(raw))
    buf.extend(raw)


# ---------------------------------------------------------------------------------------------- health


def encode_health(buf, health):
    """Length-prefixed block: fw text, then the HEALTH_FIELDS as varints (new fields are appended)."""
    body = bytearray()
    try:
        _put_text(body, health["fw"])
        for key in HEALTH_FIELDS:
            if key in health or key not in ("allow", "rx"):
                put_uvarint(body, _uint(health, key))
            else:
                put_uvarint(body, 0)
    except (KeyError, TypeError) as exc:
        raise _bad("health: %r" % (exc,)) from None
    put_uvarint(buf, len(body))
    buf.extend(body)


def decode_health(reader):
    block = reader.sub()
    health = {"fw": block.text(MAX_TEXT)}
    for key in HEALTH_FIELDS:
        # An older box sends fewer fields (0 = unknown); a newer one more (ignored).
        health[key] = block.uvarint() if block.remaining() else 0
    return health


# --------------------------------------------------------------------------------------------- records


def _value(r, field):
    """r's value of one declared field (protocol.schema), checked against its kind and range."""
    kind = field[F_KIND]
    if kind == HASH8:
        return _hash8(r, field[F_NAME])
    if kind == FLAG:
        v = r[field[F_NAME]]
        if v is not True and v is not False:
            raise _bad("%s=%r" % (field[F_NAME], v))
        return v
    if kind == UINT:
        return _uint(r, field[F_NAME], field[F_HIGH])
    return _sint(r, field[F_NAME], field[F_LOW], field[F_HIGH])


def _put_body(buf, fields, r):
    """A BODY record's fields in declared order; a FLAG rides in the low bit of the UINT after it."""
    flag = -1
    for field in fields:
        v = _value(r, field)
        kind = field[F_KIND]
        if kind == FLAG:
            flag = 1 if v else 0
        elif kind == HASH8:
            buf.extend(v)
        elif kind == UINT:
            if flag >= 0:
                v = (v << 1) | flag
                flag = -1
            put_uvarint(buf, v)
        else:
            put_svarint(buf, v)


_POS = schema.by_name("pos")
_POS_FIELDS = _POS[FIELDS]  # lat, lon, speed, course: the TRACK codec knows them by position
_POS_TAG = _POS[TAG]


def _course_delta(c, prev):
    d = (c - prev) % 360
    return d - 360 if d >= 180 else d


DT_INLINE = 15  # a sample's time step 1..15 s travels in the low 4 bits of its speed varint


def _put_sample(buf, first, dt, dspeed, dcourse, rlat, rlon):
    if first:
        put_svarint(buf, dspeed)
    elif 1 <= dt <= DT_INLINE:
        put_uvarint(buf, (zigzag(dspeed) << 4) | dt)
    else:
        put_uvarint(buf, zigzag(dspeed) << 4)
        put_svarint(buf, dt)
    put_svarint(buf, dcourse)
    put_svarint(buf, rlat)
    put_svarint(buf, rlon)


class RecordPacker:
    """Appends the records section of a sync request to `out`, stopping before the first record that would
    make len(out) exceed `budget` or the count exceed `max_records`. Feed records with add() (returns
    False when the record did not fit and nothing more should be added), then call finish().
    Layout: docs/protocol.md, "Records"."""

    def __init__(self, out, budget, max_records=MAX_RECORDS):
        self.out = out
        self.budget = budget
        self.max_records = max_records
        self.count = 0
        # Chain: every record header codes its seq and time against the previous record's (or, after a
        # track, against the track's last sample); starts from zero.
        self.c_seq = 0
        self.c_t = 0
        self.last_seq = -1
        # Position chain: the previous sample in the frame (starts from zero).
        self.p_lat = 0
        self.p_lon = 0
        self.p_speed = 0
        self.p_course = 0
        # Open track: header values, sample count, samples already encoded.
        self.tr_count = 0
        self.tr_dseq = 0
        self.tr_dt = 0
        self.tr_body = bytearray()

    def _track_size(self, count, dseq, dt, body_len):
        if not count:
            return 0
        inner = uvarint_size(dseq) + uvarint_size(zigzag(dt)) + uvarint_size(count) + body_len
        return 1 + uvarint_size(inner) + inner

    def _open_size(self):
        return self._track_size(self.tr_count, self.tr_dseq, self.tr_dt, len(self.tr_body))

    def _flush(self):
        if not self.tr_count:
            return
        out = self.out
        inner = uvarint_size(self.tr_dseq) + uvarint_size(zigzag(self.tr_dt)) + uvarint_size(self.tr_count)
        inner += len(self.tr_body)
        out.append(_POS[TAG])
        put_uvarint(out, inner)
        put_uvarint(out, self.tr_dseq)
        put_svarint(out, self.tr_dt)
        put_uvarint(out, self.tr_count)
        out.extend(self.tr_body)
        self.tr_count = 0
        self.tr_body = bytearray()

    def add(self, r):
        if self.count >= self.max_records:
            return False
        try:
            kind = r["type"]
            seq = _uint(r, "seq")
            t = _uint(r, "t")
            if seq <= self.last_seq:
                raise _bad("seq %d not above %d" % (seq, self.last_seq))
            spec = schema.by_name(kind)
            if spec is None:
                raise _bad("record type %r" % (kind,))
            if spec[CODEC] == TRACK:
                return self._add_pos(r, seq, t)
            body = bytearray()
            put_uvarint(body, seq - self.c_seq)
            put_svarint(body, t - self.c_t)
            _put_body(body, spec[FIELDS], r)
        except (KeyError, TypeError) as exc:
            raise _bad("record %r: %r" % (r.get("type") if isinstance(r, dict) else r, exc)) from None
        size = 1 + uvarint_size(len(body)) + len(body)
        if len(self.out) + self._open_size() + size > self.budget:
            return False
        self._flush()
        self.out.append(spec[TAG])
        put_uvarint(self.out, len(body))
        self.out.extend(body)
        self.c_seq = self.last_seq = seq
        self.c_t = t
        self.count += 1
        return True

    def _add_pos(self, r, seq, t):
        fields = _POS_FIELDS
        lat = _value(r, fields[0])
        lon = _value(r, fields[1])
        speed = _value(r, fields[2])
        course = _value(r, fields[3])
        sample = bytearray()
        continues = self.tr_count and seq == self.last_seq + 1
        dt = t - self.c_t
        if continues:
            plat, plon = predict(self.p_lat, self.p_speed, self.p_course, speed, course, dt)
        else:
            plat = plon = 0
        _put_sample(sample, not continues, dt, speed - self.p_speed, _course_delta(course, self.p_course),
                    lat - self.p_lat - plat, lon - self.p_lon - plon)
        if continues:
            projected = self._track_size(self.tr_count + 1, self.tr_dseq, self.tr_dt, len(self.tr_body) + len(sample))
        else:
            projected = self._open_size() + self._track_size(1, seq - self.c_seq, dt, len(sample))
        if len(self.out) + projected > self.budget:
            return False
        if not continues:
            self._flush()
            self.tr_dseq = seq - self.c_seq
            self.tr_dt = dt
        self.tr_body.extend(sample)
        self.tr_count += 1
        self.p_lat = lat
        self.p_lon = lon
        self.p_speed = speed
        self.p_course = course
        self.c_seq = self.last_seq = seq
        self.c_t = t
        self.count += 1
        return True

    def finish(self):
        self._flush()
        return self.count


_BY_TAG = {}  # tag -> record type, for the decoder (the server's hot path)
for _spec in schema.RECORDS:
    _BY_TAG[_spec[TAG]] = _spec

_SIN450 = None  # sin14(d) for d = 0..449 (cosine = _SIN450[d + 90]), built on the first track decoded


def _sin450():
    global _SIN450
    if _SIN450 is None:
        _SIN450 = tuple(sin14(d) for d in range(450))
    return _SIN450


def _uvarint_tail(buf, p, b):
    """The rest of a varint whose first byte b (at buf[p - 1]) has its high bit set: -> (value, next p).
    Same rules as wire.Reader.uvarint; reading past buf raises IndexError (the caller's truncation)."""
    result = b & 0x7F
    shift = 7
    while True:
        b = buf[p]
        p += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            break
        shift += 7
        if shift >= 7 * MAX_VARINT_BYTES:
            raise ProtocolError(ERR_MALFORMED, "varint too long in track")
    if b == 0:
        raise ProtocolError(ERR_MALFORMED, "non-canonical varint in track")
    return result, p


def _track(buf, count, seq, t, prev, out, rows):
    """Decode `count` samples from buf (bytes: the rest of a track body) after the chain state prev =
    [lat, lon, speed, course] (updated). Appends dicts, or (tag, seq, t, lat, lon, speed, course) tuples
    when rows, to out; returns (seq, t, bytes used). The arithmetic is predict.predict's, inlined: one loop for
    both interpreters, varints of one or two bytes read in place, each sample's velocity vector computed
    once (it serves the predictions of both its neighbours)."""
    sin = _sin450()
    append = out.append
    p_lat, p_lon, p_speed, p_course = prev
    n0 = e0 = 0
    p = 0
    for i in range(count):
        if i:
            w = buf[p]
            p += 1
            if w & 0x80:
                y = buf[p]
                if y & 0x80 or not y:
                    w, p = _uvarint_tail(buf, p, w)
                else:
                    w = (w & 0x7F) | (y << 7)
                    p += 1
            dt = w & 15
            if not dt:
                z = buf[p]
                p += 1
                if z & 0x80:
                    z, p = _uvarint_tail(buf, p, z)
                dt = -((z + 1) >> 1) if z & 1 else z >> 1
            w >>= 4
            speed = p_speed + (-((w + 1) >> 1) if w & 1 else w >> 1)
            t += dt
            seq += 1
        else:
            z = buf[p]
            p += 1
            if z & 0x80:
                z, p = _uvarint_tail(buf, p, z)
            speed = p_speed + (-((z + 1) >> 1) if z & 1 else z >> 1)
        z = buf[p]
        p += 1
        if z & 0x80:
            z, p = _uvarint_tail(buf, p, z)
        course = (p_course + (-((z + 1) >> 1) if z & 1 else z >> 1)) % 360
        z = buf[p]
        p += 1
        if z & 0x80:
            y = buf[p]
            if y & 0x80 or not y:
                z, p = _uvarint_tail(buf, p, z)
            else:
                z = (z & 0x7F) | (y << 7)
                p += 1
        rlat = -((z + 1) >> 1) if z & 1 else z >> 1
        z = buf[p]
        p += 1
        if z & 0x80:
            y = buf[p]
            if y & 0x80 or not y:
                z, p = _uvarint_tail(buf, p, z)
            else:
                z = (z & 0x7F) | (y << 7)
                p += 1
        rlon = -((z + 1) >> 1) if z & 1 else z >> 1
        if t < 0 or speed < 0 or speed > MAX_SPEED:
            raise ProtocolError(ERR_MALFORMED, "track sample %d" % i)
        # this sample's GPS velocity (cm/s * 2**14, north and east), as predict() computes it
        n1 = speed * sin[course + 90]
        e1 = speed * sin[course]
        if i and 0 < dt <= MAX_DT:
            rlat += (n0 + n1) * dt * K_LAT // (1 << 29)
            # cos_lat14(p_lat)
            a = p_lat if p_lat >= 0 else -p_lat
            d = a // 10000000
            if d < 90:
                c = SIN14[90 - d]
                c += (SIN14[89 - d] - c) * (a - d * 10000000) // 10000000
                if c >= MIN_COS:
                    rlon += (e0 + e1) * dt * K_LON // (c << 15)
        p_lat += rlat
        p_lon += rlon
        if p_lat < -LAT_LIMIT or p_lat > LAT_LIMIT or p_lon < -LON_LIMIT or p_lon > LON_LIMIT:
            raise ProtocolError(ERR_MALFORMED, "position out of range")
        p_speed = speed
        p_course = course
        n0 = n1
        e0 = e1
        if rows:
            append((_POS_TAG, seq, t, p_lat, p_lon, speed, course))
        else:
            append({"type": "pos", "seq": seq, "t": t, "lat": p_lat, "lon": p_lon, "speed": speed,
                    "course": course})
    prev[0] = p_lat
    prev[1] = p_lon
    prev[2] = p_speed
    prev[3] = p_course
    return seq, t, p


def decode_records(reader, rows=False):
    """Read the records section to the end of reader. Returns (records, skipped, last_seq): skipped counts
    records of unknown tags (newer boxes), passed over thanks to their length prefix; last_seq is the
    highest sequence number in the frame, skipped records included (None for no record at all).
    rows=True (the server): every record is a tuple (tag, seq, t, fields in protocol.schema order) instead
    of a dict: one shape from the decoder to the store, and no dict per position sample. The tag, an int,
    binds to SQLite for free where a type name would cost a text copy per position (docs/bench.md)."""
    records = []
    skipped = 0
    c_seq = c_t = 0
    last_seq = -1
    prev = [0, 0, 0, 0]  # position chain: lat, lon, speed, course of the previous sample in the frame
    while reader.remaining():
        tag = reader.u8()
        body = reader.sub()
        # Every record, known or not, starts with the chained seq and time (docs/protocol.md).
        seq = c_seq + body.uvarint()
        t = c_t + body.svarint()
        if seq <= last_seq or t < 0:
            raise ProtocolError(ERR_MALFORMED, "record seq/time")
        c_seq = seq
        c_t = t
        spec = _BY_TAG.get(tag)
        if spec is None:
            skipped += 1
            continue
        last_seq = seq
        if spec[CODEC] == TRACK:
            count = body.uvarint()
            if count == 0:
                raise ProtocolError(ERR_MALFORMED, "empty track")
            if len(records) + count > MAX_RECORDS:
                raise ProtocolError(ERR_TOO_MANY, "track of %d samples" % count)
            buf = body.take(body.remaining())
            try:
                seq, t, used = _track(buf, count, seq, t, prev, records, rows)
            except IndexError:  # a sample runs past the track's length
                raise ProtocolError(ERR_TRUNCATED, "track of %d samples" % count) from None
            if used != len(buf):
                raise ProtocolError(ERR_MALFORMED, "trailing bytes in track")
            c_seq = last_seq = seq
            c_t = t
        else:
            values = [spec[TAG], seq, t]
            flag_at = 0
            for field in spec[FIELDS]:
                kind = field[F_KIND]
                if kind == FLAG:
                    flag_at = len(values)  # its bit comes with the next field
                    values.append(False)
                    continue
                if kind == HASH8:
                    v = body.take(BADGE_BYTES)
                elif kind == UINT:
                    v = body.uvarint()
                    if flag_at:
                        values[flag_at] = bool(v & 1)
                        v >>= 1
                        flag_at = 0
                else:
                    v = body.svarint()
                values.append(v)
            # Fields appended by a newer version of a known record are ignored (body is length-bounded).
            records.append(tuple(values) if rows else schema.as_dict(values))
        if len(records) > MAX_RECORDS:
            raise ProtocolError(ERR_TOO_MANY)
    return records, skipped, (c_seq if records or skipped else None)


# ------------------------------------------------------------------------------------------ reply body


def _put_entry(buf, e):
    put_uvarint(buf, _uint(e, "id"))
    buf.extend(_hash8(e, "badge"))
    put_uvarint(buf, _uint(e, "kind", 0xFF))
    start = _uint(e, "start")
    end = _uint(e, "end")
    put_uvarint(buf, start)
    put_svarint(buf, end - start)
    put_uvarint(buf, _uint(e, "reservation"))


def _section(out, tag, body):
    out.append(tag)
    put_uvarint(out, len(body))
    out.extend(body)


def encode_reply_body(out, response):
    try:
        put_uvarint(out, _uint(response, "ack"))
        put_uvarint(out, _uint(response, "time"))
        allow = response.get("allow")
        if allow is not None:
            body = bytearray()
            put_uvarint(body, _uint(allow, "version"))
            full = allow["full"]
            if full is not True and full is not False:
                raise _bad("allow full=%r" % (full,))
            put_uvarint(body, 1 if full else 0)
            add = allow.get("add") or []
            remove = allow.get("remove") or []
            if len(add) + len(remove) > MAX_ENTRIES:
                raise ProtocolError(ERR_TOO_MANY, "allow-list entries")
            put_uvarint(body, len(add))
            for e in add:
                _put_entry(body, e)
            put_uvarint(body, len(remove))
            for rid in remove:
                if type(rid) is not int or rid < 0 or rid > MAX_UVARINT:
                    raise _bad("remove id %r" % (rid,))
                put_uvarint(body, rid)
            _section(out, codes.S_ALLOW, body)
        config = response.get("config") or {}
        if config:
            if len(config) > MAX_ENTRIES:
                raise ProtocolError(ERR_TOO_MANY, "config")
            body = bytearray()
            put_uvarint(body, len(config))
            for name in sorted(config):
                _put_text(body, name)
                put_svarint(body, _sint(config, name))
            _section(out, codes.S_CONFIG, body)
        commands = response.get("commands") or []
        if commands:
            if len(commands) > MAX_ENTRIES:
                raise ProtocolError(ERR_TOO_MANY, "commands")
            body = bytearray()
            put_uvarint(body, len(commands))
            for c in commands:
                put_uvarint(body, _uint(c, "cmd", 0xFFFF))
                put_svarint(body, _sint(c, "arg"))
            _section(out, codes.S_COMMANDS, body)
    except (KeyError, TypeError, AttributeError) as exc:
        raise _bad("response: %r" % (exc,)) from None


def _count(reader):
    n = reader.uvarint()
    if n > MAX_ENTRIES:
        raise ProtocolError(ERR_TOO_MANY, "%d entries" % n)
    return n


def decode_reply_body(reader):
    response = {"ack": reader.uvarint(), "time": reader.uvarint(), "allow": None, "config": {}, "commands": []}
    while reader.remaining():
        tag = reader.u8()
        body = reader.sub()
        if tag == codes.S_ALLOW:
            allow = {"version": body.uvarint(), "full": bool(body.uvarint() & 1), "add": [], "remove": []}
            for _ in range(_count(body)):
                e = {"id": body.uvarint(), "badge": body.take(BADGE_BYTES), "kind": body.uvarint()}
                e["start"] = body.uvarint()
                e["end"] = e["start"] + body.svarint()
                e["reservation"] = body.uvarint()
                if e["end"] < 0:
                    raise ProtocolError(ERR_MALFORMED, "entry end")
                allow["add"].append(e)
            for _ in range(_count(body)):
                allow["remove"].append(body.uvarint())
            response["allow"] = allow
        elif tag == codes.S_CONFIG:
            for _ in range(_count(body)):
                name = body.text(MAX_TEXT)
                response["config"][name] = body.svarint()
        elif tag == codes.S_COMMANDS:
            for _ in range(_count(body)):
                response["commands"].append({"cmd": body.uvarint(), "arg": body.svarint()})
        # Unknown sections (newer server features) are skipped: their length is known.
    return response
