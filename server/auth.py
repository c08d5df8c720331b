"""Accounts: login (throttled), logout, password change; role checks used by every other blueprint.

Roles: `agent` (books for themself), `manager` (fleet manager of one department: its cars, agents,
reports), `admin` (everything). Passwords are werkzeug hashes; the session cookie is HttpOnly,
SameSite=Lax and Secure unless configured otherwise for plain-HTTP development.
"""

import functools
import time

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for

from server.db import get_db, write
from server.mail import accounts
from server.queries import account_tokens
from server.queries import agents as agents_q

bp = Blueprint("auth", __name__)

ROLE_LABELS = {"agent": "Agent", "manager": "Gestionnaire de flotte", "admin": "Administrateur"}


@bp.before_app_request
def load_user():
    g.user = None
    uid = session.get("uid")
    if uid is not None and request.blueprint != "box_api":
        user = agents_q.get(get_db(), uid)
        if user and user["active"] and user["password_hash"]:
            g.user = user
        else:
            session.clear()


def login_required(view):
    @functools.wraps(view)
    def wrapped(**kwargs):
        if g.user is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(**kwargs)

    return wrapped


def role_required(*roles):
    def decorator(view):
        @functools.wraps(view)
        def wrapped(**kwargs):
            if g.user is None:
                return redirect(url_for("auth.login", next=request.path))
            if g.user["role"] not in roles:
                abort(403)
            return view(**kwargs)

        return wrapped

    return decorator


def scope_department():
    """None for an administrator (every department), the manager's own department otherwise."""
    return None if g.user["role"] == "admin" else g.user["department_id"]


def _throttled(db, keys, now):
    window = current_app.config["LOGIN_WINDOW_MINUTES"] * 60
    limit = current_app.config["LOGIN_MAX_FAILURES"]
    return any(agents_q.failed_logins(db, k, now - window) >= limit for k in keys)


@bp.route("/connexion", methods=("GET", "POST"))
def login():
    error = None
    email = ""
    if request.method == "POST":
        db = get_db()
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        now = int(time.time())
        keys = ["mail:" + email.lower(), "ip:" + (request.remote_addr or "")]
        if not email or not password:
            error = "Saisissez votre adresse e-mail et votre mot de passe."
        elif len(email) > 200 or len(password) > 200:
            error = "Adresse e-mail ou mot de passe incorrect."
        elif _throttled(db, keys, now):
            error = "Trop de tentatives échouées : réessayez dans %d minutes." % (
                current_app.config["LOGIN_WINDOW_MINUTES"])
            return render_template("auth/login.html", error=error, email=email), 429
        else:
            user = agents_q.check_login(db, email, password)
            if user is None:
                for k in keys:
                    agents_q.record_failed_login(db, k, now)
                error = "Adresse e-mail ou mot de passe incorrect."
            else:
                agents_q.clear_failed_logins(db, keys[0])
                session.clear()
                session["uid"] = user["id"]
                session.permanent = True
                target = request.args.get("next") or ""
                if not target.startswith("/") or target.startswith("//"):
                    target = url_for("admin.index") if user["role"] != "agent" else url_for("booking.index")
                return redirect(target)
    return render_template("auth/login.html", error=error, email=email), (200 if error is None else 400)


@bp.post("/deconnexion")
def logout():
    session.clear()
    return redirect(url_for("auth.login"))


@bp.route("/compte", methods=("GET", "POST"))
@login_required
def account():
    db = get_db()
    errors = {}
    if request.method == "POST":
        action = request.form.get("action")
        if action == "password":
            current = request.form.get("current") or ""
            new = request.form.get("new") or ""
            confirm = request.form.get("confirm") or ""
            now = int(time.time())
            key = "mail:" + g.user["email"].lower()
            if _throttled(db, [key], now):
                errors["current"] = "Trop de tentatives échouées : réessayez plus tard."
            elif agents_q.check_login(db, g.user["email"], current) is None:
                agents_q.record_failed_login(db, key, now)
                errors["current"] = "Mot de passe actuel incorrect."
            if len(new) < 10:
                errors["new"] = "Le nouveau mot de passe doit faire au moins 10 caractères."
            elif len(new) > 200:
                errors["new"] = "Le nouveau mot de passe est trop long (200 caractères au plus)."
            if new != confirm:
                errors["confirm"] = "Les deux saisies ne correspondent pas."
            if not errors:
                agents_q.set_password(db, g.user["id"], new)
                flash("Mot de passe modifié.")
                return redirect(url_for("auth.account"))
        elif action == "ical":
            agents_q.rotate_ical_token(db, g.user["id"])
            flash("Nouvelle adresse d'agenda créée : l'ancienne ne fonctionne plus.")
            return redirect(url_for("auth.account"))
        else:
            abort(400)
    user = agents_q.get(db, g.user["id"])
    return render_template("auth/account.html", user=user, errors=errors, role_label=ROLE_LABELS[user["role"]],
                           badges=agents_q.badges(db, user["id"]),
                           ical_url=url_for("booking.ical", token=user["ical_token"], _external=True)), (
        400 if errors else 200)


# -- invitation and « mot de passe oublié » (issue 17): single-use e-mailed links ---------------------------

@bp.route("/mot-de-passe-oublie", methods=("GET", "POST"))
def forgot_password():
    if request.method == "POST":
        email = (request.form.get("email") or "").strip()
        if not email:
            return render_template("auth/forgot.html", error="Saisissez votre adresse e-mail."), 400
        db = get_db()
        with write(db):
            accounts.request_reset(db, email, int(time.time()))
        # the same answer whether the address is known or not
        flash("Si cette adresse correspond à un compte actif, un lien pour choisir un nouveau mot de passe vient "
              "d'y être envoyé. Il est valable %d minutes." % current_app.config["RESET_VALID_MINUTES"])
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", error=None)


@bp.route("/mot-de-passe/<token>", methods=("GET", "POST"))
def choose_password(token):
    db = get_db()
    now = int(time.time())
    found = account_tokens.valid(db, token, now)
    if found is None:
        return render_template("auth/choose_password.html", found=None, errors={}), 404
    errors = {}
    if request.method == "POST":
        errors = accounts.password_problems(request.form.get("new") or "", request.form.get("confirm") or "")
        if not errors:
            with write(db):
                if account_tokens.use(db, found["id"], found["agent_id"], now):
                    agents_q.set_password(db, found["agent_id"], request.form["new"])
                else:
                    errors["new"] = "Ce lien vient d'être utilisé."
            if not errors:
                session.clear()
                flash("Mot de passe enregistré : connectez-vous avec votre adresse et ce mot de passe.")
                return redirect(url_for("auth.login"))
    return render_template("auth/choose_password.html", found=found, errors=errors), (400 if errors else 200)
