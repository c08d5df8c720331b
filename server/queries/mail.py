"""The outgoing mail queue (`mail_queue`, migration 0011_mail_queue).

A message is queued by the transaction that causes it (`enqueue`, or a trigger that records the event for
the worker to write up), then claimed, sent and marked by the worker (server/mail/worker.py). A claim is a
lease: a worker that dies while sending leaves the row to be claimed again once the lease ran out.
"""

from server.db import row, rows, scalar, write

STATUSES = ("compose", "pending", "sending", "sent", "failed")


def enqueue(db, now, kind, to, subject, text, html, cc=(), ics=None, ref_id=None, dedup=None, expires_at=None):
    """Queue one message; returns its id, or None when a message with the same `dedup` key exists."""
    cur = db.execute("""
INSERT OR IGNORE INTO mail_queue (kind, ref_id, dedup, to_addrs, cc_addrs, subject, body_text, body_html, ics,
                                  status, created_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?)""",
        (kind, ref_id, dedup, ", ".join(to), ", ".join(cc), subject, text, html, ics, now, expires_at))
    return cur.lastrowid if cur.rowcount else None


def to_compose(db, limit=100):
    """Events recorded by the triggers, oldest first, waiting for the worker to write their message."""
    return rows(db, """
SELECT id, kind, ref_id, created_at
FROM mail_queue
WHERE status = 'compose'
ORDER BY id
LIMIT ?""", (limit,))


def set_composed(db, mail_id, to, cc, subject, text, html, ics):
    db.execute("""
UPDATE mail_queue
SET to_addrs = :to, cc_addrs = :cc, subject = :subject, body_text = :text, body_html = :html, ics = :ics,
    status = 'pending'
WHERE id = :id
  AND status = 'compose'""", {"to": ", ".join(to), "cc": ", ".join(cc), "subject": subject, "text": text,
                              "html": html, "ics": ics, "id": mail_id})


def drop_event(db, mail_id):
    """An event that needs no message (a booking cancelled before its confirmation was written, no recipient)."""
    db.execute("""
DELETE FROM mail_queue
WHERE id = ?
  AND status = 'compose'""", (mail_id,))


def claim(db, now, lease_s, limit=20):
    """Claim the messages due at `now` (pending, or sending with an expired lease) for `lease_s` seconds.

    Returns the claimed rows; in one BEGIN IMMEDIATE transaction, so two workers never claim one row.
    Messages past their `expires_at` are marked failed instead.
    """
    with write(db):
        db.execute("""
UPDATE mail_queue
SET status = 'failed', last_error = 'périmé avant d''avoir pu partir ; ' || last_error
WHERE status IN ('pending', 'sending')
  AND next_try <= :now
  AND expires_at <= :now""", {"now": now})
        due = rows(db, """
SELECT *
FROM mail_queue
WHERE status IN ('pending', 'sending')
  AND next_try <= ?
ORDER BY next_try, id
LIMIT ?""", (now, limit))
        for m in due:
            db.execute("""
UPDATE mail_queue
SET status = 'sending', next_try = ?, attempts = attempts + 1
WHERE id = ?""", (now + lease_s, m["id"]))
            m["attempts"] += 1
        return due


def mark_sent(db, mail_id, now, note=""):
    db.execute("""
UPDATE mail_queue
SET status = 'sent', sent_at = ?, last_error = ?
WHERE id = ?""", (now, note, mail_id))


def mark_retry(db, mail_id, next_try, error):
    db.execute("""
UPDATE mail_queue
SET status = 'pending', next_try = ?, last_error = ?
WHERE id = ?""", (next_try, error, mail_id))


def mark_failed(db, mail_id, error):
    db.execute("""
UPDATE mail_queue
SET status = 'failed', last_error = ?
WHERE id = ?""", (error, mail_id))


def resend(db, mail_id, now):
    """Put a failed (or sent) message back in the queue, due now, with a fresh count of tries; False when
    there is no such message or it expired (a reminder once the booking started, an expired link)."""
    return db.execute("""
UPDATE mail_queue
SET status = 'pending', next_try = :now, attempts = 0
WHERE id = :id
  AND status IN ('failed', 'sent')
  AND (expires_at IS NULL OR expires_at > :now)""", {"now": now, "id": mail_id}).rowcount == 1


