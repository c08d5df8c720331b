"""Reservations: availability, booking rules (enforced in the writing transaction), no-shows, late returns.

Rules (RuleError codes): dates (`order`, `past`, `too_short`, `too_long`, `horizon`), `not_habilitated`,
`vehicle_unavailable`, `overlap` (another booking of the car), `on_road` (the car is being driven and the
slot starts soon), `agent_overlap` (the agent already has a
car then), `not_found`, `not_yours`, `started` (cannot cancel a started booking).
"""

from server.db import row, rows, scalar, write
from server.queries import agents as agents_q
from server.queries import common
from server.queries.common import MAX_SPAN_S, RuleError
from server.timeutil import fmt

ACTIVE = "booked"

AVAILABLE_SQL = """
SELECT v.id, v.plate, v.model, v.seats, p.name AS pool_name, d.code AS department_code
FROM vehicles v
JOIN pools p ON p.id = v.pool_id
JOIN departments d ON d.id = v.department_id
WHERE v.active = 1
  AND v.pool_id IN (SELECT h.pool_id
                    FROM habilitations h
                    WHERE h.agent_id = :agent
                       OR h.department_id = :department)
  AND NOT EXISTS (SELECT 1
                  FROM reservations r
                  WHERE r.vehicle_id = v.id
                    AND r.status = 'booked'
                    AND r.start < :end
                    AND r.start > :floor
                    AND r.end > :start)
  AND NOT (:start < :now + :margin AND {on_road})
ORDER BY p.name, v.plate"""

# A car whose box reported a trip start and no end yet: it is on the road, whatever its bookings say.
ON_ROAD_SQL = """EXISTS (
    SELECT 1
    FROM trips t
    WHERE t.vehicle_id = {vehicle}
      AND t.end IS NULL
      AND t.start > :now - :span)"""
# A car on the road is not offered for a slot starting within this of now (it may come back late).
ON_ROAD_MARGIN_S = 30 * 60
AVAILABLE_SQL = AVAILABLE_SQL.format(on_road=ON_ROAD_SQL.format(vehicle="v.id"))


def available(db, agent, start, end, now=None, limit=None):
    """Vehicles of the agent's habilitated pools with no booking overlapping [start, end), nor on the road
    when the slot starts soon (an open trip: late return, or a booking that should not have been freed).

    `agent` is a dict with `id` and `department_id`. The NOT EXISTS probe walks the
    (vehicle_id, start, end) index between `start - MAX_SPAN_S` and `end` only.
    """
    now = common.now() if now is None else now
    sql = AVAILABLE_SQL + ("\nLIMIT %d" % int(limit) if limit else "")
    return rows(db, sql, {"agent": agent["id"], "department": agent["department_id"], "start": start, "end": end,
                          "floor": start - MAX_SPAN_S, "now": now, "margin": ON_ROAD_MARGIN_S, "span": MAX_SPAN_S})


def on_road(db, vehicle_id, now):
    """True when the car has a trip open (started, not ended)."""
    return bool(scalar(db, "SELECT " + ON_ROAD_SQL.format(vehicle=":vehicle"),
                       {"vehicle": vehicle_id, "now": now, "span": MAX_SPAN_S}))


def log_search(db, agent_id, t, start, end, found):
    """Remember a search and how many cars it found (pilot evaluation)."""
    db.execute("""
INSERT INTO searches (agent_id, t, start, end, found)
VALUES (?, ?, ?, ?, ?)""", (agent_id, t, start, end, found))


OVERLAP_SQL = """
SELECT id
FROM reservations
WHERE {owner} = :owner
  AND status = 'booked'
  AND start < :end
  AND start > :floor
  AND end > :start
  AND id != :exclude
LIMIT 1"""


