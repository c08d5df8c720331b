"""« Boîte à idées / retours »: agents' messages and the fleet managers' answers.

Scope: a fleet manager sees the messages of their department's agents and those about their department's
cars; an administrator sees every message (department_id None).
"""

from server.db import row, rows

STATUSES = {"open": "ouvert", "answered": "répondu", "closed": "clos"}

FEEDBACK_SQL = """
SELECT f.*, a.name AS agent_name, a.email AS agent_email, d.code AS department_code, v.plate,
       v.model, v.department_id AS vehicle_department_id, t.start AS trip_start,
       m.name AS answered_by_name
FROM feedback f
JOIN agents a ON a.id = f.agent_id
JOIN departments d ON d.id = f.department_id
LEFT JOIN vehicles v ON v.id = f.vehicle_id
LEFT JOIN trips t ON t.id = f.trip_id
LEFT JOIN agents m ON m.id = f.answered_by"""
SCOPE = """
  AND (f.department_id = :dept OR v.department_id = :dept)"""


def create(db, agent_id, department_id, subject, text, now, vehicle_id=None, trip_id=None):
    return db.execute("""
INSERT INTO feedback (agent_id, department_id, vehicle_id, trip_id, subject, text, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?)""", (agent_id, department_id, vehicle_id, trip_id, subject, text, now)).lastrowid


def for_agent(db, agent_id, limit=50):
    return rows(db, FEEDBACK_SQL + """
WHERE f.agent_id = ?
ORDER BY f.id DESC
LIMIT ?""", (agent_id, limit))


def inbox(db, department_id=None, status=None, limit=200):
    sql = FEEDBACK_SQL + """
WHERE 1 = 1"""
    if department_id is not None:
        sql += SCOPE
    if status is not None:
        sql += """
  AND f.status = :status"""
    return rows(db, sql + """
ORDER BY f.status = 'open' DESC, f.id DESC
LIMIT :limit""", {"dept": department_id, "status": status, "limit": limit})


def get(db, feedback_id, department_id=None):
    """The message if it exists and is in scope, else None."""
    return row(db, FEEDBACK_SQL + """
WHERE f.id = :id""" + (SCOPE if department_id is not None else ""),
               {"id": feedback_id, "dept": department_id})


def answer(db, feedback_id, manager_id, text, now):
    db.execute("""
UPDATE feedback
SET answer = :text, answered_by = :manager, answered_at = :now, status = 'answered'
WHERE id = :id""", {"text": text, "manager": manager_id, "now": now, "id": feedback_id})


def set_status(db, feedback_id, status):
    if status not in STATUSES:
        raise ValueError(status)
    db.execute("""
UPDATE feedback
SET status = ?
WHERE id = ?""", (status, feedback_id))


def counts(db, start, end, department_id=None):
    """Messages written in [start, end) by status (the pilot's evaluation), plus `total`."""
    sql = """
SELECT f.status, count(*) AS n
FROM feedback f
LEFT JOIN vehicles v ON v.id = f.vehicle_id
WHERE f.created_at >= :start
  AND f.created_at < :end"""
    if department_id is not None:
        sql += SCOPE
    found = {s: 0 for s in STATUSES}
    for r in rows(db, sql + """
GROUP BY f.status""", {"start": start, "end": end, "dept": department_id}):
        found[r["status"]] = r["n"]
    found["total"] = sum(found[s] for s in STATUSES)
    return found
