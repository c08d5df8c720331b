"""Positions: stored only inside trips, read only with a logged access, reduced to summaries after retention.

CNIL rules on geolocating staff vehicles: no position outside a trip (a parked car is not tracked),
raw positions kept `POSITION_RETENTION_DAYS` (61 by default) then reduced to the trip's summary, each
view of raw positions logged with who and when.
"""

import bisect
from operator import itemgetter

from protocol import schema
from server.db import row, rows, write

_POS_TAG = schema.by_name("pos")[schema.TAG]


def add_many(db, box_id, records):
    """Store `pos` records of one box (dicts with t, lat, lon, speed, course); returns (stored, dropped).

    Each position goes to the box's trip that was open at its time `t` (start <= t <= end, or still
    open); a position outside every trip is dropped, never stored. One SELECT and one executemany.
    """
    return add_rows(db, box_id, [(_POS_TAG, 0, int(r["t"]), int(r["lat"]), int(r["lon"]), int(r.get("speed", 0)),
                                  int(r.get("course", 0))) for r in records])


_T = itemgetter(2)  # a row's time
_INSERT = "INSERT INTO positions (trip_id, t, lat, lon, speed, course) VALUES (?, ?, ?, ?, ?, ?)"
# the rows as they are, their tag and seq left out, the trip added: one statement per trip, no new tuples
_INSERT_TRIP = "INSERT INTO positions (trip_id, t, lat, lon, speed, course) VALUES (%d, ?3, ?4, ?5, ?6, ?7)"


def add_rows(db, box_id, rows):
    """add_many for rows (tag, seq, t, lat, lon, speed, course) of ints, as `protocol.frame.decode_request(
    ..., rows=True)` gives them (seq is not stored). Returns (stored, dropped)."""
    if not rows:
        return 0, 0
    t_min = min(map(_T, rows))
    t_max = max(map(_T, rows))
    trips = db.execute("SELECT id, start, end FROM trips WHERE box_id = ? AND start <= ? "
                       "AND (end IS NULL OR end >= ?) ORDER BY start", (box_id, t_max, t_min)).fetchall()
    if not trips:
        return 0, len(rows)
    if len(trips) == 1 and trips[0][1] <= t_min and (trips[0][2] is None or trips[0][2] >= t_max):
        # the usual frame: every position inside the one trip the box has open
        statements = [(_INSERT_TRIP % int(trips[0][0]), rows)]
        stored = len(rows)
    else:
        starts = [tr[1] for tr in trips]
        batch = []
        for rec in rows:
            t = rec[2]
            i = bisect.bisect_right(starts, t) - 1
            if i < 0:
                continue
            trip_id, _start, end = trips[i]
            if end is not None and t > end:
                continue
            batch.append((trip_id, t, rec[3], rec[4], rec[5], rec[6]))
        statements = [(_INSERT, batch)] if batch else []
        stored = len(batch)
    if statements:
        if db.conn.in_transaction:  # the sync frame's transaction: all or nothing already
            for sql, params in statements:
                db.conn.executemany(sql, params)
        else:
            with write(db):
                for sql, params in statements:
                    db.conn.executemany(sql, params)
    return stored, len(rows) - stored


def for_trip(db, trip_id, viewer_id, now, remote_addr=""):
    """The raw positions of a trip, after logging who looked (position_access_log)."""
    with write(db):
        db.execute("INSERT INTO position_access_log (user_id, trip_id, t, remote_addr) VALUES (?, ?, ?, ?)",
                   (viewer_id, trip_id, now, remote_addr or ""))
    return rows(db, "SELECT t, lat, lon, speed, course FROM positions WHERE trip_id = ? ORDER BY t", (trip_id,))


def access_log(db, limit=200):
    return rows(db, "SELECT l.*, a.name AS user_name, t.vehicle_id, v.plate FROM position_access_log l "
                "JOIN agents a ON a.id = l.user_id JOIN trips t ON t.id = l.trip_id "
                "JOIN vehicles v ON v.id = t.vehicle_id ORDER BY l.t DESC LIMIT ?", (limit,))


def purge(db, before):
    """Reduce positions of trips that ended before `before` to trip summaries (count, bounding box,
    top speed) and delete them. Returns the number of positions deleted."""
    deleted = 0
    # a position lies inside its trip, so a trip that ended before `before` holds only older positions
    trip_ids = [r[0] for r in db.execute(
        "SELECT t.id FROM trips t WHERE t.start < ? AND t.end IS NOT NULL AND t.end < ? "
        "AND EXISTS (SELECT 1 FROM positions p WHERE p.trip_id = t.id)", (before, before)).fetchall()]
    for trip_id in trip_ids:
        with write(db):
            s = row(db, "SELECT count(*) AS n, min(lat) AS min_lat, min(lon) AS min_lon, max(lat) AS max_lat, "
                    "max(lon) AS max_lon, max(speed) AS max_speed FROM positions WHERE trip_id = ?", (trip_id,))
            db.execute("UPDATE trips SET positions_count = positions_count + ?, "
                       "min_lat = coalesce(min(min_lat, ?), ?), "
                       "min_lon = coalesce(min(min_lon, ?), ?), max_lat = coalesce(max(max_lat, ?), ?), "
                       "max_lon = coalesce(max(max_lon, ?), ?), max_speed = coalesce(max(max_speed, ?), ?), "
                       "positions_purged = 1 WHERE id = ?",
                       (s["n"], s["min_lat"], s["min_lat"], s["min_lon"], s["min_lon"], s["max_lat"], s["max_lat"],
                        s["max_lon"], s["max_lon"], s["max_speed"], s["max_speed"], trip_id))
            deleted += db.execute("DELETE FROM positions WHERE trip_id = ?", (trip_id,)).rowcount
    return deleted


def count(db):
    return db.execute("SELECT count(*) FROM positions").fetchone()[0]