def purge_sent(db, before):
    """Forget messages sent and created before `before` (they hold personal data); returns how many."""
    return db.execute("""
DELETE FROM mail_queue
WHERE created_at < ?
  AND status = 'sent'""", (before,)).rowcount


def get(db, mail_id):
    return row(db, """
SELECT *
FROM mail_queue
WHERE id = ?""", (mail_id,))


def listing(db, status=None, limit=200):
    """Newest first; `status` None lists every message."""
    where = """
WHERE status = ?""" if status else ""
    params = (status, limit) if status else (limit,)
    return rows(db, """
SELECT id, kind, to_addrs, cc_addrs, subject, status, attempts, next_try, expires_at, last_error,
       created_at, sent_at
FROM mail_queue""" + where + """
ORDER BY id DESC
LIMIT ?""", params)


def counts(db):
    found = {s: 0 for s in STATUSES}
    for r in rows(db, """
SELECT status, count(*) AS n
FROM mail_queue
GROUP BY status"""):
        found[r["status"]] = r["n"]
    return found


def pending_count(db):
    return scalar(db, """
SELECT count(*)
FROM mail_queue
WHERE status IN ('compose', 'pending', 'sending')""", (), 0)


# -- what the messages are about ---------------------------------------------------------------------------

BOOKING_SQL = """
SELECT r.id, r.start, r.end, r.status, r.purpose, r.destination, r.created_at, r.started_at,
       v.plate, v.model, v.department_id AS vehicle_department_id, p.name AS pool_name,
       a.id AS agent_id, a.name AS agent_name, a.email, a.active AS agent_active,
       a.department_id AS agent_department_id
FROM reservations r
JOIN vehicles v ON v.id = r.vehicle_id
JOIN pools p ON p.id = v.pool_id
JOIN agents a ON a.id = r.agent_id"""


def booking(db, reservation_id):
    return row(db, BOOKING_SQL + """
WHERE r.id = ?""", (reservation_id,))


def due_reminders(db, now, window_s):
    """Bookings starting within `window_s` whose agent wants reminders, booked before the window opened."""
    return rows(db, BOOKING_SQL + """
WHERE r.status = 'booked'
  AND r.start > ?
  AND r.start <= ?
  AND r.unplanned = 0
  AND r.started_at IS NULL
  AND r.created_at <= r.start - ?
  AND a.active = 1
  AND a.mail_reminders = 1
  AND NOT EXISTS (SELECT 1
                  FROM mail_queue m
                  WHERE m.dedup = 'reminder:' || r.id || ':' || r.start)""", (now, now + window_s, window_s))


def late_returns(db, now, late_s, max_span_s):
    """Bookings whose car is still out (trip open) more than `late_s` after the booking's end (an on-the-spot
    trip's reservation follows the trip: it is never late)."""
    return rows(db, BOOKING_SQL + """
JOIN trips t ON t.reservation_id = r.id
WHERE t.end IS NULL
  AND t.start > ?
  AND r.end < ?
  AND r.unplanned = 0
  AND NOT EXISTS (SELECT 1
                  FROM mail_queue m
                  WHERE m.dedup = 'late:' || r.id || ':' || r.end)""", (now - max_span_s, now - late_s))


def managers(db, department_ids):
    """E-mail addresses of the active fleet managers of these departments (administrators when none)."""
    ids = sorted({d for d in department_ids if d is not None})
    found = [r["email"] for r in rows(db, """
SELECT email
FROM agents
WHERE role = 'manager'
  AND active = 1
  AND department_id IN (%s)
ORDER BY email""" % ",".join("?" * len(ids)), ids)] if ids else []
    return found or administrators(db)


def administrators(db):
    return [r["email"] for r in rows(db, """
SELECT email
FROM agents
WHERE role = 'admin'
  AND active = 1
ORDER BY email""")]


def problem(db, report_id):
    return row(db, """
SELECT pr.*, v.plate, v.model, v.department_id AS vehicle_department_id, a.name AS agent_name,
       a.email AS agent_email
FROM problem_reports pr
JOIN vehicles v ON v.id = pr.vehicle_id
JOIN agents a ON a.id = pr.agent_id
WHERE pr.id = ?""", (report_id,))


def set_reminders(db, agent_id, enabled):
    db.execute("""
UPDATE agents
SET mail_reminders = ?
WHERE id = ?""", (1 if enabled else 0, agent_id))
