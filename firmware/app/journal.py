# Append-only, power-cut-safe record journal on flash.
#
# Records live in segment files "j/00000001", "j/00000002", ... each at most SEGMENT bytes (plus one
# record). On disk a record is
#     0xA5 | body length (1 byte) | seq (4 bytes, big-endian) | body | CRC-32 of all the previous bytes (4)
# and a body is the record's tag, the time (4 bytes) and its fields at their flash widths, as declared in
# protocol/schema.py (struct formats derived below).
# Sequence numbers strictly increase (gaps appear where records were evicted); the highest sequence the
# server acknowledged is kept in "j/ack", written to a temporary file then renamed over the old one.
#
# At boot every segment is scanned: the first record that is short, has a bad magic, a bad CRC or a
# sequence that does not increase ends the segment; the bytes after it (a write torn by a power cut) are
# dropped by rewriting the good prefix (temporary file + rename). A record whose append() returned is
# therefore never lost, and a record is never read back twice or under another sequence number.
#
# Space: when the journal would exceed its budget, records of class EVICT_FIRST go first (positions, oldest
# segment first), then EVICT_NEXT (events), and only then whole segments of badge decisions and trip
# summaries (KEEP), oldest first.
#
# Numbering after a reflash: the server keeps the (box, seq) of every record it stored, and a reflash
# erases the journal, which then numbers from 1 again: the server would drop the new records as
# duplicates. raise_seq(floor), given the RESYNC answer's last_seq + 1, sets an offset kept in "j/base"
# (written like "j/ack") that is added to the on-disk numbers on the way out: pending() and append() give
# base + seq and acknowledge() takes such a number, so the unacknowledged records (never sent: the RESYNC
# comes before any sync) and every later one go out at or above floor. The on-disk numbers never change.
import struct

from protocol import schema
from protocol.schema import CLASS, F_KIND, F_NAME, F_HIGH, F_LOW, F_WIDTH, FIELDS, FLAG, HASH8, NAME, TAG

try:
    from binascii import crc32
except ImportError:  # ports built without binascii.crc32
    crc32 = None  # type: ignore

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

MAGIC = const(0xA5)
HEAD = const(6)  # magic, length, seq
TAIL = const(4)  # crc32
SEGMENT = const(4096)
DIR = "j"

# tag -> struct format of the body after the tag byte: the time, then each field at its flash width
FORMATS = {}
SIZES = {}  # tag -> struct.calcsize of its format
# tag -> eviction class
CLASSES = {}
for _spec in schema.RECORDS:
    FORMATS[_spec[TAG]] = ">I" + "".join([f[F_WIDTH] for f in _spec[FIELDS]])
    SIZES[_spec[TAG]] = struct.calcsize(FORMATS[_spec[TAG]])
    CLASSES[_spec[TAG]] = _spec[CLASS]
WIDTHS = {"B": (0, 0xFF), "H": (0, 0xFFFF), "I": (0, 0xFFFFFFFF), "i": (-0x80000000, 0x7FFFFFFF)}


def _crc(data):
    if crc32 is not None:
        return crc32(data) & 0xFFFFFFFF
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def encode(record, seq):
    """The on-disk bytes of one record; raises ValueError on a record that cannot be stored."""
    spec = schema.by_name(record.get("type"))
    if spec is None:
        raise ValueError("type")
    t = record.get("t")
    if not isinstance(t, int) or isinstance(t, bool) or t < 0 or t > 0xFFFFFFFF:
        raise ValueError("t")
    values = [t]  # type: list
    for field in spec[FIELDS]:
        name = field[F_NAME]
        value = record.get(name)
        if field[F_KIND] == HASH8:
            if not isinstance(value, (bytes, bytearray)) or len(value) != schema.BADGE_BYTES:
                raise ValueError(name)
            values.append(bytes(value))
            continue
        if isinstance(value, bool):
            value = 1 if value else 0
        if not isinstance(value, int):
            raise ValueError(name)
        low, high = WIDTHS[field[F_WIDTH]]
        # MicroPython's struct truncates silently where CPython raises: check first; and refuse here what
        # the wire encoder would refuse at sync time.
        if value < low or value > high or value < field[F_LOW] or value > field[F_HIGH]:
            raise ValueError(name)
        values.append(value)
    tag = spec[TAG]
    body = bytes([tag]) + struct.pack(FORMATS[tag], *values)
    head = struct.pack(">BBI", MAGIC, len(body), seq) + body
    return head + struct.pack(">I", _crc(head))


