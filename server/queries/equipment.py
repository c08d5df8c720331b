"""Shared equipment (laptops, projectors, cameras) and its bookings: same overlap rule as cars."""

from server.db import row, rows, scalar, write
from server.queries.common import MAX_SPAN_S, RuleError

KINDS = {"laptop": "Ordinateur portable", "projector": "Vidéoprojecteur", "camera": "Appareil photo",
         "other": "Autre"}


def items(db, include_inactive=False):
    sql = """
SELECT e.*, d.code AS department_code
FROM equipment e
LEFT JOIN departments d ON d.id = e.department_id"""
    return rows(db, sql + ("" if include_inactive else """
WHERE e.active = 1""") + """
ORDER BY e.kind, e.name""")


def with_holders(db, now):
    """Every item (retired ones too) with who holds it now (a booking under way) and the next booking."""
    return rows(db, """
SELECT e.*,
       (SELECT a.name
        FROM equipment_bookings b
        JOIN agents a ON a.id = b.agent_id
        WHERE b.equipment_id = e.id
          AND b.status = 'booked'
          AND b.start <= :now
          AND b.end > :now
        LIMIT 1) AS holder,
       (SELECT b.end
        FROM equipment_bookings b
        WHERE b.equipment_id = e.id
          AND b.status = 'booked'
          AND b.start <= :now
          AND b.end > :now
        LIMIT 1) AS held_until,
       (SELECT min(b.start)
        FROM equipment_bookings b
        WHERE b.equipment_id = e.id
          AND b.status = 'booked'
          AND b.start > :now) AS next_start
FROM equipment e
ORDER BY e.active DESC, e.kind, e.name""", {"now": now})


def get(db, equipment_id):
    return row(db, """
SELECT *
FROM equipment
WHERE id = ?""", (equipment_id,))


def name_taken(db, name, except_id=0):
    return bool(scalar(db, """
SELECT 1
FROM equipment
WHERE name = ?
  AND id != ?""", (name.strip(), except_id)))


def update(db, equipment_id, name, kind):
    if kind not in KINDS:
        raise ValueError(kind)
    db.execute("""
UPDATE equipment
SET name = ?, kind = ?
WHERE id = ?""", (name.strip(), kind, equipment_id))


def set_active(db, equipment_id, active):
    """Retire an item (no longer offered; its bookings stay) or put it back."""
    db.execute("""
UPDATE equipment
SET active = ?
WHERE id = ?""", (1 if active else 0, equipment_id))


def create(db, name, kind, department_id=None):
    if kind not in KINDS:
        raise ValueError(kind)
    return db.execute("""
INSERT INTO equipment (name, kind, department_id)
VALUES (?, ?, ?)""", (name.strip(), kind, department_id)).lastrowid


def available(db, start, end):
    return rows(db, """
SELECT e.*
FROM equipment e
WHERE e.active = 1
  AND NOT EXISTS (SELECT 1
                  FROM equipment_bookings b
                  WHERE b.equipment_id = e.id
                    AND b.status = 'booked'
                    AND b.start < ?
                    AND b.end > ?
                    AND b.start > ?)
ORDER BY e.kind, e.name""", (end, start, start - MAX_SPAN_S))


def book(db, equipment_id, agent_id, start, end, now, rules):
    """Book an item; raises RuleError (`order`, `past`, `too_long`, `horizon`, `overlap`, `not_found`)."""
    rules.check_slot(start, end, now, minimum=False)
    with write(db):
        if not scalar(db, """
SELECT 1
FROM equipment
WHERE id = ?
  AND active = 1""", (equipment_id,)):
            raise RuleError("not_found", "Matériel introuvable.")
        if scalar(db, """
SELECT 1
FROM equipment_bookings
WHERE equipment_id = :item
  AND status = 'booked'
  AND start < :end
  AND end > :start
  AND start > :floor
LIMIT 1""", {"item": equipment_id, "start": start, "end": end, "floor": start - MAX_SPAN_S}):
            raise RuleError("overlap", "Ce matériel est déjà réservé sur ce créneau.")
        return db.execute("""
INSERT INTO equipment_bookings (equipment_id, agent_id, start, end, created_at)
VALUES (?, ?, ?, ?, ?)""", (equipment_id, agent_id, start, end, now)).lastrowid


def cancel(db, booking_id, agent_id):
    with write(db):
        b = row(db, """
SELECT *
FROM equipment_bookings
WHERE id = ?""", (booking_id,))
        if b is None or b["status"] != "booked":
            raise RuleError("not_found", "Réservation introuvable.")
        if b["agent_id"] != agent_id:
            raise RuleError("not_yours", "Cette réservation n'est pas la vôtre.")
        db.execute("""
UPDATE equipment_bookings
SET status = 'cancelled'
WHERE id = ?""", (booking_id,))


def for_agent(db, agent_id, now):
    return rows(db, """
SELECT b.*, e.name, e.kind
FROM equipment_bookings b
JOIN equipment e ON e.id = b.equipment_id
WHERE b.agent_id = ?
  AND b.end > ?
  AND b.status = 'booked'
ORDER BY b.start""", (agent_id, now))


def calendar(db, start, end):
    """Equipment bookings overlapping [start, end), for the administrators' calendar."""
    return rows(db, """
SELECT b.*, e.name, a.name AS agent_name
FROM equipment_bookings b
JOIN equipment e ON e.id = b.equipment_id
JOIN agents a ON a.id = b.agent_id
WHERE b.status = 'booked'
  AND b.start < ?
  AND b.end > ?
  AND b.start > ?
ORDER BY b.start""", (end, start, start - MAX_SPAN_S))
