"""Agents (people and accounts), their badges, login throttling and notifications."""

import re
import secrets
import time

from werkzeug.security import check_password_hash, generate_password_hash

from server.db import row, rows, scalar, write

ROLES = ("agent", "manager", "admin")
ROLE_LABELS = {"agent": "agent", "manager": "gestionnaire de flotte", "admin": "administrateur"}
UID_RE = re.compile(r"^(?:[0-9a-f]{2}){4,10}$")

# OWASP's current scrypt recommendation (N=2^17, r=8, p=1: 128 MiB, ~0.3 s a hash); werkzeug's default
# scrypt:32768:8:1 is below it. Tests lower it to keep the suite fast; production never should.
PASSWORD_METHOD = "scrypt:131072:8:1"

AGENT_SQL = """
SELECT a.*, d.code AS department_code
FROM agents a
JOIN departments d ON d.id = a.department_id"""


def normalize_uid(text):
    """Badge UID as lowercase hex without separators ('04:A2:...' -> '04a2...'), or None if not 4-10 bytes."""
    uid = re.sub(r"[\s:\-]", "", text or "").lower()
    return uid if UID_RE.match(uid) else None


def get(db, agent_id):
    return row(db, AGENT_SQL + """
WHERE a.id = ?""", (agent_id,))


def by_email(db, email):
    return row(db, AGENT_SQL + """
WHERE a.email = ?""", ((email or "").strip(),))


def by_ical_token(db, token):
    return row(db, AGENT_SQL + """
WHERE a.ical_token = ?
  AND a.active = 1""", (token,))


def list_agents(db, department_id=None, query=None, limit=500, offset=0):
    where, params = [], []
    if department_id is not None:
        where.append("a.department_id = ?")
        params.append(department_id)
    if query:
        where.append("(a.name LIKE ? OR a.email LIKE ?)")
        params += ["%" + query + "%"] * 2
    columns = """SELECT a.id, a.name, a.email, a.role, a.active, a.department_id, a.permanent_access,
       (SELECT count(*)
        FROM badges b
        WHERE b.agent_id = a.id
          AND b.active) AS badges"""
    sql = (AGENT_SQL.replace("SELECT a.*", columns)
           + ("\nWHERE " + "\n  AND ".join(where) if where else "") + """
ORDER BY a.name, a.id
LIMIT %d OFFSET %d""" % (limit, offset))
    return rows(db, sql, params)


def create(db, name, email, department_id, role="agent", password=None):
    """Create an agent (an account once it has a password); returns the id. Permanent access is granted
    apart (`set_permanent_access`), by an administrator, with its scope."""
    if role not in ROLES:
        raise ValueError(role)
    return db.execute("""
INSERT INTO agents (name, email, department_id, role, password_hash, ical_token)
VALUES (?, ?, ?, ?, ?, ?)""",
        (name.strip(), email.strip(), department_id, role,
         generate_password_hash(password, method=PASSWORD_METHOD) if password else None,
         secrets.token_urlsafe(24))).lastrowid


def upsert(db, name, email, department_id):
    """Create the agent with this e-mail or update their name and department; returns the id."""
    with write(db):
        found = by_email(db, email)
        if found:
            db.execute("""
UPDATE agents
SET name = ?, department_id = ?
WHERE id = ?""", (name.strip(), department_id, found["id"]))
            return found["id"]
        return create(db, name, email, department_id)


def update(db, agent_id, role=None, department_id=None, active=None):
    for column, value in (("role", role), ("department_id", department_id), ("active", active)):
        if value is not None:
            if column == "role" and value not in ROLES:
                raise ValueError(value)
            db.execute("""
UPDATE agents
SET %s = ?
WHERE id = ?""" % column, (int(value) if column == "active" else value, agent_id))
    if active is not None and not active:
        end_sessions(db, agent_id)


def permanent_scopes(db, agent_id):
    """{"pools": [pool ids], "departments": [department ids]} where the agent's permanent access applies."""
    found = {"pools": [], "departments": []}
    for r in db.execute("""
SELECT pool_id, department_id
FROM permanent_grants
WHERE agent_id = ?
ORDER BY pool_id, department_id""", (agent_id,)):
        if r[0] is not None:
            found["pools"].append(r[0])
        else:
            found["departments"].append(r[1])
    return found


def set_permanent_access(db, agent_id, pool_ids=(), department_ids=(), granted_by=None, now=None):
    """Replace the agent's permanent access by these pools and departments (none: no permanent access);
    returns (before, after) scopes. The allow-list's change stamps (triggers) carry it to the boxes."""
    now = int(time.time()) if now is None else now
    with write(db):
        before = permanent_scopes(db, agent_id)
        db.execute("""
DELETE FROM permanent_grants
WHERE agent_id = ?""", (agent_id,))
        db.conn.executemany("""
INSERT INTO permanent_grants (agent_id, pool_id, granted_by, granted_at)
VALUES (?, ?, ?, ?)""", [(agent_id, p, granted_by, now) for p in sorted(set(pool_ids))])
        db.conn.executemany("""
INSERT INTO permanent_grants (agent_id, department_id, granted_by, granted_at)
VALUES (?, ?, ?, ?)""", [(agent_id, d, granted_by, now) for d in sorted(set(department_ids))])
        db.execute("""
UPDATE agents
SET permanent_access = ?
WHERE id = ?""", (1 if pool_ids or department_ids else 0, agent_id))
        return before, permanent_scopes(db, agent_id)


