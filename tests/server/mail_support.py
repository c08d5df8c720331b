"""Mail test support: a real SMTP server on 127.0.0.1 (server.mail.sink, aiosmtpd) and an app whose relay
is that server. conftest.py imports the fixtures."""

import re

import pytest

from server import create_app
from server.db import init_db
from server.mail import worker
from server.mail.sink import Sink

PUBLIC_URL = "https://autopartage.test"


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


def mail_config(tmp_path, sink, **extra):
    config = {"TESTING": True, "DATABASE": str(tmp_path / "autopartage.sqlite"), "SECRET_KEY": "test",
              "SESSION_COOKIE_SECURE": False, "MAINTENANCE_ON_REQUEST": False, "SMTP_HOST": "127.0.0.1",
              "SMTP_PORT": sink.port, "SMTP_SECURITY": "none", "SMTP_TIMEOUT_SECONDS": 1,
              "MAIL_FROM": "Autopartage <autopartage@paixhans.test>", "PUBLIC_URL": PUBLIC_URL,
              "MAIL_RETRY_BASE_SECONDS": 10, "MAIL_MAX_ATTEMPTS": 6}
    config.update(extra)
    return config


@pytest.fixture
def mail_app(tmp_path, sink):
    """The conftest `app`, with the sink as its relay (the conftest fixtures client/db/fleet follow it)."""
    app = create_app(mail_config(tmp_path, sink))
    with app.app_context():
        init_db()
    return app


def run_worker(app, db, now=None):
    with app.app_context():
        return worker.run_once(db, app.config, now)


def body(msg, subtype="plain"):
    return msg.get_body(preferencelist=(subtype,)).get_content()


def link_in(msg):
    return re.search(re.escape(PUBLIC_URL) + r"/\S+", body(msg)).group(0)
