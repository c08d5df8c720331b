"""Issue 13, server side: sessions, login throttling, passwords, `next=`, headers, CSRF, files, proxies.

Through the real app on a real SQLite file; no test sleeps: delays are configuration and stored times.
"""

import os
import re
import stat
import time

import pytest
from conftest import PASSWORD, csrf_of, future, login

from server import create_app
from server.db import init_db
from server.queries import agents as agents_q
from server.queries import boxes, positions, reservations, trips
from server.queries.common import Rules

TEMPLATES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "server",
                         "templates")


def _try_login(client, email, password=PASSWORD, **kwargs):
    return client.post("/connexion", data={"email": email, "password": password, "csrf_token": csrf_of(client)},
                       **kwargs)


def _new_app(tmp_path, **config):
    base = {"TESTING": True, "DATABASE": str(tmp_path / "autopartage.sqlite"), "SECRET_KEY": "test",
            "SESSION_COOKIE_SECURE": False, "MAINTENANCE_ON_REQUEST": False}
    app = create_app(dict(base, **config))
    with app.app_context():
        init_db()
    return app


# -- sessions ------------------------------------------------------------------------------------------------

def test_logging_out_ends_every_session_of_the_account(app, fleet):
    office, phone = app.test_client(), app.test_client()
    login(office, fleet.email(fleet.agent))
    login(phone, fleet.email(fleet.agent))
    assert phone.get("/compte").status_code == 200
    office.post("/deconnexion", data={"csrf_token": csrf_of(office, "/compte")})
    assert phone.get("/compte").status_code == 302  # the forgotten session on the phone is over too


def test_a_password_change_ends_the_other_sessions_but_keeps_this_one(app, fleet):
    office, stolen = app.test_client(), app.test_client()
    token = login(office, fleet.email(fleet.agent))
    login(stolen, fleet.email(fleet.agent))
    r = office.post("/compte", data={"action": "password", "current": PASSWORD, "new": "un-tout-nouveau-secret",
                                     "confirm": "un-tout-nouveau-secret", "csrf_token": token})
    assert r.status_code == 302
    assert office.get("/compte").status_code == 200
    assert stolen.get("/compte").status_code == 302


def test_deactivating_an_account_ends_its_sessions_at_once(app, client, db, fleet):
    victim = app.test_client()
    login(victim, fleet.email(fleet.agent))
    token = login(client, fleet.email(fleet.admin))
    client.post("/admin/agents/%d" % fleet.agent, data={"action": "settings", "role": "agent", "csrf_token": token})
    assert agents_q.get(db, fleet.agent)["active"] == 0
    assert victim.get("/compte").status_code == 302


def test_a_session_ends_after_its_absolute_lifetime_however_active(app, client, fleet):
    assert app.config["SESSION_ABSOLUTE_HOURS"] == 12
    login(client, fleet.email(fleet.agent))
    with client.session_transaction() as session:
        session["t0"] -= 11 * 3600
    assert client.get("/compte").status_code == 200
    with client.session_transaction() as session:
        session["t0"] -= 3600 + 1
    assert client.get("/compte").status_code == 302


def test_a_password_set_by_someone_else_must_be_changed_at_the_next_login(app, db, fleet):
    # No page sets another's password any more (invitation links, issue 17); the data layer keeps the rule.
    agents_q.set_password(db, fleet.agent, "provisoire-123", by_someone_else=True)
    agent = app.test_client()
    token = login(agent, fleet.email(fleet.agent), "provisoire-123")
    for page in ("/reserver", "/mes-reservations", "/"):
        r = agent.get(page)
        assert r.status_code == 302 and r.headers["Location"].endswith("/compte"), page
    assert agent.post("/compte", data={"action": "ical", "csrf_token": token}).status_code == 302  # its own page
    r = agent.post("/compte", data={"action": "password", "current": "provisoire-123", "new": "provisoire-123",
                                    "confirm": "provisoire-123", "csrf_token": token})
    assert r.status_code == 400  # the same one again does not count
    r = agent.post("/compte", data={"action": "password", "current": "provisoire-123", "new": "le-mien-a-moi",
                                    "confirm": "le-mien-a-moi", "csrf_token": token})
    assert r.status_code == 302
    assert agent.get("/reserver").status_code == 200
    assert agents_q.get(db, fleet.agent)["must_change_password"] == 0


# -- failed-login throttling -------------------------------------------------------------------------------------

