"""Every message the server sends, written in French from templates in server/templates/mail/ (a plain
text part and a simple HTML part each), times in Paris time. Needs an app context (templates)."""

from urllib.parse import urlsplit

from flask import current_app, has_request_context, render_template, request

from server import ics, timeutil
from server.queries import problems

BOOKING_SUBJECTS = {
    "booking_confirmed": "Réservation confirmée : %(plate)s, %(start)s",
    "booking_changed": "Réservation modifiée : %(plate)s, %(start)s",
    "booking_cancelled": "Réservation annulée : %(plate)s, %(start)s",
    "no_show": "Réservation libérée faute de badge : %(plate)s, %(start)s",
    "reminder": "Rappel : %(plate)s vous attend le %(start)s",
    "late_return": "Retour en retard : %(plate)s devait être rendu le %(end)s",
}
# Mails whose booking event goes into the agent's calendar (a cancellation removes it).
ICS_KINDS = {"booking_confirmed": False, "booking_changed": False, "booking_cancelled": True, "no_show": True}


class Message:
    def __init__(self, to, subject, text, html, cc=(), ics_text=None):
        self.to = list(to)
        self.cc = [c for c in cc if c not in self.to]
        self.subject = " ".join(subject.split())  # one line: text typed by an agent may end up in a subject
        self.text = text
        self.html = html
        self.ics = ics_text


def base_url(config=None):
    """Where the links in mails point: PUBLIC_URL, else the address of the current request."""
    config = config or current_app.config
    if config.get("PUBLIC_URL"):
        return str(config["PUBLIC_URL"]).rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://127.0.0.1:5000"


def _render(name, **context):
    context.setdefault("base", base_url())
    return (render_template("mail/%s.txt" % name, **context).strip() + "\n",
            render_template("mail/%s.html" % name, **context))


def booking(kind, b, now, cc=()):
    """A booking mail (`b` from queries.mail.booking) to its agent."""
    subject = BOOKING_SUBJECTS[kind] % {"plate": b["plate"], "start": timeutil.fmt(b["start"]),
                                         "end": timeutil.fmt(b["end"])}
    text, html = _render("booking", kind=kind, b=b, subject=subject, now=now,
                         late_min=max(0, (now - b["end"]) // 60))
    calendar = None
    if kind in ICS_KINDS:
        host = urlsplit(base_url()).hostname or "autopartage"
        cancelled = ICS_KINDS[kind]
        calendar = ics.calendar(ics.reservation_event(b, host, now, cancelled=cancelled, sequence=now),
                                method="CANCEL" if cancelled else "PUBLISH")
    return Message([b["email"]], subject, text, html, cc=cc, ics_text=calendar)


def problem(p, to):
    kind = problems.KINDS.get(p["kind"], p["kind"])
    subject = "Signalement (%s) : %s" % (kind.lower(), p["plate"])
    text, html = _render("problem", p=p, kind=kind, subject=subject)
    return Message(to, subject, text, html)


def account_link(purpose, agent, link, expires_at):
    """Invitation to a new account (`invite`) or password reset (`reset`)."""
    subject = ("Autopartage : votre compte est prêt, choisissez votre mot de passe" if purpose == "invite"
               else "Autopartage : réinitialisation de votre mot de passe")
    text, html = _render("account", purpose=purpose, agent=agent, link=link, expires=timeutil.fmt(expires_at),
                         subject=subject)
    return Message([agent["email"]], subject, text, html)


def feedback_answer(fb):
    subject = "Réponse à votre message : %s" % fb["subject"]
    text, html = _render("feedback", fb=fb, subject=subject)
    return Message([fb["agent_email"]], subject, text, html)


def feedback_new(fb, to):
    """A new message in the boîte à idées, to the fleet managers in scope."""
    subject = "Boîte à idées : %s (%s)" % (fb["subject"], fb["agent_name"])
    text, html = _render("feedback_new", fb=fb, subject=subject)
    return Message(to, subject, text, html)