def _overlapping(db, owner, owner_id, start, end, exclude_id=0):
    """A booking of the car (`owner` "vehicle_id") or of the agent ("agent_id") overlapping [start, end)."""
    assert owner in ("vehicle_id", "agent_id")
    return scalar(db, OVERLAP_SQL.format(owner=owner), {"owner": owner_id, "start": start, "end": end,
                                                        "floor": start - MAX_SPAN_S, "exclude": exclude_id})


def create(db, agent_id, vehicle_id, start, end, now, rules, purpose="", destination=""):
    """Book `vehicle_id` for the agent; returns the reservation id or raises RuleError.

    Every rule is checked inside one BEGIN IMMEDIATE transaction together with the insert, so of many
    concurrent requests for one slot exactly one wins.
    """
    rules.check_slot(start, end, now)
    with write(db):
        vehicle = row(db, """
SELECT id, active
FROM vehicles
WHERE id = ?""", (vehicle_id,))
        if vehicle is None or not vehicle["active"]:
            raise RuleError("vehicle_unavailable", "Ce véhicule n'est pas disponible à la réservation.")
        agent = row(db, """
SELECT id, active
FROM agents
WHERE id = ?""", (agent_id,))
        if agent is None or not agent["active"]:
            raise RuleError("not_habilitated", "Compte inactif.")
        if not scalar(db, """
SELECT 1
FROM vehicles v
JOIN agents a ON a.id = ?
JOIN habilitations h
  ON h.pool_id = v.pool_id
 AND (h.agent_id = a.id OR h.department_id = a.department_id)
WHERE v.id = ?
LIMIT 1""", (agent_id, vehicle_id)):
            raise RuleError("not_habilitated", "Vous n'êtes pas habilité(e) à utiliser ce véhicule.")
        if _overlapping(db, "vehicle_id", vehicle_id, start, end):
            raise RuleError("overlap", "Ce véhicule est déjà réservé sur ce créneau.")
        if start < now + ON_ROAD_MARGIN_S and on_road(db, vehicle_id, now):
            raise RuleError("on_road", "Ce véhicule est sur la route en ce moment : choisissez-en un autre.")
        if _overlapping(db, "agent_id", agent_id, start, end):
            raise RuleError("agent_overlap", "Vous avez déjà une réservation sur ce créneau.")
        return db.execute("""
INSERT INTO reservations (vehicle_id, agent_id, start, end, purpose, destination, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)""", (vehicle_id, agent_id, start, end, purpose, destination, now)).lastrowid


def get(db, reservation_id):
    return row(db, """
SELECT r.*, v.plate, v.model, a.name AS agent_name, a.department_id
FROM reservations r
JOIN vehicles v ON v.id = r.vehicle_id
JOIN agents a ON a.id = r.agent_id
WHERE r.id = ?""", (reservation_id,))


def _own(db, reservation_id, agent_id):
    res = row(db, """
SELECT *
FROM reservations
WHERE id = ?""", (reservation_id,))
    if res is None:
        raise RuleError("not_found", "Réservation introuvable.")
    if res["agent_id"] != agent_id:
        raise RuleError("not_yours", "Cette réservation n'est pas la vôtre.")
    if res["status"] != ACTIVE:
        raise RuleError("not_found", "Cette réservation n'est plus active.")
    return res