def test_failures_slow_down_one_account_from_one_address_only_and_never_lock_it(app, db, fleet):
    guesser = app.test_client()
    email = fleet.email(fleet.agent)
    free = app.config["LOGIN_FREE_FAILURES"]
    for _ in range(free):
        assert _try_login(guesser, email, "faux").status_code == 400
    r = _try_login(guesser, email)  # even the right password waits: the answer tells nothing
    assert r.status_code == 429 and "réessayez dans 2 secondes" in r.get_data(as_text=True)
    # a colleague behind the same address (a whole prefecture) is not slowed down
    assert _try_login(app.test_client(), fleet.email(fleet.agent2)).status_code == 302
    # the same account from another address neither
    elsewhere = app.test_client()
    assert _try_login(elsewhere, email, environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code == 302
    # each failure doubles the wait, up to the maximum: a slow-down, never a lock-out
    app.config["LOGIN_WINDOW_MINUTES"] = 24 * 60
    longest = app.config["LOGIN_DELAY_MAX_SECONDS"]
    for _ in range(10):
        db.execute("UPDATE login_attempts SET t = t - ?", (longest,))  # as if the guesser waited each time
        assert _try_login(guesser, email, "faux").status_code == 400
    r = _try_login(guesser, email)
    assert r.status_code == 429 and "réessayez dans %d secondes" % longest in r.get_data(as_text=True)
    db.execute("UPDATE login_attempts SET t = t - ?", (longest,))
    assert _try_login(guesser, email).status_code == 302


def test_an_unknown_email_costs_a_password_hash_like_a_known_one(app, fleet, monkeypatch):
    """No account enumeration by timing: with a deliberately slow hash, an unknown e-mail must not answer
    much faster than a wrong password on a real account."""
    monkeypatch.setattr(agents_q, "PASSWORD_METHOD", "pbkdf2:sha256:200000")
    agents_q.set_password(agents_q_db(app), fleet.agent, PASSWORD)
    client = app.test_client()
    addresses = iter("192.0.2.%d" % i for i in range(1, 100))  # one per try: no throttling in the way

    def timed(email):
        t0 = time.perf_counter()
        r = _try_login(client, email, "faux", environ_base={"REMOTE_ADDR": next(addresses)})
        assert r.status_code == 400
        return time.perf_counter() - t0

    timed("personne@ddt.gouv.fr")  # warm-up: the dummy hash is made once
    known = min(timed(fleet.email(fleet.agent)) for _ in range(3))
    unknown = min(timed("personne@ddt.gouv.fr") for _ in range(3))
    assert unknown > 0.5 * known, (unknown, known)


def agents_q_db(app):
    from server.db import connect

    return connect(app.config["DATABASE"])


def test_passwords_are_hashed_with_owasp_scrypt_parameters_and_old_hashes_upgraded(db, fleet, monkeypatch):
    monkeypatch.undo()  # the suite's fast hash off: the module's own method
    method = agents_q.PASSWORD_METHOD
    name, n, r, p = method.split(":")
    assert name == "scrypt" and int(n) >= 2 ** 17 and int(r) >= 8 and int(p) >= 1
    assert db.execute("SELECT password_hash FROM agents WHERE id = ?", (fleet.agent,)).fetchone()[0].startswith(
        "pbkdf2:sha256:1000$")  # made by the fixture's fast method
    assert agents_q.check_login(db, fleet.email(fleet.agent), PASSWORD) is not None
    upgraded = db.execute("SELECT password_hash FROM agents WHERE id = ?", (fleet.agent,)).fetchone()[0]
    assert upgraded.startswith(method + "$")
    assert agents_q.check_login(db, fleet.email(fleet.agent), PASSWORD) is not None


# -- next=, headers, CSRF -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example/", "/\t/evil.example/", "/\\evil.example/", "\\\\evil.example",
                                    "https://evil.example/", "javascript:alert(1)", "/\n/evil.example", " /x",
                                    "/\x7f/evil.example"])
def test_next_after_login_refuses_anything_but_a_local_path(client, fleet, target):
    r = client.post("/connexion", query_string={"next": target},
                    data={"email": fleet.email(fleet.agent), "password": PASSWORD, "csrf_token": csrf_of(client)})
    assert r.status_code == 302
    assert r.headers["Location"] == "/", r.headers["Location"]  # the agent's home page instead


def test_next_after_login_keeps_a_local_path(client, fleet):
    r = client.post("/connexion", query_string={"next": "/mes-reservations?x=1"},
                    data={"email": fleet.email(fleet.agent), "password": PASSWORD, "csrf_token": csrf_of(client)})
    assert r.headers["Location"] == "/mes-reservations?x=1"


