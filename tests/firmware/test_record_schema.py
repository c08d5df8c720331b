# protocol/schema.py declares each record type once; the journal's flash format and the wire codec are
# derived from it. These tests hold both to the table and the flash bytes to what boxes already store.
from support import temp_dir

from app import journal
from hal.fsdir import DirFS
from protocol import frame, schema

BADGE = b"\x01\x02\x03\x04\x05\x06\x07\x08"
KEY = bytes(range(16))

# On-disk bytes written by the journal before the schema existed (seq 100..104): a box updated in the
# field reads its old journal unchanged.
FLASH = (
    ({"type": "badge", "t": 1772442000, "badge": BADGE, "granted": True, "reason": 1},
     "a50f000000640169a55190010203040506070801018a90b63e"),
    ({"type": "trip_start", "t": 1772442001, "trip": 7, "badge": BADGE, "reservation": 42, "odo_m": 123456},
     "a519000000650269a551910000000701020304050607080000002a0001e2408f26396b"),
    ({"type": "trip_end", "t": 1772442900, "trip": 7, "odo_m": 130000, "distance_m": 6544, "reason": 2},
     "a512000000660369a55514000000070001fbd000001990023ffe4800"),
    ({"type": "pos", "t": 1772442002, "lat": 488566000, "lon": -23522000, "speed": 1250, "course": 359},
     "a511000000670469a551921d1eecf0fe99153004e20167ac5b10bb"),
    ({"type": "event", "t": 1772442003, "code": 3, "value": -10850},
     "a50b000000680569a551930003ffffd59ea414c91f"),
)


def _hex(data):
    return "".join(["%02x" % b for b in data])


def test_flash_format_of_every_record_type_is_unchanged():
    for i in range(len(FLASH)):
        record, expected = FLASH[i]
        assert _hex(journal.encode(record, 100 + i)) == expected, record["type"]


def test_the_table_declares_each_type_once_with_distinct_tags():
    names = [spec[schema.NAME] for spec in schema.RECORDS]
    tags = [spec[schema.TAG] for spec in schema.RECORDS]
    assert sorted(names) == sorted(set(names)) and sorted(tags) == sorted(set(tags))
    assert sorted(names) == ["badge", "event", "pos", "trip_end", "trip_start"]
    for spec in schema.RECORDS:
        assert spec[schema.TAG] in journal.FORMATS
        fields = spec[schema.FIELDS]
        for i in range(len(fields)):
            if fields[i][schema.F_KIND] == schema.FLAG:  # its bit rides on the next field
                assert fields[i + 1][schema.F_KIND] == schema.UINT


def _sample(spec, t):
    """A record of this type with a value for every declared field, inside its range and flash width."""
    r = {"type": spec[schema.NAME], "t": t}
    for field in spec[schema.FIELDS]:
        kind = field[schema.F_KIND]
        if kind == schema.HASH8:
            r[field[schema.F_NAME]] = BADGE
        elif kind == schema.FLAG:
            r[field[schema.F_NAME]] = True
        elif kind == schema.UINT:
            r[field[schema.F_NAME]] = min(field[schema.F_HIGH], 200)
        else:
            r[field[schema.F_NAME]] = max(field[schema.F_LOW], -1000)
    return r


def test_every_declared_type_round_trips_through_flash_and_wire():
    records = []
    seq = 1
    for spec in schema.RECORDS:
        r = _sample(spec, 1772442000 + seq)
        got = journal.decode_body(journal.encode(r, seq)[journal.HEAD:-journal.TAIL], seq)
        r["seq"] = seq
        assert got == r, spec[schema.NAME]
        records.append(r)
        seq += 1
    data = frame.encode_request(7, 1, records, {"fw": "t", "csq": 1, "mv": 1, "backlog": 1, "gps": 0,
                                                "uptime": 1, "reset": 0}, KEY)
    assert frame.decode_request(data, lambda box_id: KEY).records == records


def test_journal_refuses_a_value_the_wire_would_refuse_so_it_cannot_poison_a_sync():
    j = journal.Journal(DirFS(temp_dir("schema")))
    j.open()
    # course 360 fits the journal's 16 bits but is outside the declared 0..359: refused when written,
    # not found unsendable in the backlog later.
    bad = {"type": "pos", "t": 1772442000, "lat": 0, "lon": 0, "speed": 0, "course": 360}
    assert j.append(bad) == 0 and j.rejected == 1
    assert j.append(dict(bad, course=359)) == 1


def test_a_record_written_before_a_field_was_appended_still_reads_with_that_field_zero():
    # trip_end as a firmware whose schema ended at distance_m would have written it: the body one byte
    # (reason) short. The CRC vouches for the bytes: an older format, not a torn write.
    record, _ = FLASH[2]
    body = journal.encode(record, 102)[journal.HEAD:-journal.TAIL]
    older = journal.decode_body(body[:-1], 102)
    assert older == dict(record, seq=102, reason=0)
    assert journal.decode_body(body[:-2], 102) is None  # not a whole number of fields: refused
    assert journal.decode_body(body, 102) == dict(record, seq=102)
