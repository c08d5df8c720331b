"""Server test fixtures: a real SQLite file per test, the real app, its test client and CLI runner."""

import datetime
import re
import time

import pytest

from server import create_app, timeutil
from server.db import connect, init_db
from server.queries import agents as agents_q
from server.queries import org, positions

from mail_support import mail_app, sink  # noqa: F401,E402  (fixtures: a real SMTP server and an app using it)

PASSWORD = "mot-de-passe-test"


@pytest.fixture(autouse=True)
def fast_password_hashes(monkeypatch):
    """scrypt costs ~0.3 s a hash on a shared CI core; the tests check behaviour, not hash strength."""
    monkeypatch.setattr(agents_q, "PASSWORD_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "DATABASE": str(tmp_path / "autopartage.sqlite"), "SECRET_KEY": "test",
                      "SESSION_COOKIE_SECURE": False, "MAINTENANCE_ON_REQUEST": False})
    with app.app_context():
        init_db()
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    conn = connect(app.config["DATABASE"])
    yield conn
    conn.conn.close()


class Fleet:
    """A small fleet: departments DDT and DDPP, one pool each (DDT's shared with DDPP and on-the-spot),
    two cars, an agent per department, a manager of DDT and an administrator."""

    def __init__(self, db):
        self.db = db
        self.ddt = org.ensure_department(db, "DDT", "Direction départementale des territoires")
        self.ddpp = org.ensure_department(db, "DDPP", "Direction départementale de la protection des populations")
        for dept in (self.ddt, self.ddpp):  # trips at any hour (tests of the working-hours rule undo it)
            positions.track_at_any_hour(db, dept)
        self.pool = org.ensure_pool(db, "Pool Paixhans", self.ddt, on_the_spot=True)
        self.pool_ddpp = org.ensure_pool(db, "Pool DDPP", self.ddpp)
        org.add_habilitation(db, self.pool, department_id=self.ddt)
        org.add_habilitation(db, self.pool, department_id=self.ddpp)
        org.add_habilitation(db, self.pool_ddpp, department_id=self.ddpp)
        self.car = org.upsert_vehicle(db, "AB-123-CD", "Renault Clio IV", self.pool, self.ddt, 12, 30000)
        self.car2 = org.upsert_vehicle(db, "EF-456-GH", "Toyota Yaris", self.pool_ddpp, self.ddpp, 10, 24000)
        self.agent = self.person("Camille Martin", "camille.martin@ddt.gouv.fr", self.ddt, badge="04a1b2c3d4e5f6")
        self.agent2 = self.person("Dominique Petit", "dominique.petit@ddpp.gouv.fr", self.ddpp, badge="04a1b2c3d4e5f7")
        self.manager = self.person("Claude Roux", "claude.roux@ddt.gouv.fr", self.ddt, role="manager")
        self.admin = self.person("Anne Admin", "anne.admin@ddt.gouv.fr", self.ddt, role="admin")

    def person(self, name, email, dept, role="agent", badge=None):
        agent_id = agents_q.create(self.db, name, email, dept, role=role, password=PASSWORD)
        if badge:
            agents_q.add_badge(self.db, agent_id, badge)
        return agent_id

    def email(self, agent_id):
        return agents_q.get(self.db, agent_id)["email"]


@pytest.fixture
def fleet(db):
    return Fleet(db)


def csrf_of(client, path="/connexion"):
    page = client.get(path)
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def login(client, email, password=PASSWORD):
    token = csrf_of(client)
    response = client.post("/connexion", data={"email": email, "password": password, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    return csrf_of(client, "/compte")  # the session (and its CSRF token) is renewed at login


@pytest.fixture
def as_user(client, fleet):
    """as_user(agent_id) logs the client in and returns the CSRF token of its session."""
    return lambda agent_id: login(client, fleet.email(agent_id))


def future(hours=24):
    """An epoch `hours` ahead, rounded down to the hour."""
    t = int(time.time()) + hours * 3600
    return t - t % 3600


def local_day_at(days, hhmm):
    """The epoch of `hhmm` Paris time `days` after today's date in Paris: inside the calendar's day view
    (07-20 h) whatever the hour the test runs."""
    day = timeutil.local(int(time.time())).date() + datetime.timedelta(days=days)
    return timeutil.parse_local(day.isoformat(), hhmm)
