"""What every page shares: template filters, CSRF protection, French error pages."""

import hmac
import secrets

from flask import abort, jsonify, render_template, request, session
from werkzeug.exceptions import HTTPException

from server import timeutil

ERROR_TEXT = {
    400: "Requête invalide.",
    403: "Accès refusé : votre rôle ne permet pas d'ouvrir cette page.",
    404: "Page introuvable.",
    405: "Méthode non autorisée.",
    413: "Envoi trop volumineux.",
    429: "Trop de tentatives : réessayez dans quelques minutes.",
    500: "Erreur interne : l'incident est enregistré.",
}


def csrf_token():
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def euros(cents):
    cents = int(cents or 0)
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return "%s%s,%02d €" % (sign, "{:,}".format(whole).replace(",", "\u202f"), rest)


def init_app(app):
    app.jinja_env.filters["dt"] = timeutil.fmt
    app.jinja_env.filters["date"] = timeutil.fmt_date
    app.jinja_env.filters["day"] = timeutil.fmt_day
    app.jinja_env.filters["hm"] = lambda t: timeutil.fmt(t, with_date=False)
    app.jinja_env.filters["euros"] = euros
    app.jinja_env.filters["isodate"] = lambda t: timeutil.local(t).date().isoformat() if t else ""
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.before_request
    def _csrf():
        if request.method in ("GET", "HEAD", "OPTIONS") or request.blueprint == "box_api":
            return
        sent = request.form.get("csrf_token", "") or request.headers.get("X-CSRF-Token", "")
        expected = session.get("csrf", "")
        # compared as bytes: compare_digest refuses a str with non-ASCII characters (a 500 otherwise)
        if not expected or not hmac.compare_digest(sent.encode("utf-8"), expected.encode("utf-8")):
            abort(400, description="Jeton de sécurité du formulaire invalide ou expiré : rechargez la page.")

    @app.errorhandler(HTTPException)
    def _http_error(exc):
        code = exc.code or 500
        if request.path.startswith("/api/"):
            return jsonify({"error": code, "message": exc.description}), code
        message = exc.description if code in (400, 429) and exc.description and not exc.description.startswith(
            "The ") else ERROR_TEXT.get(code, "Erreur.")
        return render_template("error.html", code=code, message=message), code

    @app.errorhandler(Exception)
    def _crash(exc):
        app.logger.exception("unhandled error")
        if request.path.startswith("/api/"):
            return jsonify({"error": 500}), 500
        return render_template("error.html", code=500, message=ERROR_TEXT[500]), 500
