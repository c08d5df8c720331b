"""The mail worker: writes up the events the triggers recorded, queues reminders and late-return mails when
they fall due, and sends what is due over SMTP with retries and exponential backoff.

Pages only ever insert rows, so a slow or dead relay never slows a page. Each message is claimed with a
lease before it is sent and marked sent right after the relay accepted it: a message is sent again only
if the worker dies between the relay's "250" and that mark (its Message-ID stays the same then).

In production one `flask --app server mail-worker` process runs beside the WSGI server (docs/server.md);
`MAIL_WORKER_THREAD = True` runs the same loop in a thread of the app instead (development, the demo).
"""

import logging
import threading
import time

from server.db import connect
from server.mail import events, smtp
from server.queries import mail as mail_q

log = logging.getLogger(__name__)


def backoff_s(attempts, base_s, cap_s):
    """Delay before the next try after `attempts` tries: base, 2 base, 4 base... capped."""
    return int(min(cap_s, base_s * 2 ** max(0, attempts - 1)))


def send_due(db, settings, now, config):
    """Claim the due messages and send them in one SMTP session. Returns {"sent", "retry", "failed"}."""
    done = {"sent": 0, "retry": 0, "failed": 0}
    lease_s = max(300, int(4 * settings.timeout_s))
    batch = mail_q.claim(db, now, lease_s, limit=int(config.get("MAIL_BATCH", 20)))
    if not batch:
        return done

    def retry(m, answer):
        if m["attempts"] >= int(config["MAIL_MAX_ATTEMPTS"]):
            mail_q.mark_failed(db, m["id"], "abandonné après %d essais : %s" % (m["attempts"], answer))
            done["failed"] += 1
        else:
            delay = backoff_s(m["attempts"], int(config["MAIL_RETRY_BASE_SECONDS"]),
                              int(config["MAIL_RETRY_MAX_SECONDS"]))
            mail_q.mark_retry(db, m["id"], now + delay, answer)
            done["retry"] += 1

    try:
        with smtp.Session(settings) as session:
            for i, m in enumerate(batch):
                try:
                    msg = smtp.build(settings, m)
                except (ValueError, TypeError) as exc:  # a header the mail library refuses: never sendable
                    mail_q.mark_failed(db, m["id"], "message invalide : %s" % exc)
                    done["failed"] += 1
                    continue
                try:
                    note = session.send(msg)
                except smtp.SendError as exc:
                    if exc.permanent:
                        mail_q.mark_failed(db, m["id"], exc.answer)
                        done["failed"] += 1
                    else:
                        retry(m, exc.answer)
                    if exc.connection:
                        for rest in batch[i + 1:]:
                            retry(rest, exc.answer)
                        break
                else:
                    mail_q.mark_sent(db, m["id"], int(time.time()), note)
                    done["sent"] += 1
    except smtp.SendError as exc:  # no session at all: every claimed message waits for its next try
        log.warning("SMTP relay unavailable: %s", exc.answer)
        for m in batch:
            retry(m, exc.answer)
    return done


def run_once(db, config, now=None):
    """One round: due events, composition, sending. Returns what was done (for the CLI and the tests)."""
    now = int(time.time()) if now is None else now
    done = {"queued": events.queue_due(db, now, config), "composed": events.compose_recorded(db, now, config)}
    keep_days = int(config.get("MAIL_KEEP_DAYS") or 0)
    if keep_days:
        mail_q.purge_sent(db, now - keep_days * 86400)
    settings = smtp.Settings.from_config(config)
    if settings is not None:
        done.update(send_due(db, settings, now, config))
    return done


def serve(db, config, stopping):
    """`run_once` every MAIL_POLL_SECONDS until the `stopping` event is set (the thread and the CLI)."""
    while not stopping.is_set():
        try:
            run_once(db, config)
        except Exception:  # a bad row or a locked database must not end the worker
            log.exception("mail worker round failed")
            if db.conn.in_transaction:
                db.conn.rollback()
        stopping.wait(float(config["MAIL_POLL_SECONDS"]))


class Worker(threading.Thread):
    """`run_once` every MAIL_POLL_SECONDS in a daemon thread with its own connection and app context."""

    def __init__(self, app):
        threading.Thread.__init__(self, name="mail-worker", daemon=True)
        self.app = app
        self.stopping = threading.Event()

    def run(self):
        with self.app.app_context():
            db = connect(self.app.config["DATABASE"])
            try:
                serve(db, self.app.config, self.stopping)
            finally:
                db.conn.close()

    def stop(self, timeout=10):
        self.stopping.set()
        self.join(timeout)
