"""Departments, pools, vehicles and habilitations (who may use which pool)."""

from server.db import row, rows, scalar, write
from server.queries import common
from server.queries.common import RuleError
from server.timeutil import month_start


def departments(db):
    return rows(db, """
SELECT *
FROM departments
ORDER BY code""")


def department_exists(db, department_id):
    return bool(scalar(db, """
SELECT 1
FROM departments
WHERE id = ?""", (department_id,)))


def department_by_code(db, code):
    return row(db, """
SELECT *
FROM departments
WHERE code = ?""", (code.strip().upper(),))


def ensure_department(db, code, name=None):
    """Id of the department `code`, created when missing."""
    code = code.strip().upper()
    found = department_by_code(db, code)
    if found:
        return found["id"]
    return db.execute("""
INSERT INTO departments (code, name)
VALUES (?, ?)""", (code, name or code)).lastrowid


def pools(db, department_id=None):
    sql = """
SELECT p.*, d.code AS department_code,
       (SELECT count(*)
        FROM vehicles v
        WHERE v.pool_id = p.id
          AND v.active) AS vehicles
FROM pools p
LEFT JOIN departments d ON d.id = p.department_id"""
    if department_id is not None:
        return rows(db, sql + """
WHERE p.department_id = ?
ORDER BY p.name""", (department_id,))
    return rows(db, sql + """
ORDER BY p.name""")


def pool_name_taken(db, name):
    return bool(scalar(db, """
SELECT 1
FROM pools
WHERE name = ?""", (name,)))


def pool(db, pool_id):
    return row(db, """
SELECT *
FROM pools
WHERE id = ?""", (pool_id,))


def ensure_pool(db, name, department_id=None, on_the_spot=False):
    found = row(db, """
SELECT id
FROM pools
WHERE name = ?""", (name,))
    if found:
        return found["id"]
    return db.execute("""
INSERT INTO pools (name, department_id, on_the_spot)
VALUES (?, ?, ?)""", (name, department_id, 1 if on_the_spot else 0)).lastrowid


def set_pool_on_the_spot(db, pool_id, allowed):
    db.execute("""
UPDATE pools
SET on_the_spot = ?
WHERE id = ?""", (1 if allowed else 0, pool_id))


VEHICLE_SQL = """
SELECT v.*, p.name AS pool_name, p.on_the_spot, d.code AS department_code, b.id AS box_id
FROM vehicles v
JOIN pools p ON p.id = v.pool_id
JOIN departments d ON d.id = v.department_id
LEFT JOIN boxes b ON b.vehicle_id = v.id"""


def vehicles(db, department_id=None, include_inactive=True):
    where, params = [], []
    if department_id is not None:
        where.append("v.department_id = ?")
        params.append(department_id)
    if not include_inactive:
        where.append("v.active = 1")
    sql = VEHICLE_SQL + ("\nWHERE " + "\n  AND ".join(where) if where else "") + """
ORDER BY v.plate"""
    return rows(db, sql, params)


def vehicle(db, vehicle_id):
    return row(db, VEHICLE_SQL + """
WHERE v.id = ?""", (vehicle_id,))


def vehicle_department(db, vehicle_id):
    """The owning department's id today (vehicle_terms keeps its history)."""
    return scalar(db, """
SELECT department_id
FROM vehicles
WHERE id = ?""", (vehicle_id,))


def vehicle_by_plate(db, plate):
    return row(db, VEHICLE_SQL + """
WHERE v.plate = ?""", (normalize_plate(plate),))


def normalize_plate(plate):
    return plate.strip().upper().replace(" ", "-")


def plate_key(plate):
    """What identifies a plate: letters and digits, upper case (« ab 123-cd » is AB-123-CD)."""
    return "".join(c for c in plate.upper() if c.isalnum())


def vehicle_by_plate_key(db, plate):
    """The vehicle whose plate is `plate` up to case, spaces and dashes, or None."""
    return row(db, """
SELECT id, plate
FROM vehicles
WHERE replace(replace(upper(plate), '-', ''), ' ', '') = ?""", (plate_key(plate),))


def add_vehicle(db, plate, model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents, seats=5):
    """Create a vehicle; RuleError `plate_exists` when the plate is already known (never overwrites)."""
    plate = normalize_plate(plate)
    with write(db):
        found = vehicle_by_plate_key(db, plate)
        if found:
            raise RuleError("plate_exists", "Le véhicule %s existe déjà : pour le modifier, ouvrez sa page."
                            % found["plate"])
        vehicle_id = db.execute("""
INSERT INTO vehicles (plate, model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents, seats)
VALUES (?, ?, ?, ?, ?, ?, ?)""",
                                (plate, model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents,
                                 seats)).lastrowid
        db.execute("""
INSERT INTO vehicle_terms (vehicle_id, valid_from, department_id, cost_per_km_cents, monthly_fixed_cents)
VALUES (?, 0, ?, ?, ?)""", (vehicle_id, department_id, cost_per_km_cents, monthly_fixed_cents))
        return vehicle_id


def update_vehicle(db, vehicle_id, model, pool_id, seats):
    """What may change at once (not the costs nor the owner: change_terms)."""
    db.execute("""
UPDATE vehicles
SET model = :model, pool_id = :pool, seats = :seats
WHERE id = :id""", {"model": model, "pool": pool_id, "seats": seats, "id": vehicle_id})


