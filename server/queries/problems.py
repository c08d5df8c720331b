"""Problem reports on a car or a trip (damage, cleanliness, fuel, remark)."""

from server.db import rows

KINDS = {"damage": "Dégât", "cleanliness": "Propreté", "fuel": "Carburant", "remark": "Remarque"}


def create(db, vehicle_id, agent_id, kind, text, now, trip_id=None, reservation_id=None):
    if kind not in KINDS:
        raise ValueError(kind)
    return db.execute("""
INSERT INTO problem_reports (vehicle_id, trip_id, reservation_id, agent_id, kind, text, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)""", (vehicle_id, trip_id, reservation_id, agent_id, kind, text, now)).lastrowid


def list_reports(db, department_id=None, status=None, limit=200, vehicle_id=None):
    sql = """
SELECT p.*, v.plate, a.name AS agent_name
FROM problem_reports p
JOIN vehicles v ON v.id = p.vehicle_id
JOIN agents a ON a.id = p.agent_id
WHERE 1 = 1"""
    params = []
    if vehicle_id is not None:
        sql += """
  AND p.vehicle_id = ?"""
        params.append(vehicle_id)
    if department_id is not None:
        sql += """
  AND v.department_id = ?"""
        params.append(department_id)
    if status:
        sql += """
  AND p.status = ?"""
        params.append(status)
    return rows(db, sql + """
ORDER BY p.created_at DESC
LIMIT ?""", params + [limit])


def close(db, report_id, department_id=None):
    """Close a report (a manager only within their department); True if a row changed."""
    sql = """
UPDATE problem_reports
SET status = 'closed'
WHERE id = ?"""
    params = [report_id]
    if department_id is not None:
        sql += """
  AND vehicle_id IN (SELECT id
                     FROM vehicles
                     WHERE department_id = ?)"""
        params.append(department_id)
    return db.execute(sql, params).rowcount == 1
