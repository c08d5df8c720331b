"""Pages about mail: the administrators' queue (`/admin/courriels`: pending, sent, failed with the relay's
answer, resend) and each agent's reminder setting (`/compte/courriels`); the `mail-worker` command."""

import signal
import threading
import time

import click
from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask.cli import with_appcontext

from server import forms
from server.auth import login_required, role_required
from server.db import connect, get_db, write
from server.mail import worker
from server.queries import agents as agents_q
from server.queries import mail as mail_q

bp = Blueprint("mail", __name__)

STATUS_LABELS = {"compose": "à rédiger", "pending": "en attente", "sending": "en cours d'envoi", "sent": "envoyé",
                 "failed": "échec"}
KIND_LABELS = {"booking_confirmed": "réservation confirmée", "booking_changed": "réservation modifiée",
               "booking_cancelled": "réservation annulée", "no_show": "réservation libérée", "reminder": "rappel",
               "late_return": "retour en retard", "problem_reported": "signalement", "invite": "invitation",
               "reset": "mot de passe oublié", "feedback_new": "boîte à idées",
               "feedback_answer": "réponse boîte à idées"}


@bp.route("/admin/courriels", methods=("GET", "POST"))
@role_required("admin")
def queue():
    db = get_db()
    if request.method == "POST":
        mail_id = forms.record_id(request.form, "mail_id")
        if mail_q.get(db, mail_id) is None:
            abort(404)
        with write(db):
            resent = mail_q.resend(db, mail_id, int(time.time()))
        flash("Message n° %d remis dans la file : il part au prochain passage de l'envoi." % mail_id if resent else
              "Message n° %d périmé ou en cours : rien à renvoyer (un lien expiré se renvoie depuis la fiche de "
              "l'agent : « Envoyer l'invitation »)." % mail_id)
        return redirect(url_for("mail.queue", etat=request.args.get("etat", "")))
    status = request.args.get("etat") or None
    if status is not None and status not in STATUS_LABELS:
        abort(400, description="État inconnu.")
    return render_template("admin/mail_queue.html", mails=mail_q.listing(db, status), counts=mail_q.counts(db),
                           status=status, labels=STATUS_LABELS, kinds=KIND_LABELS,
                           relay=current_app.config.get("SMTP_HOST"), now=int(time.time()))


@bp.route("/compte/courriels", methods=("GET", "POST"))
@login_required
def preferences():
    db = get_db()
    if request.method == "POST":
        enabled = bool(request.form.get("reminders"))
        mail_q.set_reminders(db, g.user["id"], enabled)
        flash("Rappels par e-mail %s." % ("activés" if enabled else "désactivés"))
        return redirect(url_for("mail.preferences"))
    return render_template("auth/mail_preferences.html", user=agents_q.get(db, g.user["id"]),
                           minutes=current_app.config["REMINDER_MINUTES"])


@click.command("mail-worker")
@with_appcontext
@click.option("--once", is_flag=True, help="Un seul passage (file, rappels, envoi), puis quitte.")
def mail_worker_command(once):
    """Envoie les courriels en file (à faire tourner en service à côté du serveur web)."""
    config = current_app.config
    if not config.get("SMTP_HOST"):
        click.echo("SMTP_HOST n'est pas réglé : les courriels restent en file.", err=True)
    db = connect(config["DATABASE"])
    try:
        if once:
            done = worker.run_once(db, config)
            click.echo(" ".join("%s=%s" % kv for kv in sorted(done.items())))
            return
        _loop(db, config)
    finally:
        db.conn.close()


def _loop(db, config):
    """Rounds until SIGTERM (a service manager stopping the worker) or Ctrl-C."""
    stopping = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda _sig, _frame: stopping.set())
    try:
        worker.serve(db, config, stopping)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
