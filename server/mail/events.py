"""From what happened to the message to send: `send(db, msg, ...)` queues a written message in the caller's
transaction; the worker turns the events the triggers recorded into messages (`compose_recorded`) and
queues the mails that time brings (reminders, late returns: `queue_due`), each once (a dedup key)."""

from server.db import write
from server.mail import messages
from server.queries import mail as mail_q
from server.queries.common import MAX_SPAN_S

BOOKING_KINDS = ("booking_confirmed", "booking_changed", "booking_cancelled", "no_show")


def send(db, now, kind, msg, ref_id=None, dedup=None, expires_at=None):
    """Queue `msg` (a messages.Message); returns the queue id (None: already queued under `dedup`).
    `expires_at`: not sent by then, the message is dropped as failed (a reminder after the start)."""
    return mail_q.enqueue(db, now, kind, msg.to, msg.subject, msg.text, msg.html, cc=msg.cc, ics=msg.ics,
                          ref_id=ref_id, dedup=dedup, expires_at=expires_at)


def _booking_message(db, kind, reservation_id, now):
    b = mail_q.booking(db, reservation_id)
    if b is None or not b["agent_active"]:
        return None
    if kind in ("booking_confirmed", "booking_changed") and (b["status"] != "booked" or b["end"] <= now):
        return None  # cancelled or over before the worker came to it: nothing worth saying any more
    if kind == "booking_cancelled" and b["end"] <= now:
        return None
    return messages.booking(kind, b, now)


def _problem_message(db, report_id):
    p = mail_q.problem(db, report_id)
    if p is None:
        return None
    return messages.problem(p, mail_q.managers(db, [p["vehicle_department_id"]]))


def compose_recorded(db, now, config, limit=100):
    """Write the messages of the events the triggers recorded; returns how many were written."""
    written = 0
    for event in mail_q.to_compose(db, limit):
        if event["kind"] in BOOKING_KINDS:
            msg = _booking_message(db, event["kind"], event["ref_id"], now)
        elif event["kind"] == "problem_reported":
            msg = _problem_message(db, event["ref_id"])
        else:
            msg = None
        with write(db):
            if msg is None or not msg.to:
                mail_q.drop_event(db, event["id"])
            else:
                mail_q.set_composed(db, event["id"], msg.to, msg.cc, msg.subject, msg.text, msg.html, msg.ics)
                written += 1
    return written


def queue_due(db, now, config):
    """Queue the reminders and late-return mails due at `now`; returns how many were queued."""
    queued = 0
    window_s = int(config.get("REMINDER_MINUTES") or 0) * 60
    if window_s > 0:
        for b in mail_q.due_reminders(db, now, window_s):
            with write(db):
                if send(db, now, "reminder", messages.booking("reminder", b, now), ref_id=b["id"],
                        dedup="reminder:%d:%d" % (b["id"], b["start"]), expires_at=b["start"]):
                    queued += 1
    late_s = int(config.get("LATE_RETURN_MAIL_MINUTES") or 0) * 60
    if late_s > 0:
        for b in mail_q.late_returns(db, now, late_s, MAX_SPAN_S):
            if not b["agent_active"]:
                continue
            cc = mail_q.managers(db, [b["agent_department_id"], b["vehicle_department_id"]])
            with write(db):
                if send(db, now, "late_return", messages.booking("late_return", b, now, cc=cc), ref_id=b["id"],
                        dedup="late:%d:%d" % (b["id"], b["end"])):
                    queued += 1
    return queued