def _older_format(spec, size):
    """The struct format of the first fields of spec whose size is `size` (a record written before the
    later fields were appended to the schema), or None."""
    fmt = ">I"
    for field in spec[FIELDS]:
        if struct.calcsize(fmt) == size:
            return fmt
        fmt += field[F_WIDTH]
    return None


def decode_body(body, seq):
    spec = schema.by_tag(body[0]) if body else None
    if spec is None:
        return None
    fmt = FORMATS[spec[TAG]]
    if SIZES[spec[TAG]] != len(body) - 1:
        fmt = _older_format(spec, len(body) - 1)
        if fmt is None:
            return None
    values = struct.unpack(fmt, body[1:])
    record = {"type": spec[NAME], "seq": seq, "t": values[0]}
    i = 1
    for field in spec[FIELDS]:
        kind = field[F_KIND]
        if i < len(values):
            value = values[i]
        else:  # appended after this record was written: 0 means unknown (docs/firmware.md)
            value = bytes(schema.BADGE_BYTES) if kind == HASH8 else 0
        record[field[F_NAME]] = bool(value) if kind == FLAG else value
        i += 1
    return record


def parse(data, after=0):
    """Yield (offset after the record, seq, body) for each valid record in data, in order.

    Stops at the first invalid byte. `after` is the sequence the first record must exceed.
    """
    pos = 0
    last = after
    n = len(data)
    while pos + HEAD + TAIL <= n:
        if data[pos] != MAGIC:
            return
        length = data[pos + 1]
        end = pos + HEAD + length + TAIL
        if length == 0 or end > n:
            return
        seq = struct.unpack_from(">I", data, pos + 2)[0]
        (crc,) = struct.unpack_from(">I", data, end - TAIL)
        if crc != _crc(data[pos:end - TAIL]) or seq <= last:
            return
        body = data[pos + HEAD:end - TAIL]
        yield end, seq, body
        last = seq
        pos = end


def _class_of(body):
    return CLASSES.get(body[0], schema.EVICT_FIRST)


class _Segment:
    # number, first seq, last seq, size in bytes, records per eviction class
    def __init__(self, number):
        self.number = number
        self.first = 0
        self.last = 0
        self.size = 0
        self.counts = [0, 0, 0]

    def name(self):
        return "%s/%08d" % (DIR, self.number)

    def add(self, seq, body, nbytes):
        if not self.first:
            self.first = seq
        self.last = seq
        self.size += nbytes
        self.counts[_class_of(body)] += 1

    def records(self):
        return self.counts[0] + self.counts[1] + self.counts[2]


