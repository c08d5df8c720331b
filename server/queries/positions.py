"""Positions: stored only inside trips, read only with a logged access, reduced to summaries after retention.

CNIL rules on geolocating staff vehicles: no position outside a trip (a parked car is not tracked), none
outside the working hours of the driver's department unless a reason is documented for the department or
the vehicle (server/work_hours.py; the trip keeps its kilometres), raw positions kept
`POSITION_RETENTION_DAYS` (61 by default) by their own time, then reduced to the trip's summary without
the top speed, each view of raw positions logged with who and when.
"""

import bisect
from operator import itemgetter

from protocol import schema
from server.db import row, rows, write
from server.queries.common import MAX_SPAN_S
from server.work_hours import Policy, within

_POS_TAG = schema.by_name("pos")[schema.TAG]


def add_many(db, box_id, records):
    """Store `pos` records of one box (dicts with t, lat, lon, speed, course); returns (stored, dropped).

    Each position goes to the box's trip that was open at its time `t` (start <= t <= end, or still
    open); a position outside every trip is dropped, never stored. One SELECT and one executemany.
    """
    return add_rows(db, box_id, [(_POS_TAG, 0, int(r["t"]), int(r["lat"]), int(r["lon"]), int(r.get("speed", 0)),
                                  int(r.get("course", 0))) for r in records])


_T = itemgetter(2)  # a row's time
_INSERT = """
INSERT INTO positions (trip_id, t, lat, lon, speed, course)
VALUES (?, ?, ?, ?, ?, ?)"""
# the rows as they are, their tag and seq left out, the trip added: one statement per trip, no new tuples
_INSERT_TRIP = """
INSERT INTO positions (trip_id, t, lat, lon, speed, course)
VALUES (%d, ?3, ?4, ?5, ?6, ?7)"""


_TRIPS_WITH_POLICY = """
SELECT t.id, t.start, t.end, d.work_start_min, d.work_end_min, d.work_days,
       coalesce(d.tracking_reason, '') || coalesce(v.tracking_reason, '') AS reason
FROM trips t
LEFT JOIN departments d ON d.id = t.department_id
LEFT JOIN vehicles v ON v.id = t.vehicle_id
WHERE t.box_id = ?
  AND t.start <= ?
  AND (t.end IS NULL OR t.end >= ?)
ORDER BY t.start
"""


def _tracked_windows(trip, t_min, t_max):
    """When positions of this trip may be kept within [t_min, t_max]: None = always (a documented reason),
    else the working periods of the driver's department."""
    if trip[6].strip():
        return None
    return Policy(trip[3], trip[4], trip[5]).windows(t_min, t_max)


def _covers(windows, t_min, t_max):
    return windows is None or any(start <= t_min and t_max < end for start, end in windows)


def add_rows(db, box_id, rows):
    """add_many for rows (tag, seq, t, lat, lon, speed, course) of ints, as `protocol.frame.decode_request(
    ..., rows=True)` gives them (seq is not stored). Returns (stored, dropped)."""
    if not rows:
        return 0, 0
    t_min = min(map(_T, rows))
    t_max = max(map(_T, rows))
    trips = db.execute(_TRIPS_WITH_POLICY, (box_id, t_max, t_min)).fetchall()
    if not trips:
        return 0, len(rows)
    hours = {tr[0]: _tracked_windows(tr, t_min, t_max) for tr in trips}
    if (len(trips) == 1 and trips[0][1] <= t_min and (trips[0][2] is None or trips[0][2] >= t_max)
            and _covers(hours[trips[0][0]], t_min, t_max)):
        # the usual frame: every position inside the one trip the box has open, in working hours
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
            trip_id, _start, end = trips[i][:3]
            if end is not None and t > end:
                continue
            windows = hours[trip_id]
            if windows is not None and not within(windows, t):
                continue  # outside working hours: the trip keeps its kilometres, not this position
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


def log_access(db, viewer_id, trip_ids, now, remote_addr=""):
    """Record that `viewer_id` was shown positions of these trips (CNIL: every view is logged)."""
    with write(db):
        db.conn.executemany("""
INSERT INTO position_access_log (user_id, trip_id, t, remote_addr)
VALUES (?, ?, ?, ?)""", [(viewer_id, trip_id, now, remote_addr or "") for trip_id in trip_ids])


def for_trip(db, trip_id, viewer_id, now, remote_addr=""):
    """The raw positions of a trip, after logging who looked (position_access_log)."""
    log_access(db, viewer_id, [trip_id], now, remote_addr)
    return rows(db, """
SELECT t, lat, lon, speed, course
FROM positions
WHERE trip_id = ?
ORDER BY t""", (trip_id,))


