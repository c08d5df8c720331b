"""Step 4: store each record kind. The dispatch is derived from `protocol.schema.RECORDS`: every declared
type has a store function here (checked at import), TRACK types take a run of consecutive records (one
executemany), BODY types one record. A store function returns how many records it stored; the rest of
what it was given is dropped (a position outside every trip, a trip end without its start).
A record is (tag, seq, t, fields in schema order); each function slices the fields it stores, so a field
appended to the schema reaches here without breaking it."""

from operator import itemgetter

from protocol import schema
from server.ingest import MAX_TIME
from server.queries import badge_events, boxes, positions, trips

_TAG = itemgetter(0)
_T = itemgetter(2)


def store_pos(db, box_id, run):
    """Positions: kept only inside a trip of the box (CNIL)."""
    return positions.add_rows(db, box_id, run)[0]


def store_badge(db, box_id, record):
    t = record[2]
    badge, granted, reason = record[3:6]
    badge_events.add(db, box_id, t, badge, granted, reason)
    return 1


def store_trip_start(db, box_id, record):
    """An unplanned trip becomes an unplanned reservation (queries.trips)."""
    t = record[2]
    trip, badge, reservation, odo_m = record[3:7]
    return 0 if trips.record_start(db, box_id, trip, t, badge, reservation, odo_m) is None else 1


def store_trip_end(db, box_id, record):
    t = record[2]
    trip, odo_m, distance_m, reason = record[3:7]
    return 0 if trips.record_end(db, box_id, trip, t, odo_m, distance_m, reason) is None else 1


def store_event(db, box_id, record):
    t = record[2]
    code, value = record[3:5]
    boxes.add_event(db, box_id, t, code, value)
    return 1


def _dispatch():
    """(tag -> store function, tags stored in runs), from protocol.schema.RECORDS."""
    stores = {}
    runs = set()
    for spec in schema.RECORDS:
        name = spec[schema.NAME]
        store = globals().get("store_" + name)
        if store is None:
            raise ImportError("protocol.schema declares %r: server.ingest.store needs store_%s" % (name, name))
        stores[spec[schema.TAG]] = store
        if spec[schema.CODEC] == schema.TRACK:
            runs.add(spec[schema.TAG])
    return stores, runs


STORES, IN_RUNS = _dispatch()


def store_all(db, box_id, records):
    """Store a frame's new records in journal order; returns (stored, dropped). A record with a time past
    MAX_TIME is dropped (the decoder gives t >= 0)."""
    kinds = set(map(_TAG, records))
    if len(kinds) == 1 and kinds <= IN_RUNS and max(map(_T, records)) <= MAX_TIME:
        # the usual frame, one track and nothing else: stored in one go (C-level loops, the ingest's hot path)
        stored = STORES[records[0][0]](db, box_id, records)
        return stored, len(records) - stored
    stored = dropped = 0
    run = []
    for r in records:
        if r[2] > MAX_TIME:
            dropped += 1
            continue
        if run and r[0] != run[0][0]:
            stored, dropped = _add(stored, dropped, len(run), STORES[run[0][0]](db, box_id, run))
            run = []
        if r[0] in IN_RUNS:
            run.append(r)
        else:
            stored, dropped = _add(stored, dropped, 1, STORES[r[0]](db, box_id, r))
    if run:
        stored, dropped = _add(stored, dropped, len(run), STORES[run[0][0]](db, box_id, run))
    return stored, dropped


def _add(stored, dropped, given, kept):
    return stored + kept, dropped + given - kept
