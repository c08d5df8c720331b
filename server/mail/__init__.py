"""Outgoing mail (issue 17): a queue in the database, a worker that sends it over SMTP, French messages.

- `smtp`: settings, MIME building, one SMTP session per batch, errors sorted into permanent/temporary.
- `messages`: the messages (templates in server/templates/mail/).
- `events`: queue a written message in the caller's transaction; write up the events the database
  triggers recorded (bookings confirmed, changed, cancelled, released; problems reported); queue the
  reminders and late-return mails when they fall due.
- `worker`: the sending loop (`flask --app server mail-worker`, or a thread with MAIL_WORKER_THREAD).
- `views`: the administrators' queue page, each agent's reminder setting.
- `sink`: a local SMTP server that keeps what it receives (tests and the demo only).
"""

import threading

DEFAULTS = {
    "SMTP_HOST": None,                  # no relay: mail is queued and waits
    "SMTP_PORT": None,                  # default per SMTP_SECURITY: 25 / 587 / 465
    "SMTP_USER": None,                  # login only when set
    "SMTP_PASSWORD": None,
    "SMTP_SECURITY": "starttls",        # none, starttls or tls
    "SMTP_TIMEOUT_SECONDS": 30,
    "SMTP_CA_FILE": None,               # CA bundle of a relay with a private certificate authority
    "MAIL_FROM": "Autopartage <autopartage@localhost>",
    "PUBLIC_URL": None,                 # links in mails (https://autopartage.example.gouv.fr); default: the request's
    "MAIL_WORKER_THREAD": False,        # True: the app runs the worker in a thread (development, demo)
    "MAIL_POLL_SECONDS": 5,
    "MAIL_MAX_ATTEMPTS": 10,            # then the message is marked failed (resend from the queue page)
    "MAIL_RETRY_BASE_SECONDS": 60,      # 1, 2, 4, 8 ... minutes between tries
    "MAIL_RETRY_MAX_SECONDS": 6 * 3600,
    "MAIL_KEEP_DAYS": 90,               # sent messages are forgotten after this (personal data); 0: kept
    "REMINDER_MINUTES": 60,             # reminder this long before a booking starts (0: none)
    "LATE_RETURN_MAIL_MINUTES": 15,     # late-return mail once a car is this late (0: none)
    "INVITATION_VALID_HOURS": 7 * 24,
    "RESET_VALID_MINUTES": 60,
    "DEMO_MAILBOX": None,               # demo only: the sink's mailbox file, shown at /demo/courriels
}


_START_LOCK = threading.Lock()


def init_app(app):
    from server.mail import smtp, views, worker

    smtp.Settings.from_config(app.config)  # a wrong SMTP_SECURITY stops the start with a clear message

    app.register_blueprint(views.bp)
    app.cli.add_command(views.mail_worker_command)
    if app.config.get("DEMO_MAILBOX"):
        from server.mail import demo_page

        app.register_blueprint(demo_page.bp)
    if app.config.get("MAIL_WORKER_THREAD"):
        # started by the first request, once the database exists (the app is often made before init-db)
        app.extensions["mail_worker"] = worker.Worker(app)

        @app.before_request
        def _start_mail_worker():
            w = app.extensions["mail_worker"]
            if not w.is_alive() and not w.stopping.is_set():
                with _START_LOCK:
                    if not w.is_alive() and not w.stopping.is_set():
                        w.start()
