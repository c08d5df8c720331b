"""Accounts: login (throttled), logout, password change; role checks used by every other blueprint.

Roles: `agent` (books for themself), `manager` (fleet manager of one department: its cars, agents,
reports), `admin` (everything); who may change what on whom is `server.permissions`. Passwords are
werkzeug scrypt hashes (OWASP parameters); the session cookie is HttpOnly, SameSite=Lax and Secure unless
configured otherwise for plain-HTTP development. The signed cookie carries the account's session version
(bumped by logout, a password change, a deactivation: every session of the account ends at once) and the
login time (absolute lifetime SESSION_ABSOLUTE_HOURS, however active the session).
"""

import functools
import time
import urllib.parse

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, session, url_for

from server.db import get_db, write
from server.mail import accounts
from server.queries import account_tokens
from server.queries import agents as agents_q

bp = Blueprint("auth", __name__)

ROLE_LABELS = {"agent": "Agent", "manager": "Gestionnaire de flotte", "admin": "Administrateur"}


def client_address():
    """The client's address: the peer, or what the trusted proxies say when PROXY_FIX_HOPS is set."""
    return request.remote_addr or ""


def _session_alive(user, now):
    """The session's account is usable and the cookie is neither from an ended session (its version) nor
    older than the absolute lifetime, however active it was."""
    if not (user and user["active"] and user["password_hash"]):
        return False
    if session.get("sv") != user["session_version"]:
        return False
    started = session.get("t0")
    return isinstance(started, int) and 0 <= now - started < current_app.config["SESSION_ABSOLUTE_HOURS"] * 3600


def start_session(user, now):
    """A fresh session (new CSRF token) for `user`, valid for their current session version."""
    session.clear()
    session["uid"] = user["id"]
    session["sv"] = user["session_version"]
    session["t0"] = now
    session.permanent = True


@bp.before_app_request
def load_user():
    g.user = None
    uid = session.get("uid")
    if uid is not None and request.blueprint != "box_api":
        user = agents_q.get(get_db(), uid)
        if _session_alive(user, int(time.time())):
            g.user = user
        else:
            session.clear()
    if g.user is not None and g.user["must_change_password"] and request.endpoint not in (
            "auth.account", "auth.logout", "static"):
        flash("Votre mot de passe a été défini par un tiers : choisissez-en un nouveau pour continuer.")
        return redirect(url_for("auth.account"))
    return None


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


def _throttle_key(email):
    """Failures count per (account, address): a guesser slows down on one account from one address, and
    a colleague behind the same address (a whole prefecture) logs in untouched."""
    return "login:%s|%s" % (email.strip().lower(), client_address())


def _wait_seconds(db, key, now):
    """Seconds before `key` may try again: 0 for the first LOGIN_FREE_FAILURES failures of the window,
    then LOGIN_DELAY_BASE_SECONDS doubled at each failure up to LOGIN_DELAY_MAX_SECONDS. Never a
    lock-out: waiting that long always allows one more try."""
    config = current_app.config
    count, last = agents_q.failed_logins(db, key, now - config["LOGIN_WINDOW_MINUTES"] * 60)
    extra = count - config["LOGIN_FREE_FAILURES"]
    if extra < 0:
        return 0
    delay = min(config["LOGIN_DELAY_BASE_SECONDS"] * (2 ** min(extra, 30)), config["LOGIN_DELAY_MAX_SECONDS"])
    return max(0, last + delay - now)


def _too_many(wait):
    return "Trop de tentatives échouées : réessayez dans %d seconde%s." % (wait, "s" if wait > 1 else "")


def safe_next(target):
    """`target` if it is a path of this site, else None. Browsers drop tabs and newlines from a URL and
    read a backslash as a slash, so "/<tab>/evil.example" or "/<backslash>evil.example" would leave it."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        return None
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/connexion", methods=("GET", "POST"))
def login():
    error = None
    email = ""
    if request.method == "POST":
        db = get_db()
        email = (request.form.get("email") or "").strip()
        password = request.form.get("password") or ""
        now = int(time.time())
        if not email or not password:
            error = "Saisissez votre adresse e-mail et votre mot de passe."
        elif len(email) > 200 or len(password) > 200:
            error = "Adresse e-mail ou mot de passe incorrect."
        else:
            key = _throttle_key(email)
            wait = _wait_seconds(db, key, now)
            if wait:
                return render_template("auth/login.html", error=_too_many(wait), email=email), 429
            user = agents_q.check_login(db, email, password)
            if user is None:
                agents_q.record_failed_login(db, key, now)
                agents_q.forget_failed_logins(db, now - current_app.config["LOGIN_WINDOW_MINUTES"] * 60)
                error = "Adresse e-mail ou mot de passe incorrect."
            else:
                agents_q.clear_failed_logins(db, key)
                start_session(user, now)
                target = safe_next(request.args.get("next"))
                if target is None:
                    target = url_for("admin.index") if user["role"] != "agent" else url_for("booking.index")
                return redirect(target)
    return render_template("auth/login.html", error=error, email=email), (200 if error is None else 400)


@bp.post("/deconnexion")
def logout():
    """Ends every session of the account, not only this browser's (a forgotten session elsewhere too)."""
    if g.user is not None:
        agents_q.end_sessions(get_db(), g.user["id"])
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
            key = _throttle_key(g.user["email"])
            wait = _wait_seconds(db, key, now)
            if wait:
                errors["current"] = _too_many(wait)
            elif agents_q.check_login(db, g.user["email"], current) is None:
                agents_q.record_failed_login(db, key, now)
                errors["current"] = "Mot de passe actuel incorrect."
            if len(new) < 10:
                errors["new"] = "Le nouveau mot de passe doit faire au moins 10 caractères."
            elif len(new) > 200:
                errors["new"] = "Le nouveau mot de passe est trop long (200 caractères au plus)."
            elif new == current:
                errors["new"] = "Le nouveau mot de passe doit être différent de l'actuel."
            if new != confirm:
                errors["confirm"] = "Les deux saisies ne correspondent pas."
            if not errors:
                agents_q.set_password(db, g.user["id"], new)  # ends every session of the account...
                start_session(agents_q.get(db, g.user["id"]), now)  # ...but this one goes on
                flash("Mot de passe modifié : vos autres sessions sont fermées.")
                return redirect(url_for("auth.account"))
        elif action == "ical":
            agents_q.rotate_ical_token(db, g.user["id"])
            flash("Nouvelle adresse d'agenda créée : l'ancienne ne fonctionne plus.")
            return redirect(url_for("auth.account"))
        else:
            abort(400)
    user = agents_q.get(db, g.user["id"])
    g.no_store = True  # the page shows the secret iCal address
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
