"""Autopartage server: Flask app factory (`flask --app server run`, `flask --app server init-db`, ...).

Configuration, later wins: defaults below, then `instance/config.py`, then AUTOPARTAGE_* environment
variables (`AUTOPARTAGE_DATABASE=/var/lib/autopartage.sqlite`, values parsed as JSON when they can be).
A test passes `test_config` instead of the instance file and the environment.
"""

import logging
import os
import secrets
import time

from flask import Flask, request
from werkzeug.middleware.proxy_fix import ProxyFix

from server import mail

DEFAULTS = {
    "DATABASE": None,                   # default: <instance>/autopartage.sqlite
    "SECRET_KEY": None,                 # default: generated once into <instance>/secret_key
    "SESSION_COOKIE_SECURE": True,      # set False only for plain-HTTP development
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "PERMANENT_SESSION_LIFETIME": 12 * 3600,
    "SESSION_ABSOLUTE_HOURS": 12,       # a session ends this long after its login, however active
    "PROXY_FIX_HOPS": 0,                # reverse proxies trusted for X-Forwarded-For/-Proto (docs/server.md)
    "MAX_CONTENT_LENGTH": 1 << 20,
    "BOOKING_MIN_MINUTES": 15,
    "BOOKING_MAX_HOURS": 72,
    "BOOKING_HORIZON_DAYS": 90,
    "NO_SHOW_DELAY_MINUTES": 30,
    "LATE_WARNING_HOURS": 4,
    "POSITION_RETENTION_DAYS": 61,      # CNIL: raw positions two months, then trip summaries only
    "MAINTENANCE_ON_REQUEST": True,     # run no-show release / purge from requests when due
    "LOGIN_FREE_FAILURES": 3,           # per (account, address) in the window, then a growing delay
    "LOGIN_DELAY_BASE_SECONDS": 2,      # doubled at each further failure...
    "LOGIN_DELAY_MAX_SECONDS": 300,     # ...up to this: a slow-down, never a lock-out
    "LOGIN_WINDOW_MINUTES": 15,
    "ALLOW_HORIZON_HOURS": 48,
    # Map tiles ({z}/{x}/{y} URL, e.g. OpenStreetMap's); empty: tracks on a plain background. Off by default:
    # a tile server learns which area a manager looks at (positions of staff, CNIL).
    "MAP_TILE_URL": "",
    "MAP_TILE_ATTRIBUTION": "© les contributeurs d'OpenStreetMap",
}

log = logging.getLogger(__name__)


def _secret_key(instance_path):
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    with open(path) as f:
        return f.read().strip()


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(mail.DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("AUTOPARTAGE")
    else:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)  # the database and secret_key live there
    if not app.config["DATABASE"]:
        app.config["DATABASE"] = os.path.join(app.instance_path, "autopartage.sqlite")
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _secret_key(app.instance_path)

    from server import admin, agent_import, auth, booking, box_api, cli, db, feedback, headers, views_common

    hops = int(app.config["PROXY_FIX_HOPS"])
    if hops > 0:  # behind the documented reverse proxy: its X-Forwarded-For is the client's address
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    db.init_app(app)
    headers.init_app(app)
    cli.init_app(app)
    views_common.init_app(app)
    app.register_blueprint(auth.bp)
    app.register_blueprint(booking.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(box_api.bp)
    mail.init_app(app)
    app.register_blueprint(feedback.bp)
    app.register_blueprint(agent_import.bp)
    app.session_interface = box_api.SessionInterface()

    app.extensions["autopartage_next_maintenance"] = 0

    @app.before_request
    def _maintenance():
        """Run the due housekeeping (no-show, late returns, daily purge) at most once a minute per process."""
        if not app.config["MAINTENANCE_ON_REQUEST"] or request.endpoint in (None, "static"):
            return
        now = int(time.time())
        if now < app.extensions["autopartage_next_maintenance"]:
            return
        app.extensions["autopartage_next_maintenance"] = now + 60
        from server.queries import maintenance
        from server.queries.common import Rules

        try:
            maintenance.run_due(db.get_db(), now, Rules.from_config(app.config), app.config["POSITION_RETENTION_DAYS"])
        except Exception:  # housekeeping must never break a page or a sync
            log.exception("maintenance failed")

    return app
