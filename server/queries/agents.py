"""Agents (people and accounts), their badges, login throttling and notifications."""

import re
import secrets

from werkzeug.security import check_password_hash, generate_password_hash

from server.db import row, rows, scalar, write

ROLES = ("agent", "manager", "admin")
ROLE_LABELS = {"agent": "agent", "manager": "gestionnaire de flotte", "admin": "administrateur"}
UID_RE = re.compile(r"^(?:[0-9a-f]{2}){4,10}$")

# werkzeug's default (scrypt). Tests lower it to keep the suite fast; production never should.
PASSWORD_METHOD = "scrypt"

AGENT_SQL = "SELECT a.*, d.code AS department_code FROM agents a JOIN departments d ON d.id = a.department_id"


def normalize_uid(text):
    """Badge UID as lowercase hex without separators ('04:A2:...' -> '04a2...'), or None if not 4-10 bytes."""
    uid = re.sub(r"[\s:\-]", "", text or "").lower()
    return uid if UID_RE.match(uid) else None


def get(db, agent_id):
    return row(db, AGENT_SQL + " WHERE a.id = ?", (agent_id,))


def by_email(db, email):
    return row(db, AGENT_SQL + " WHERE a.email = ?", ((email or "").strip(),))


def by_ical_token(db, token):
    return row(db, AGENT_SQL + " WHERE a.ical_token = ? AND a.active = 1", (token,))


def list_agents(db, department_id=None, query=None, limit=500, offset=0):
    where, params = [], []
    if department_id is not None:
        where.append("a.department_id = ?")
        params.append(department_id)
    if query:
        where.append("(a.name LIKE ? OR a.email LIKE ?)")
        params += ["%" + query + "%"] * 2
    sql = (AGENT_SQL.replace("SELECT a.*", "SELECT a.id, a.name, a.email, a.role, a.active, a.department_id, "
                             "a.permanent_access, (SELECT count(*) FROM badges b WHERE b.agent_id = a.id "
                             "AND b.active) AS badges")
           + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY a.name, a.id LIMIT %d OFFSET %d"
           % (limit, offset))
    return rows(db, sql, params)


def create(db, name, email, department_id, role="agent", password=None, permanent_access=False):
    """Create an agent (an account once it has a password); returns the id."""
    if role not in ROLES:
        raise ValueError(role)
    return db.execute(
        "INSERT INTO agents (name, email, department_id, role, password_hash, permanent_access, ical_token) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (name.strip(), email.strip(), department_id, role,
         generate_password_hash(password, method=PASSWORD_METHOD) if password else None,
         1 if permanent_access else 0,
         secrets.token_urlsafe(24))).lastrowid


def upsert(db, name, email, department_id):
    """Create the agent with this e-mail or update their name and department; returns the id."""
    with write(db):
        found = by_email(db, email)
        if found:
            db.execute("UPDATE agents SET name = ?, department_id = ? WHERE id = ?",
                       (name.strip(), department_id, found["id"]))
            return found["id"]
        return create(db, name, email, department_id)


def update(db, agent_id, role=None, department_id=None, active=None, permanent_access=None):
    for column, value in (("role", role), ("department_id", department_id), ("active", active),
                          ("permanent_access", permanent_access)):
        if value is not None:
            if column == "role" and value not in ROLES:
                raise ValueError(value)
            db.execute("UPDATE agents SET %s = ? WHERE id = ?" % column, (int(value) if column in (
                "active", "permanent_access") else value, agent_id))


def set_password(db, agent_id, password):
    db.execute("UPDATE agents SET password_hash = ? WHERE id = ?",
               (generate_password_hash(password, method=PASSWORD_METHOD), agent_id))


def check_login(db, email, password):
    """The active agent whose e-mail and password match, or None."""
    agent = by_email(db, email)
    if not agent or not agent["active"] or not agent["password_hash"]:
        return None
    return agent if check_password_hash(agent["password_hash"], password) else None


def rotate_ical_token(db, agent_id):
    token = secrets.token_urlsafe(24)
    db.execute("UPDATE agents SET ical_token = ? WHERE id = ?", (token, agent_id))
    return token


# -- badges ---------------------------------------------------------------------------------------------

def badges(db, agent_id):
    """The agent's badges, UID masked (pages never show a full UID)."""
    result = rows(db, "SELECT id, uid_hex, active FROM badges WHERE agent_id = ? ORDER BY id", (agent_id,))
    for b in result:
        b["masked"] = "…" + b.pop("uid_hex")[-4:]
    return result


def add_badge(db, agent_id, uid_hex):
    """Attach a badge (UID hex) to an agent. Returns the badge id; raises ValueError if the UID is taken."""
    uid = normalize_uid(uid_hex)
    if uid is None:
        raise ValueError("uid")
    existing = row(db, "SELECT id, agent_id FROM badges WHERE uid_hex = ?", (uid,))
    if existing:
        if existing["agent_id"] != agent_id:
            raise ValueError("taken")
        db.execute("UPDATE badges SET active = 1 WHERE id = ?", (existing["id"],))
        return existing["id"]
    return db.execute("INSERT INTO badges (agent_id, uid_hex) VALUES (?, ?)", (agent_id, uid)).lastrowid


def deactivate_badge(db, badge_id):
    db.execute("UPDATE badges SET active = 0 WHERE id = ?", (badge_id,))


# -- login throttling -------------------------------------------------------------------------------------

def failed_logins(db, who, since):
    return scalar(db, "SELECT count(*) FROM login_attempts WHERE who = ? AND t >= ?", (who, since), 0)


def record_failed_login(db, who, t):
    db.execute("INSERT INTO login_attempts (who, t) VALUES (?, ?)", (who, t))


def clear_failed_logins(db, who):
    db.execute("DELETE FROM login_attempts WHERE who = ?", (who,))


# -- notifications -----------------------------------------------------------------------------------------

def notify(db, agent_id, message, t, reservation_id=None):
    db.execute("INSERT INTO notifications (agent_id, reservation_id, t, message) VALUES (?, ?, ?, ?)",
               (agent_id, reservation_id, t, message))


def notifications(db, agent_id, unseen_only=True):
    sql = "SELECT * FROM notifications WHERE agent_id = ?" + (" AND seen = 0" if unseen_only else "")
    return rows(db, sql + " ORDER BY t DESC LIMIT 20", (agent_id,))


def mark_notifications_seen(db, agent_id):
    db.execute("UPDATE notifications SET seen = 1 WHERE agent_id = ?", (agent_id,))