def test_every_page_carries_the_security_headers_and_no_template_has_inline_script(client, fleet):
    for response in (client.get("/connexion"), client.get("/page-inconnue")):
        h = response.headers
        csp = h["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert h["X-Content-Type-Options"] == "nosniff" and h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "same-origin"
    inline = re.compile(r"<script(?![^>]*\bsrc=)|\son[a-z]+\s*=|javascript:|\sstyle\s*=", re.I)
    found = []
    for folder, _dirs, files in os.walk(TEMPLATES):
        if os.path.basename(folder) == "mail":
            continue  # e-mail bodies: mail readers want inline styles, and no page serves them
        for name in files:
            with open(os.path.join(folder, name), encoding="utf-8") as f:
                found += ["%s: %s" % (name, m.group(0)) for m in inline.finditer(f.read())]
    assert found == []


def test_a_configured_tile_server_is_the_only_other_origin_images_may_come_from(tmp_path):
    def img_src(**config):
        app = create_app(dict(config, TESTING=True, DATABASE=str(tmp_path / "t.sqlite"), SECRET_KEY="t"))
        csp = app.test_client().get("/connexion").headers["Content-Security-Policy"]
        return next(d for d in csp.split("; ") if d.startswith("img-src"))
    assert img_src() == "img-src 'self' data:"
    assert img_src(MAP_TILE_URL="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == (
        "img-src 'self' data: https://*.tile.openstreetmap.org")


def test_pages_that_show_a_secret_are_not_cached(client, fleet):
    token = login(client, fleet.email(fleet.admin))
    assert client.get("/compte").headers.get("Cache-Control") == "no-store"  # the iCal address
    r = client.post("/admin/boitiers", data={"box_id": "5", "vehicle_id": fleet.car, "csrf_token": token})
    assert r.status_code == 200 and r.headers.get("Cache-Control") == "no-store"  # the new box key
    assert "no-store" not in (client.get("/admin/vehicules").headers.get("Cache-Control") or "")


def test_a_csrf_token_with_non_ascii_characters_is_a_400_not_a_500(client, fleet):
    login(client, fleet.email(fleet.agent))
    r = client.post("/compte", data={"action": "ical", "csrf_token": "jeton-é"})
    assert r.status_code == 400 and "Jeton de sécurité" in r.get_data(as_text=True)


# -- files, proxies ------------------------------------------------------------------------------------------------

def test_the_database_is_created_0600_in_a_0700_directory(tmp_path):
    app = _new_app(tmp_path, DATABASE=str(tmp_path / "var" / "autopartage.sqlite"))
    path = app.config["DATABASE"]
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    for suffix in ("", "-wal"):
        if suffix == "" or os.path.exists(path + suffix):
            assert stat.S_IMODE(os.stat(path + suffix).st_mode) == 0o600, suffix
    os.chmod(path, 0o644)  # loosened by hand: narrowed again at the next connection
    with app.app_context():
        init_db()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_behind_the_trusted_proxy_throttling_and_position_log_see_the_client_address(tmp_path):
    from server.db import connect

    from conftest import Fleet

    app = _new_app(tmp_path, PROXY_FIX_HOPS=1)
    db = connect(app.config["DATABASE"])
    fleet = Fleet(db)
    client = app.test_client()
    forwarded = {"X-Forwarded-For": "203.0.113.7"}
    client.post("/connexion", headers=forwarded, data={"email": fleet.email(fleet.agent), "password": "faux",
                                                        "csrf_token": csrf_of(client)})
    assert [r[0] for r in db.execute("SELECT who FROM login_attempts")] == [
        "login:%s|203.0.113.7" % fleet.email(fleet.agent)]
    boxes.register(db, 1, fleet.car, "00" * 16)
    start = future(-3)
    res = reservations.create(db, fleet.agent, fleet.car, start + 600, start + 4000, start, Rules())
    trip = trips.record_start(db, 1, 1, start + 700, b"", res, 0)
    positions.add_many(db, 1, [{"t": start + 800, "lat": 480000000, "lon": 2000000, "speed": 1000, "course": 0}])
    client.post("/connexion", headers=forwarded, data={"email": fleet.email(fleet.agent), "password": PASSWORD,
                                                        "csrf_token": csrf_of(client)})
    assert client.get("/mes-trajets/%d" % trip, headers=forwarded).status_code == 200
    assert db.execute("SELECT remote_addr FROM position_access_log").fetchone()[0] == "203.0.113.7"
    db.conn.close()


def test_without_a_configured_proxy_a_forwarded_header_is_ignored(app, client, db, fleet):
    assert app.config["PROXY_FIX_HOPS"] == 0
    client.post("/connexion", headers={"X-Forwarded-For": "203.0.113.7"},
                data={"email": fleet.email(fleet.agent), "password": "faux", "csrf_token": csrf_of(client)})
    assert [r[0] for r in db.execute("SELECT who FROM login_attempts")] == [
        "login:%s|127.0.0.1" % fleet.email(fleet.agent)]