def extend(db, reservation_id, agent_id, new_end, now, rules):
    """Move the end of one's booking (longer or shorter) under the same rules."""
    with write(db):
        res = _own(db, reservation_id, agent_id)
        if new_end <= max(res["start"], now):
            raise RuleError("order", "La nouvelle fin doit être dans le futur et après le début.")
        if new_end - res["start"] > rules.max_duration_s:
            raise RuleError("too_long", "Une réservation dure au plus %d heures." % (rules.max_duration_s // 3600))
        if _overlapping(db, "vehicle_id", res["vehicle_id"], res["start"], new_end, reservation_id):
            raise RuleError("overlap", "Le véhicule est réservé par quelqu'un d'autre juste après.")
        if _overlapping(db, "agent_id", agent_id, res["start"], new_end, reservation_id):
            raise RuleError("agent_overlap", "Vous avez déjà une réservation sur ce créneau.")
        db.execute("""
UPDATE reservations
SET end = ?, late_warned = 0
WHERE id = ?""", (new_end, reservation_id))


def cancel(db, reservation_id, agent_id, now, by_admin=False):
    """Cancel a booking not started yet (an administrator may cancel any)."""
    with write(db):
        if by_admin:
            res = row(db, """
SELECT *
FROM reservations
WHERE id = ?
  AND status = 'booked'""", (reservation_id,))
            if res is None:
                raise RuleError("not_found", "Réservation introuvable.")
        else:
            res = _own(db, reservation_id, agent_id)
            if res["started_at"]:
                raise RuleError("started", "Le trajet a commencé : la réservation ne peut plus être annulée.")
            if res["end"] <= now:
                raise RuleError("started", "Cette réservation est terminée.")
        db.execute("""
UPDATE reservations
SET status = 'cancelled'
WHERE id = ?""", (reservation_id,))


def for_agent(db, agent_id, now, upcoming=True, limit=100):
    """The agent's bookings ending after `now` (upcoming) or before it (history)."""
    cond, order = ("r.end > ?", "r.start") if upcoming else ("r.end <= ?", "r.start DESC")
    return rows(db, """
SELECT r.*, v.plate, v.model, p.name AS pool_name
FROM reservations r
JOIN vehicles v ON v.id = r.vehicle_id
JOIN pools p ON p.id = v.pool_id
WHERE r.agent_id = ?
  AND """ + cond + """
ORDER BY """ + order + """
LIMIT ?""", (agent_id, now, limit))


def calendar(db, start, end, department_id=None):
    """Bookings overlapping [start, end), with vehicle and agent, for the administrators' calendar."""
    sql = """
SELECT r.*, v.plate, v.model, a.name AS agent_name, d.code AS department_code
FROM reservations r
JOIN vehicles v ON v.id = r.vehicle_id
JOIN agents a ON a.id = r.agent_id
JOIN departments d ON d.id = a.department_id
WHERE r.start < :end
  AND r.end > :start
  AND r.start > :floor
  AND r.status != 'cancelled'"""
    if department_id is not None:
        sql += """
  AND (v.department_id = :department OR a.department_id = :department)"""
    return rows(db, sql + """
ORDER BY v.plate, r.start""", {"start": start, "end": end, "floor": start - MAX_SPAN_S, "department": department_id})


def create_unplanned(db, vehicle_id, agent_id, start, end=None):
    """Record an on-the-spot trip as a reservation (`unplanned = 1`, no rule checked: it happened).

    `end` defaults to one hour after `start` until the trip end is known (`close_unplanned`). Returns the id.
    """
    end = end if end and end > start else start + 3600
    end = min(end, start + MAX_SPAN_S - 1)
    return db.execute("""
INSERT INTO reservations (vehicle_id, agent_id, start, end, unplanned, started_at, created_at)
VALUES (?, ?, ?, ?, 1, ?, ?)""", (vehicle_id, agent_id, start, end, start, start)).lastrowid


def close_unplanned(db, reservation_id, end):
    """Set the real end of an unplanned reservation once its trip ended."""
    db.execute("""
UPDATE reservations
SET end = max(start + 60, min(?, start + ?))
WHERE id = ?
  AND unplanned = 1""", (end, MAX_SPAN_S - 1, reservation_id))


def mark_started(db, reservation_id, t):
    """First badge-in of a reservation (a trip started under it): it will not be released as a no-show.

    A booking released before the box reported the badge-in (the box still held it and let the agent
    drive) is booked again: it was honoured, unless another booking of the car took its slot meanwhile.
    """
    db.execute("""
UPDATE reservations
SET started_at = coalesce(started_at, ?)
WHERE id = ?""", (t, reservation_id))
    db.execute("""
UPDATE reservations
SET status = 'booked'
WHERE id = :id
  AND status = 'no_show'
  AND NOT EXISTS (
      SELECT 1
      FROM reservations o
      WHERE o.vehicle_id = reservations.vehicle_id
        AND o.id != reservations.id
        AND o.status = 'booked'
        AND o.start < reservations.end
        AND o.start > reservations.start - :span
        AND o.end > reservations.start)""", {"id": reservation_id, "span": MAX_SPAN_S})


# Bookings past their no-show time (`start + delay` before now) with no badge-in known to the server.
_NOT_STARTED = """
WHERE status = 'booked'
  AND started_at IS NULL
  AND unplanned = 0
  AND start < :now - :delay
  AND start > :now - :delay - :span"""

# ... whose car's box has not synced since that time: a badge-in may be waiting in its journal.
_BOX_SILENT = """
EXISTS (
    SELECT 1
    FROM boxes b
    WHERE b.vehicle_id = reservations.vehicle_id
      AND coalesce(b.last_seen, 0) < reservations.start + :delay)"""


def release_no_shows(db, now, delay_s):
    """Release bookings nobody badged in for within `delay_s` of their start; returns
    {"released": n, "flagged": n}.

    Only the box knows of a badge-in until it syncs: a booking is released when its car's box has synced
    after the no-show time without reporting one (or the car has no box, so nobody can badge in). A silent
    box flags the booking (`box_silent_at`, shown to managers) and keeps it: the car may be on the road.
    """
    params = {"now": now, "delay": delay_s, "span": MAX_SPAN_S}
    released = db.execute("""
UPDATE reservations
SET status = 'no_show'""" + _NOT_STARTED + """
  AND NOT """ + _BOX_SILENT, params).rowcount
    flagged = db.execute("""
UPDATE reservations
SET box_silent_at = :now""" + _NOT_STARTED + """
  AND box_silent_at IS NULL
  AND """ + _BOX_SILENT, params).rowcount
    return {"released": released, "flagged": flagged}


def release_flagged(db, reservation_id, department_id=None):
    """A manager releases a booking kept for a silent box (they checked: nobody took the car). True when
    released; a manager only within their department's cars."""
    sql = """
UPDATE reservations
SET status = 'no_show'
WHERE id = :id
  AND status = 'booked'
  AND started_at IS NULL
  AND box_silent_at IS NOT NULL"""
    if department_id is not None:
        sql += """
  AND vehicle_id IN (SELECT id
                     FROM vehicles
                     WHERE department_id = :department)"""
    return db.execute(sql, {"id": reservation_id, "department": department_id}).rowcount == 1


def box_silent(db, now, department_id=None, limit=50):
    """Bookings flagged because their car's box stayed silent past the no-show time, still unresolved."""
    sql = """
SELECT r.id, r.start, r.end, r.box_silent_at, v.id AS vehicle_id, v.plate, a.name AS agent_name, b.last_seen
FROM reservations r
JOIN vehicles v ON v.id = r.vehicle_id
JOIN agents a ON a.id = r.agent_id
LEFT JOIN boxes b ON b.vehicle_id = v.id
WHERE r.box_silent_at IS NOT NULL
  AND r.status = 'booked'
  AND r.started_at IS NULL
  AND r.start > :floor"""
    if department_id is not None:
        sql += "\n  AND (v.department_id = :department OR a.department_id = :department)"
    return rows(db, sql + "\nORDER BY r.start\nLIMIT :limit",
                {"floor": now - MAX_SPAN_S, "department": department_id, "limit": limit})


def warn_late_returns(db, now, window_s):
    """Warn the next booker of a car still out past its reservation's end. Returns the number of warnings.

    A car is late when a trip is still open while its reservation has ended; the next booking of that car
    by someone else, starting before `now + window_s`, gets one notification.
    """
    count = 0
    late = rows(db, """
SELECT t.vehicle_id, t.agent_id, r.id AS reservation_id, r.end AS due, v.plate
FROM trips t
JOIN reservations r ON r.id = t.reservation_id
JOIN vehicles v ON v.id = t.vehicle_id
WHERE t.end IS NULL
  AND r.end < ?
  AND t.start > ?""", (now, now - MAX_SPAN_S))
    for car in late:
        nxt = row(db, """
SELECT id, agent_id, start
FROM reservations
WHERE vehicle_id = :vehicle
  AND status = 'booked'
  AND id != :late_booking
  AND start >= :earliest
  AND start <= :latest
  AND late_warned = 0
ORDER BY start
LIMIT 1""", {"vehicle": car["vehicle_id"], "late_booking": car["reservation_id"], "earliest": car["due"] - 60,
             "latest": now + window_s})
        if nxt is None or nxt["agent_id"] == car["agent_id"]:
            continue
        with write(db):
            agents_q.notify(db, nxt["agent_id"],
                            "Le véhicule %s que vous avez réservé pour le %s n'est pas encore revenu (retour prévu "
                            "le %s). Il peut être en retard ; contactez le gestionnaire de flotte si besoin."
                            % (car["plate"], fmt(nxt["start"]), fmt(car["due"])), now, nxt["id"])
            db.execute("""
UPDATE reservations
SET late_warned = 1
WHERE id = ?""", (nxt["id"],))
        count += 1
    return count


def extend_open_unplanned(db, now, margin_s=30 * 60):
    """Keep an on-the-spot trip's reservation ahead of the clock while the trip is still open, so the
    car does not look free to searches while someone drives it. Returns the number extended."""
    cur = db.execute("""
UPDATE reservations
SET end = min(:now + :margin, start + :longest)
WHERE unplanned = 1
  AND status = 'booked'
  AND end < :now + 600
  AND start > :floor
  AND id IN (SELECT reservation_id
             FROM trips
             WHERE end IS NULL
               AND reservation_id IS NOT NULL)""",
                     {"now": now, "margin": margin_s, "longest": MAX_SPAN_S - 1, "floor": now - MAX_SPAN_S})
    return cur.rowcount


def for_vehicle(db, vehicle_id, since, limit=30):
    """The car's bookings ending after `since` (cancelled ones left out), soonest first, with the agent."""
    return rows(db, """
SELECT r.*, a.name AS agent_name
FROM reservations r
JOIN agents a ON a.id = r.agent_id
WHERE r.vehicle_id = :vehicle
  AND r.end > :since
  AND r.status != 'cancelled'
ORDER BY r.start
LIMIT :limit""", {"vehicle": vehicle_id, "since": since, "limit": limit})


def timeline(db, start, end, vehicle_ids):
    """Booked (not cancelled, not released) reservations of these cars overlapping [start, end)."""
    if not vehicle_ids:
        return []
    marks = ", ".join("?" * len(vehicle_ids))
    return rows(db, """
SELECT r.id, r.vehicle_id, r.agent_id, r.start, r.end, r.unplanned, r.started_at, a.name AS agent_name,
       d.code AS department_code
FROM reservations r
JOIN agents a ON a.id = r.agent_id
JOIN departments d ON d.id = a.department_id
WHERE r.status = 'booked'
  AND r.start < ?
  AND r.start > ?
  AND r.end > ?
  AND r.vehicle_id IN (""" + marks + """)
ORDER BY r.start""", [end, start - MAX_SPAN_S, start] + list(vehicle_ids))


def bookable_vehicles(db, agent):
    """The active cars of the pools the agent is habilitated for (what their calendar shows)."""
    return rows(db, """
SELECT v.id, v.plate, v.model, v.pool_id, p.name AS pool_name
FROM vehicles v
JOIN pools p ON p.id = v.pool_id
WHERE v.active = 1
  AND v.pool_id IN (
      SELECT h.pool_id
      FROM habilitations h
      WHERE h.agent_id = :agent
         OR h.department_id = :department)
ORDER BY p.name, v.plate""", {"agent": agent["id"], "department": agent["department_id"]})
