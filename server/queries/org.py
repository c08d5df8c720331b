"""Departments, pools, vehicles and habilitations (who may use which pool)."""

from server.db import row, rows, scalar, write


def departments(db):
    return rows(db, "SELECT * FROM departments ORDER BY code")


def department_by_code(db, code):
    return row(db, "SELECT * FROM departments WHERE code = ?", (code.strip().upper(),))


def ensure_department(db, code, name=None):
    """Id of the department `code`, created when missing."""
    code = code.strip().upper()
    found = department_by_code(db, code)
    if found:
        return found["id"]
    return db.execute("INSERT INTO departments (code, name) VALUES (?, ?)", (code, name or code)).lastrowid


def pools(db, department_id=None):
    sql = ("SELECT p.*, d.code AS department_code, "
           "(SELECT count(*) FROM vehicles v WHERE v.pool_id = p.id AND v.active) AS vehicles "
           "FROM pools p LEFT JOIN departments d ON d.id = p.department_id")
    if department_id is not None:
        return rows(db, sql + " WHERE p.department_id = ? ORDER BY p.name", (department_id,))
    return rows(db, sql + " ORDER BY p.name")


def pool(db, pool_id):
    return row(db, "SELECT * FROM pools WHERE id = ?", (pool_id,))


def ensure_pool(db, name, department_id=None, on_the_spot=False):
    found = row(db, "SELECT id FROM pools WHERE name = ?", (name,))
    if found:
        return found["id"]
    return db.execute("INSERT INTO pools (name, department_id, on_the_spot) VALUES (?, ?, ?)",
                      (name, department_id, 1 if on_the_spot else 0)).lastrowid


def set_pool_on_the_spot(db, pool_id, allowed):
    db.execute("UPDATE pools SET on_the_spot = ? WHERE id = ?", (1 if allowed else 0, pool_id))


VEHICLE_SQL = ("SELECT v.*, p.name AS pool_name, p.on_the_spot, d.code AS department_code, b.id AS box_id "
               "FROM vehicles v JOIN pools p ON p.id = v.pool_id JOIN departments d ON d.id = v.department_id "
               "LEFT JOIN boxes b ON b.vehicle_id = v.id")


def vehicles(db, department_id=None, include_inactive=True):
    where, params = [], []
    if department_id is not None:
        where.append("v.department_id = ?")
        params.append(department_id)
    if not include_inactive:
        where.append("v.active = 1")
    sql = VEHICLE_SQL + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY v.plate"
    return rows(db, sql, params)


def vehicle(db, vehicle_id):
    return row(db, VEHICLE_SQL + " WHERE v.id = ?", (vehicle_id,))


def vehicle_by_plate(db, plate):
    return row(db, VEHICLE_SQL + " WHERE v.plate = ?", (normalize_plate(plate),))


def normalize_plate(plate):
    return plate.strip().upper().replace(" ", "-")


def upsert_vehicle(db, plate, model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents, seats=5):
    """Create the vehicle `plate` or update its fields; returns its id."""
    plate = normalize_plate(plate)
    with write(db):
        found = row(db, "SELECT id FROM vehicles WHERE plate = ?", (plate,))
        if found:
            db.execute("UPDATE vehicles SET model=?, pool_id=?, department_id=?, cost_per_km_cents=?, "
                       "monthly_fixed_cents=?, seats=? WHERE id=?",
                       (model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents, seats, found["id"]))
            return found["id"]
        return db.execute("INSERT INTO vehicles (plate, model, pool_id, department_id, cost_per_km_cents, "
                          "monthly_fixed_cents, seats) VALUES (?, ?, ?, ?, ?, ?, ?)",
                          (plate, model, pool_id, department_id, cost_per_km_cents, monthly_fixed_cents,
                           seats)).lastrowid


def set_vehicle_active(db, vehicle_id, active):
    db.execute("UPDATE vehicles SET active = ? WHERE id = ?", (1 if active else 0, vehicle_id))


# -- habilitations ---------------------------------------------------------------------------------------

def habilitations(db, department_id=None):
    sql = ("SELECT h.*, p.name AS pool_name, d.code AS department_code, a.name AS agent_name "
           "FROM habilitations h JOIN pools p ON p.id = h.pool_id "
           "LEFT JOIN departments d ON d.id = h.department_id LEFT JOIN agents a ON a.id = h.agent_id")
    if department_id is not None:
        return rows(db, sql + " WHERE p.department_id = ? OR h.department_id = ? OR a.department_id = ? "
                    "ORDER BY p.name", (department_id, department_id, department_id))
    return rows(db, sql + " ORDER BY p.name, d.code, a.name")


def add_habilitation(db, pool_id, department_id=None, agent_id=None):
    """Let a whole department (or one agent) use a pool. Idempotent."""
    if (department_id is None) == (agent_id is None):
        raise ValueError("exactly one of department_id and agent_id")
    db.execute("INSERT OR IGNORE INTO habilitations (pool_id, department_id, agent_id) VALUES (?, ?, ?)",
               (pool_id, department_id, agent_id))


def habilitation(db, habilitation_id):
    return row(db, "SELECT * FROM habilitations WHERE id = ?", (habilitation_id,))


def remove_habilitation(db, habilitation_id):
    db.execute("DELETE FROM habilitations WHERE id = ?", (habilitation_id,))


def pool_ids_for_agent(db, agent_id):
    """Pools the agent may book and drive: through their department or personally."""
    return [r[0] for r in db.execute(
        "SELECT h.pool_id FROM habilitations h JOIN agents a ON a.id = ? "
        "WHERE h.agent_id = a.id OR h.department_id = a.department_id", (agent_id,)).fetchall()]


def is_habilitated(db, agent_id, vehicle_id):
    return bool(scalar(db,
                       "SELECT 1 FROM vehicles v JOIN agents a ON a.id = ? "
                       "JOIN habilitations h ON h.pool_id = v.pool_id "
                       "WHERE v.id = ? AND (h.agent_id = a.id OR h.department_id = a.department_id) LIMIT 1",
                       (agent_id, vehicle_id)))
