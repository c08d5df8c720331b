# The journal record types, declared once. The journal's flash format (firmware/app/journal.py), the wire
# codec (protocol/records.py) and the server's store dispatch (server/ingest/store.py) are read from this
# table. A new field is appended at the end of its record (older decoders skip it; the journal reads a
# record written before it with the field at 0, so 0 must mean "unknown"); the box code that fills it
# and the server code that stores it are the only other places to change. TRACK's fields are its codec's.
#
# A record type: (name, tag, journal class, fields, codec)
#   tag            its byte on the wire (records section) and on flash (body's first byte); never renumber
#   journal class  what goes first when flash runs short: EVICT_FIRST, then EVICT_NEXT; KEEP goes last
#   codec          BODY: the fields one after the other; TRACK: position samples, delta-coded in runs
# A field: (name, kind, flash width, low, high)
#   kind           UINT / SINT (varints on the wire), HASH8 (8 bytes), FLAG (bool carried in the low bit of
#                  the next field, which must be a UINT)
#   flash width    its struct code in the journal (">I" time first): the journal also refuses what the
#                  width cannot hold; the wire takes the whole [low, high] range
#   low, high      what the encoders accept
# Every record also has `seq` and `t` (epoch s), in every format, before its fields.
# Tuples and consts only: this is read at import on the box (no per-record allocation).
from protocol.wire import MAX_UVARINT

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

# Indexes into a record type
NAME = const(0)
TAG = const(1)
CLASS = const(2)
FIELDS = const(3)
CODEC = const(4)

# Indexes into a field
F_NAME = const(0)
F_KIND = const(1)
F_WIDTH = const(2)
F_LOW = const(3)
F_HIGH = const(4)

UINT = const(0)
SINT = const(1)
HASH8 = const(2)
FLAG = const(3)

EVICT_FIRST = const(0)
EVICT_NEXT = const(1)
KEEP = const(2)

BODY = const(0)
TRACK = const(1)

BADGE_BYTES = const(8)
MAX_SIGNED = (1 << 62) - 1  # |value| of a zigzag field
LAT_LIMIT = const(900000000)  # 90 degrees in 1e-7 degrees
LON_LIMIT = const(1800000000)
MAX_SPEED = const(100000)  # cm/s (3600 km/h): anything above is a bug, not a car

RECORDS = (  # type: tuple
    ("badge", 0x01, KEEP, (
        ("badge", HASH8, "8s", 0, 0),
        ("granted", FLAG, "B", 0, 1),
        ("reason", UINT, "B", 0, 0xFFFF),  # protocol.codes.REASON_*
    ), BODY),
    ("trip_start", 0x02, KEEP, (
        ("trip", UINT, "I", 0, MAX_UVARINT),  # box-local trip number
        ("badge", HASH8, "8s", 0, 0),
        ("reservation", UINT, "I", 0, MAX_UVARINT),  # 0: unplanned
        ("odo_m", UINT, "I", 0, MAX_UVARINT),
    ), BODY),
    ("trip_end", 0x03, KEEP, (
        ("trip", UINT, "I", 0, MAX_UVARINT),
        ("odo_m", UINT, "I", 0, MAX_UVARINT),
        ("distance_m", UINT, "I", 0, MAX_UVARINT),
        ("reason", UINT, "B", 0, 0xFFFF),  # protocol.codes.END_*
    ), BODY),
    ("pos", 0x04, EVICT_FIRST, (
        ("lat", SINT, "i", -LAT_LIMIT, LAT_LIMIT),  # 1e-7 degrees
        ("lon", SINT, "i", -LON_LIMIT, LON_LIMIT),
        ("speed", UINT, "H", 0, MAX_SPEED),  # cm/s
        ("course", UINT, "H", 0, 359),  # degrees
    ), TRACK),
    ("event", 0x05, EVICT_NEXT, (
        ("code", UINT, "H", 0, 0xFFFF),  # protocol.codes.EV_*
        ("value", SINT, "i", -MAX_SIGNED, MAX_SIGNED),
    ), BODY),
)


def by_name(name):
    """The record type called `name`, or None."""
    for spec in RECORDS:
        if spec[NAME] == name:
            return spec
    return None


def by_tag(tag):
    """The record type with this tag, or None (a newer box's record)."""
    for spec in RECORDS:
        if spec[TAG] == tag:
            return spec
    return None


def field_names(spec):
    """The names of a record type's fields, in order (seq and t not included)."""
    return tuple(f[F_NAME] for f in spec[FIELDS])


def as_dict(row):
    """A record as a dict ({"type", "seq", "t", field: value}) from its row form (tag, seq, t, fields in
    declared order), the shape `decode_request(..., rows=True)` gives."""
    spec = by_tag(row[0])
    record = {"type": spec[NAME], "seq": row[1], "t": row[2]}
    i = 3
    for field in spec[FIELDS]:
        record[field[F_NAME]] = row[i]
        i += 1
    return record