class Journal:
    def __init__(self, fs, budget=512 * 1024, segment=SEGMENT):
        self.fs = fs
        self.budget = budget
        self.segment = segment
        self.segments = []
        self.acked = 0
        self.next_seq = 1  # on disk; the server sees base + seq
        self.base = 0
        # counters (reported in health / events)
        self.torn_bytes = 0  # bytes dropped at boot (torn tails, corruption)
        self.evicted = 0  # records dropped to stay within the budget
        self.rejected = 0  # records append() refused (bad fields)

    # -- boot ---------------------------------------------------------------------------------------
    def open(self):
        """Scan the segments, drop torn tails and acknowledged segments. Returns the record count."""
        fs = self.fs
        fs.mkdir(DIR)
        numbers = []
        for name in fs.listdir(DIR):
            if name.endswith(".tmp"):
                fs.remove(DIR + "/" + name)  # a rewrite or ack cut before its rename
            elif len(name) == 8 and name.isdigit():
                numbers.append(int(name))
        numbers.sort()
        self.acked = self._read_number(DIR + "/ack")
        self.base = self._read_number(DIR + "/base")
        self.segments = []
        last = 0
        for number in numbers:
            seg = _Segment(number)
            data = self._read(seg.name())
            good = 0
            for end, seq, body in parse(data, last):
                seg.add(seq, body, end - good)
                good = end
                last = seq
            if good < len(data):
                self.torn_bytes += len(data) - good
                self._rewrite(seg.name(), data[:good])
            self.segments.append(seg)
        self.next_seq = max(last, self.acked) + 1
        self._drop_acked()
        return self.backlog()

    def _read(self, name):
        f = self.fs.open(name, "rb")
        try:
            return f.read()
        finally:
            f.close()

    def _rewrite(self, name, data):
        tmp = name + ".tmp"
        f = self.fs.open(tmp, "wb")
        try:
            f.write(data)
        finally:
            f.close()
        self.fs.rename(tmp, name)

    def _read_number(self, name):
        try:
            text = self._read(name)
            return int(text) if text.strip().isdigit() else 0
        except (OSError, ValueError):
            return 0

    def _write_number(self, name, value):
        tmp = name + ".tmp"
        f = self.fs.open(tmp, "wb")
        try:
            f.write(("%d\n" % value).encode())
        finally:
            f.close()
        self.fs.rename(tmp, name)

    # -- writing ------------------------------------------------------------------------------------
    def append(self, record):
        """Commit one record; returns its sequence number (as sent: base included), or 0 when the record
        was refused."""
        seq = self.next_seq
        try:
            data = encode(record, seq)
        except ValueError:
            self.rejected += 1
            return 0
        self._make_room(len(data))
        seg = self.segments[-1] if self.segments else None
        if seg is None or (seg.size and seg.size + len(data) > self.segment):
            number = seg.number + 1 if seg else 1
            seg = _Segment(number)
            self.segments.append(seg)
        f = self.fs.open(seg.name(), "ab")
        try:
            f.write(data)
        finally:
            f.close()
        seg.add(seq, data[HEAD:-TAIL], len(data))
        self.next_seq = seq + 1
        return seq + self.base

    def size(self):
        total = 0
        for seg in self.segments:
            total += seg.size
        return total

    def _make_room(self, need):
        limit = self.budget - need
        for cls in (schema.EVICT_FIRST, schema.EVICT_NEXT):
            for seg in self.segments:
                if self.size() <= limit:
                    return
                if seg.counts[cls]:
                    self._compact(seg, cls)
        while self.size() > limit and len(self.segments) > 1:
            seg = self.segments.pop(0)
            self.evicted += seg.records()
            self.fs.remove(seg.name())

    def _compact(self, seg, cls):
        """Rewrite a segment without its records of eviction class <= cls (and the acknowledged ones)."""
        data = self._read(seg.name())
        keep = []
        fresh = _Segment(seg.number)
        start = 0
        for end, seq, body in parse(data):
            if seq > self.acked and _class_of(body) > cls:
                keep.append(data[start:end])
                fresh.add(seq, body, end - start)
            else:
                self.evicted += 1 if seq > self.acked else 0
            start = end
        self._rewrite(seg.name(), b"".join(keep))
        seg.first, seg.last, seg.size, seg.counts = fresh.first, fresh.last, fresh.size, fresh.counts

    # -- reading and acknowledgement ---------------------------------------------------------------
    def pending(self, limit=100):
        """The oldest unacknowledged records (dicts with type, seq, t and fields; seq as sent, base
        included), at most `limit`."""
        return list(self.iter_pending(limit))

    def iter_pending(self, limit=100):
        """pending() one record at a time: the frame encoder takes them as they come, so a sync never
        holds hundreds of record dicts at once (heap)."""
        n = 0
        for seg in self.segments:
            if seg.last <= self.acked:
                continue
            for _end, seq, body in parse(self._read(seg.name())):
                if seq <= self.acked:
                    continue
                record = decode_body(body, seq + self.base)
                if record is not None:
                    yield record
                    n += 1
                    if n >= limit:
                        return

    def backlog(self):
        """Unacknowledged records (the partly acknowledged segment counted from its records)."""
        total = 0
        for seg in self.segments:
            if seg.first > self.acked:
                total += seg.records()
            elif seg.last > self.acked:
                for _end, seq, _body in parse(self._read(seg.name())):
                    if seq > self.acked:
                        total += 1
        return total

    def acknowledge(self, seq):
        """The server holds every record up to seq (as sent): store that atomically, delete the segments it
        covers."""
        seq = min(seq - self.base, self.next_seq - 1)
        if seq <= self.acked:
            return False
        self._write_number(DIR + "/ack", seq)
        self.acked = seq
        self._drop_acked()
        return True

    def _drop_acked(self):
        while self.segments and self.segments[0].last <= self.acked:
            if len(self.segments) == 1 and self.segments[0].size and self.segments[0].size < self.segment:
                # The segment being written: keep appending to it; its records read as acknowledged.
                break
            seg = self.segments.pop(0)
            self.fs.remove(seg.name())

    def next_seq_out(self):
        """The sequence number the next record will go out with (base included)."""
        return self.next_seq + self.base

    def raise_seq(self, floor):
        """Make the unacknowledged records and every later one go out numbered at or above `floor` (the
        RESYNC answer's last_seq + 1): nothing changes when the next number is already there. The offset
        is stored atomically before this returns. True when the numbering moved."""
        if not isinstance(floor, int) or floor <= self.next_seq + self.base:
            return False
        self._write_number(DIR + "/base", floor - 1 - self.acked)
        self.base = floor - 1 - self.acked
        return True
