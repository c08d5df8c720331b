"""Trips as the boxes journal them (`trip_start` / `trip_end` records).

Kilometres belong to the driver's department (`department_id`, the vehicle owner's when the driver is
unknown). A trip with no reservation (on-the-spot) becomes an unplanned reservation.
"""

from server.db import row, rows, write
from server.queries import allowlist, reservations
from server.queries.common import MAX_SPAN_S


def record_start(db, box_id, box_trip, t, badge_hash, reservation_id, odo_m):
    """Store a `trip_start` record; returns the trip id (the same id when the record is replayed), or
    None when the box has no vehicle.

    `badge_hash` (bytes or hex) is resolved to the agent through the box's allow-list. `reservation_id`
    0 (or one that is not a booking of this car) makes an unplanned reservation for a known agent.
    A trip still open on this box is closed at `t` first (its trip_end was never received).
    """
    hash_hex = badge_hash.hex() if isinstance(badge_hash, (bytes, bytearray)) else (badge_hash or "")
    with write(db):
        existing = row(db, """
SELECT id
FROM trips
WHERE box_id = ?
  AND box_trip = ?
  AND start = ?""", (box_id, box_trip, t))
        if existing:
            return existing["id"]
        vehicle = row(db, """
SELECT v.id, v.department_id
FROM boxes b
JOIN vehicles v ON v.id = b.vehicle_id
WHERE b.id = ?""", (box_id,))
        if vehicle is None:
            return None
        db.execute("""
UPDATE trips
SET end = max(start, ?)
WHERE box_id = ?
  AND end IS NULL""", (t, box_id))
        agent_id = allowlist.agent_for_hash(db, box_id, hash_hex) if hash_hex else None
        res = None
        if reservation_id:
            res = row(db, """
SELECT id, agent_id
FROM reservations
WHERE id = ?
  AND vehicle_id = ?""", (reservation_id, vehicle["id"]))
        unplanned = 0
        if res is not None:
            reservations.mark_started(db, res["id"], t)
            res_id = res["id"]
            if agent_id is None:
                agent_id = res["agent_id"]
        else:
            unplanned = 1
            res_id = reservations.create_unplanned(db, vehicle["id"], agent_id, t) if agent_id else None
        department_id = vehicle["department_id"]
        if agent_id is not None:
            department_id = row(db, """
SELECT department_id
FROM agents
WHERE id = ?""", (agent_id,))["department_id"]
        return db.execute("""
INSERT INTO trips (box_id, box_trip, vehicle_id, agent_id, department_id, badge_hash, reservation_id, unplanned,
                   start, odo_start_m)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (box_id, box_trip, vehicle["id"], agent_id, department_id, hash_hex, res_id, unplanned, t,
             odo_m)).lastrowid


def record_end(db, box_id, box_trip, t, odo_m, distance_m, reason):
    """Store a `trip_end` record on the matching open trip; returns its id, or None if no trip matches
    (a replayed end finds the trip already closed with the same values and returns its id)."""
    with write(db):
        trip = row(db, """
SELECT id, reservation_id, unplanned, end
FROM trips
WHERE box_id = ?
  AND box_trip = ?
  AND start <= ?
ORDER BY start DESC
LIMIT 1""", (box_id, box_trip, t))
        if trip is None:
            return None
        if trip["end"] is not None and trip["end"] != t:
            return trip["id"]  # closed already (replay, or closed by the next trip_start): keep it
        db.execute("""
UPDATE trips
SET end = :end, odo_end_m = :odo, distance_m = :distance, end_reason = :reason
WHERE id = :id""", {"end": t, "odo": odo_m, "distance": max(0, int(distance_m)), "reason": reason, "id": trip["id"]})
        if trip["unplanned"] and trip["reservation_id"]:
            reservations.close_unplanned(db, trip["reservation_id"], t)
        return trip["id"]


TRIP_SQL = """
SELECT t.*, v.plate, v.model, a.name AS agent_name, d.code AS department_code
FROM trips t
JOIN vehicles v ON v.id = t.vehicle_id
LEFT JOIN agents a ON a.id = t.agent_id
LEFT JOIN departments d ON d.id = t.department_id"""


def get(db, trip_id):
    return row(db, TRIP_SQL + """
WHERE t.id = ?""", (trip_id,))


def for_agent(db, agent_id, limit=100):
    return rows(db, TRIP_SQL + """
WHERE t.agent_id = ?
ORDER BY t.start DESC
LIMIT ?""", (agent_id, limit))


def open_trip(db, box_id):
    """The box's trip still open, or None."""
    return row(db, """
SELECT *
FROM trips
WHERE box_id = ?
  AND end IS NULL
ORDER BY start DESC
LIMIT 1""", (box_id,))


def out_now(db, now, department_id=None, vehicle_id=None):
    """Cars on the road (a trip started, not ended) with the driver, since when, and the booked end (`due`,
    None for an on-the-spot trip); `late` when that end has passed."""
    sql = """
SELECT t.id, t.vehicle_id, t.agent_id, t.start, v.plate, v.model, a.name AS agent_name, r.end AS due, r.unplanned,
       (r.end IS NOT NULL AND r.unplanned = 0 AND r.end < :now) AS late
FROM trips t
JOIN vehicles v ON v.id = t.vehicle_id
LEFT JOIN agents a ON a.id = t.agent_id
LEFT JOIN reservations r ON r.id = t.reservation_id
WHERE t.end IS NULL
  AND t.start > :floor"""
    if department_id is not None:
        sql += "\n  AND (t.department_id = :department OR v.department_id = :department)"
    if vehicle_id is not None:
        sql += "\n  AND t.vehicle_id = :vehicle"
    return rows(db, sql + "\nORDER BY late DESC, t.start",
                {"now": now, "floor": now - MAX_SPAN_S, "department": department_id, "vehicle": vehicle_id})


def search(db, start, end, department_id=None, vehicle_id=None, driver_department_id=None, agent=None,
           in_progress=False, limit=1000):
    """Trips starting in [start, end), newest first, filtered: `department_id` is the viewer's scope (a
    manager: their department's cars and agents), `vehicle_id`, `driver_department_id` (the department
    charged), `agent` (part of the driver's name), `in_progress` (not ended yet)."""
    sql = TRIP_SQL + """
WHERE t.start >= :start
  AND t.start < :end"""
    if department_id is not None:
        sql += "\n  AND (t.department_id = :scope OR v.department_id = :scope)"
    if vehicle_id is not None:
        sql += "\n  AND t.vehicle_id = :vehicle"
    if driver_department_id is not None:
        sql += "\n  AND t.department_id = :driver_department"
    if agent:
        sql += "\n  AND a.name LIKE :agent ESCAPE '\\'"
    if in_progress:
        sql += "\n  AND t.end IS NULL"
    like = "%" + (agent or "").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return rows(db, sql + "\nORDER BY t.start DESC\nLIMIT :limit",
                {"start": start, "end": end, "scope": department_id, "vehicle": vehicle_id,
                 "driver_department": driver_department_id, "agent": like, "limit": limit})