def change_terms(db, vehicle_id, valid_from, department_id, cost_per_km_cents, monthly_fixed_cents, now,
                 created_by=None):
    """Owner department and costs from the month starting at `valid_from` (this month or later: RuleError
    `past_month` otherwise). A second change for the same month replaces the first."""
    if valid_from < month_start(now):
        raise RuleError("past_month", "Un changement s'applique à partir du mois en cours au plus tôt : les "
                        "rapports des mois passés ne changent pas.")
    with write(db):
        db.execute("""
INSERT INTO vehicle_terms (vehicle_id, valid_from, department_id, cost_per_km_cents, monthly_fixed_cents,
                           created_at, created_by)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (vehicle_id, valid_from) DO UPDATE
SET department_id = excluded.department_id,
    cost_per_km_cents = excluded.cost_per_km_cents,
    monthly_fixed_cents = excluded.monthly_fixed_cents,
    created_at = excluded.created_at,
    created_by = excluded.created_by""",
                   (vehicle_id, valid_from, department_id, cost_per_km_cents, monthly_fixed_cents, now, created_by))
        apply_due_terms(db, now)


def terms_history(db, vehicle_id):
    """Every version of the vehicle's terms, newest first, with the department code."""
    return rows(db, """
SELECT t.*, d.code AS department_code
FROM vehicle_terms t
JOIN departments d ON d.id = t.department_id
WHERE t.vehicle_id = ?
ORDER BY t.valid_from DESC""", (vehicle_id,))


# The terms in force at :at for the vehicle v (its latest version from before :at).
TERMS_AT_SQL = """(
    SELECT id
    FROM vehicle_terms
    WHERE vehicle_id = v.id
      AND valid_from <= :at
    ORDER BY valid_from DESC
    LIMIT 1)"""


def apply_due_terms(db, now):
    """Copy the terms in force now into vehicles (what the pages and the scope of managers read)."""
    return db.execute("""
UPDATE vehicles AS v
SET department_id = t.department_id,
    cost_per_km_cents = t.cost_per_km_cents,
    monthly_fixed_cents = t.monthly_fixed_cents
FROM vehicle_terms AS t
WHERE t.id = """ + TERMS_AT_SQL + """
  AND (v.department_id != t.department_id
       OR v.cost_per_km_cents != t.cost_per_km_cents
       OR v.monthly_fixed_cents != t.monthly_fixed_cents)""", {"at": now}).rowcount


def upsert_vehicle(db, plate, model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents, seats=5):
    """Create the vehicle `plate` or update it (fleet import); returns its id. Costs and owner of a known
    vehicle change from the current month (change_terms): past months' reports stay as they were."""
    with write(db):
        found = vehicle_by_plate_key(db, plate)
        if found is None:
            return add_vehicle(db, plate, model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents,
                               seats)
        update_vehicle(db, found["id"], model, pool_id, seats)
        now = common.now()
        current = vehicle(db, found["id"])
        if (current["department_id"], current["cost_per_km_cents"], current["monthly_fixed_cents"]) != (
                department_id, cost_per_km_cents, monthly_fixed_cents):
            change_terms(db, found["id"], month_start(now), department_id, cost_per_km_cents, monthly_fixed_cents,
                         now)
        return found["id"]


def set_vehicle_active(db, vehicle_id, active):
    db.execute("""
UPDATE vehicles
SET active = ?
WHERE id = ?""", (1 if active else 0, vehicle_id))


# -- habilitations ---------------------------------------------------------------------------------------

def habilitations(db, department_id=None):
    sql = """
SELECT h.*, p.name AS pool_name, d.code AS department_code, a.name AS agent_name
FROM habilitations h
JOIN pools p ON p.id = h.pool_id
LEFT JOIN departments d ON d.id = h.department_id
LEFT JOIN agents a ON a.id = h.agent_id"""
    if department_id is not None:
        return rows(db, sql + """
WHERE p.department_id = :department
   OR h.department_id = :department
   OR a.department_id = :department
ORDER BY p.name""", {"department": department_id})
    return rows(db, sql + """
ORDER BY p.name, d.code, a.name""")


def add_habilitation(db, pool_id, department_id=None, agent_id=None):
    """Let a whole department (or one agent) use a pool. Idempotent."""
    if (department_id is None) == (agent_id is None):
        raise ValueError("exactly one of department_id and agent_id")
    db.execute("""
INSERT OR IGNORE INTO habilitations (pool_id, department_id, agent_id)
VALUES (?, ?, ?)""", (pool_id, department_id, agent_id))


def habilitation(db, habilitation_id):
    return row(db, """
SELECT *
FROM habilitations
WHERE id = ?""", (habilitation_id,))


def remove_habilitation(db, habilitation_id):
    db.execute("""
DELETE FROM habilitations
WHERE id = ?""", (habilitation_id,))


def pool_ids_for_agent(db, agent_id):
    """Pools the agent may book and drive: through their department or personally."""
    return [r[0] for r in db.execute("""
SELECT h.pool_id
FROM habilitations h
JOIN agents a ON a.id = ?
WHERE h.agent_id = a.id
   OR h.department_id = a.department_id""", (agent_id,)).fetchall()]


def is_habilitated(db, agent_id, vehicle_id):
    return bool(scalar(db, """
SELECT 1
FROM vehicles v
JOIN agents a ON a.id = ?
JOIN habilitations h ON h.pool_id = v.pool_id
WHERE v.id = ?
  AND (h.agent_id = a.id OR h.department_id = a.department_id)
LIMIT 1""", (agent_id, vehicle_id)))