def last_known(db, viewer_id, now, remote_addr="", department_id=None):
    """Where each active car of the scope was last seen: the last position of its latest trip that still
    has positions (none outside trips, none past the retention), `on_road` when a trip is open now (its
    driver in `agent_name`). Logged like any view of positions."""
    sql = """
SELECT v.id AS vehicle_id, v.plate, v.model, t.id AS trip_id, o.id IS NOT NULL AS on_road, o.id AS open_trip_id,
       a.name AS agent_name,
       p.t, p.lat, p.lon
FROM vehicles v
JOIN trips t ON t.id = (
    SELECT t2.id
    FROM trips t2
    WHERE t2.vehicle_id = v.id
      AND EXISTS (SELECT 1
                  FROM positions p3
                  WHERE p3.trip_id = t2.id)
    ORDER BY t2.start DESC
    LIMIT 1)
JOIN positions p ON p.id = (
    SELECT p2.id
    FROM positions p2
    WHERE p2.trip_id = t.id
    ORDER BY p2.t DESC
    LIMIT 1)
LEFT JOIN trips o ON o.id = (
    SELECT o2.id
    FROM trips o2
    WHERE o2.vehicle_id = v.id
      AND o2.end IS NULL
      AND o2.start > :floor
    ORDER BY o2.start DESC
    LIMIT 1)
LEFT JOIN agents a ON a.id = o.agent_id
WHERE v.active = 1"""
    if department_id is not None:
        sql += "\n  AND v.department_id = :department"
    found = rows(db, sql + "\nORDER BY v.plate", {"department": department_id, "floor": now - MAX_SPAN_S})
    if found:
        log_access(db, viewer_id, [r["trip_id"] for r in found], now, remote_addr)
    return found


def access_log(db, limit=200):
    return rows(db, """
SELECT l.*, a.name AS user_name, t.vehicle_id, v.plate
FROM position_access_log l
JOIN agents a ON a.id = l.user_id
JOIN trips t ON t.id = l.trip_id
JOIN vehicles v ON v.id = t.vehicle_id
ORDER BY l.t DESC
LIMIT ?""", (limit,))


def purge(db, before):
    """Reduce positions older than `before` (by their own time, in closed and open trips alike) to their
    trips' summaries (count, bounding box) and delete them; the top speed goes with them (a per-driver
    speed record is not kept). Returns the number of positions deleted."""
    deleted = 0
    # a position lies inside its trip, so only trips that started before `before` can hold one
    trip_ids = [r[0] for r in db.execute("""
SELECT t.id
FROM trips t
WHERE t.start < :before
  AND EXISTS (SELECT 1
              FROM positions p
              WHERE p.trip_id = t.id
                AND p.t < :before)""", {"before": before}).fetchall()]
    for trip_id in trip_ids:
        with write(db):
            s = row(db, """
SELECT count(*) AS n, min(lat) AS min_lat, min(lon) AS min_lon, max(lat) AS max_lat, max(lon) AS max_lon
FROM positions
WHERE trip_id = ?
  AND t < ?""", (trip_id, before))
            db.execute("""
UPDATE trips
SET positions_count = positions_count + :n,
    min_lat = coalesce(min(min_lat, :min_lat), :min_lat),
    min_lon = coalesce(min(min_lon, :min_lon), :min_lon),
    max_lat = coalesce(max(max_lat, :max_lat), :max_lat),
    max_lon = coalesce(max(max_lon, :max_lon), :max_lon),
    max_speed = NULL,
    positions_purged = 1
WHERE id = :trip""", dict(s, trip=trip_id))
            deleted += db.execute("""
DELETE FROM positions
WHERE trip_id = ?
  AND t < ?""", (trip_id, before)).rowcount
    return deleted


def count(db):
    return db.execute("""
SELECT count(*)
FROM positions""").fetchone()[0]


# -- working hours and documented exceptions (CNIL deliberation 2015-165) ------------------------------------

def set_work_hours(db, department_id, start_min, end_min, days, reason):
    """A department's working hours (minutes from local midnight, ISO weekdays '12345') and the documented
    reason to keep positions outside them ('' = none: outside them no position is kept)."""
    with write(db):
        db.execute("""
UPDATE departments
SET work_start_min = :start_min,
    work_end_min = :end_min,
    work_days = :days,
    tracking_reason = :reason
WHERE id = :id""", {"start_min": int(start_min), "end_min": int(end_min), "days": str(days),
                    "reason": (reason or "").strip(), "id": department_id})


def set_vehicle_tracking_reason(db, vehicle_id, reason):
    """The documented reason to keep this vehicle's positions at any hour ('' = none)."""
    with write(db):
        db.execute("""
UPDATE vehicles
SET tracking_reason = ?
WHERE id = ?""", ((reason or "").strip(), vehicle_id))


TEST_BENCH_REASON = "Banc de test : trajets simulés à toute heure"


def track_at_any_hour(db, department_id):
    """For test benches and the demo, whose trips run at any hour: the documented exception, said so."""
    with write(db):
        db.execute("""
UPDATE departments
SET tracking_reason = ?
WHERE id = ?""", (TEST_BENCH_REASON, department_id))