def set_password(db, agent_id, password, by_someone_else=False):
    """Store a new password hash and end every session of the account. A password someone else chose
    (an administrator, a manager) must be changed at the next login."""
    db.execute("""
UPDATE agents
SET password_hash = ?, must_change_password = ?
WHERE id = ?""", (generate_password_hash(password, method=PASSWORD_METHOD), 1 if by_someone_else else 0, agent_id))
    end_sessions(db, agent_id)


def end_sessions(db, agent_id):
    """Invalidate every session cookie of the account (their session version no longer matches)."""
    db.execute("""
UPDATE agents
SET session_version = session_version + 1
WHERE id = ?""", (agent_id,))


def check_login(db, email, password):
    """The active agent whose e-mail and password match, or None.

    An unknown e-mail (or an account without password) costs one hash too, so the answer's time does not
    tell which e-mails have an account. A match whose hash uses weaker parameters than today's is rehashed.
    """
    agent = by_email(db, email)
    if not agent or not agent["active"] or not agent["password_hash"]:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(agent["password_hash"], password):
        return None
    if not agent["password_hash"].startswith(PASSWORD_METHOD + "$"):
        db.execute("""
UPDATE agents
SET password_hash = ?
WHERE id = ?""", (generate_password_hash(password, method=PASSWORD_METHOD), agent["id"]))
    return agent


_dummy_hashes = {}


def _dummy_hash():
    """A hash of a random password with today's method (computed once per method)."""
    if PASSWORD_METHOD not in _dummy_hashes:
        _dummy_hashes[PASSWORD_METHOD] = generate_password_hash(secrets.token_hex(16), method=PASSWORD_METHOD)
    return _dummy_hashes[PASSWORD_METHOD]


def rotate_ical_token(db, agent_id):
    token = secrets.token_urlsafe(24)
    db.execute("""
UPDATE agents
SET ical_token = ?
WHERE id = ?""", (token, agent_id))
    return token


# -- badges ---------------------------------------------------------------------------------------------

def badges(db, agent_id):
    """The agent's badges, UID masked (pages never show a full UID)."""
    result = rows(db, """
SELECT id, uid_hex, active
FROM badges
WHERE agent_id = ?
ORDER BY id""", (agent_id,))
    for b in result:
        b["masked"] = "…" + b.pop("uid_hex")[-4:]
    return result


def add_badge(db, agent_id, uid_hex):
    """Attach a badge (UID hex) to an agent. Returns the badge id; raises ValueError if the UID is taken."""
    uid = normalize_uid(uid_hex)
    if uid is None:
        raise ValueError("uid")
    existing = row(db, """
SELECT id, agent_id
FROM badges
WHERE uid_hex = ?""", (uid,))
    if existing:
        if existing["agent_id"] != agent_id:
            raise ValueError("taken")
        db.execute("""
UPDATE badges
SET active = 1
WHERE id = ?""", (existing["id"],))
        return existing["id"]
    return db.execute("""
INSERT INTO badges (agent_id, uid_hex)
VALUES (?, ?)""", (agent_id, uid)).lastrowid


def has_badge(db, agent_id, uid_hex):
    return bool(scalar(db, """
SELECT 1
FROM badges
WHERE agent_id = ?
  AND uid_hex = ?
  AND active = 1""", (agent_id, uid_hex)))


def badge_taken(db, uid_hex):
    """Whether any agent holds this UID (active or not: a UID is never given to two people)."""
    return bool(scalar(db, """
SELECT 1
FROM badges
WHERE uid_hex = ?""", (uid_hex,)))


def badge_owner(db, badge_id):
    return scalar(db, """
SELECT agent_id
FROM badges
WHERE id = ?""", (badge_id,))


def deactivate_badge(db, badge_id):
    db.execute("""
UPDATE badges
SET active = 0
WHERE id = ?""", (badge_id,))


# -- login throttling -------------------------------------------------------------------------------------

def failed_logins(db, who, since):
    """(number of failures of `who` since `since`, time of the last one or 0)."""
    r = db.execute("""
SELECT count(*), max(t)
FROM login_attempts
WHERE who = ?
  AND t >= ?""", (who, since)).fetchone()
    return r[0], r[1] or 0


def record_failed_login(db, who, t):
    db.execute("""
INSERT INTO login_attempts (who, t)
VALUES (?, ?)""", (who, t))


def clear_failed_logins(db, who):
    db.execute("""
DELETE FROM login_attempts
WHERE who = ?""", (who,))


def forget_failed_logins(db, before):
    """Drop failures older than `before` (they no longer count)."""
    db.execute("""
DELETE FROM login_attempts
WHERE t < ?""", (before,))


# -- notifications -----------------------------------------------------------------------------------------

def notify(db, agent_id, message, t, reservation_id=None):
    db.execute("""
INSERT INTO notifications (agent_id, reservation_id, t, message)
VALUES (?, ?, ?, ?)""", (agent_id, reservation_id, t, message))


def notifications(db, agent_id, unseen_only=True):
    sql = """
SELECT *
FROM notifications
WHERE agent_id = ?""" + ("\n  AND seen = 0" if unseen_only else "")
    return rows(db, sql + """
ORDER BY t DESC
LIMIT 20""", (agent_id,))


def mark_notifications_seen(db, agent_id):
    db.execute("""
UPDATE notifications
SET seen = 1
WHERE agent_id = ?""", (agent_id,))
