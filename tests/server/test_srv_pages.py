"""Pages through the real app: role x page matrix, CSRF, login throttling, booking flow, iCal, positions log."""

import html
import re

import pytest
from conftest import csrf_of, future, login

from server import create_app, timeutil
from server.queries import boxes, positions, reservations, trips
from server.queries.common import Rules

AGENT_PAGES = ["/reserver", "/mes-reservations", "/mes-trajets", "/materiel", "/compte", "/signaler", "/boite-a-idees",
               "/compte/courriels"]
STAFF_PAGES = ["/admin/", "/admin/vehicules", "/admin/boitiers", "/admin/agents", "/admin/habilitations",
               "/admin/calendrier", "/admin/trajets", "/admin/problemes", "/admin/rapports", "/admin/rapports.csv",
               "/admin/evaluation", "/admin/agents/{agent}", "/admin/trajets/{trip}", "/admin/boitiers/1",
               "/admin/boite-a-idees"]
ADMIN_PAGES = ["/admin/directions", "/admin/pools", "/admin/materiel", "/admin/journal-positions",
               "/admin/journal-audit", "/admin/journal-audit.csv", "/admin/alertes", "/admin/horaires-positions",
               "/admin/courriels", "/admin/agents/import"]
EXPECTED = {  # role -> (agent pages, staff pages, admin pages)
    None: (302, 302, 302),
    "agent": (200, 403, 403),
    "manager": (200, 200, 403),
    "admin": (200, 200, 200),
}


@pytest.mark.parametrize("role", [None, "agent", "manager", "admin"])
def test_role_page_matrix(app, client, db, fleet, role):
    boxes.register(db, 1, fleet.car, "00" * 16)
    trip = trips.record_start(db, 1, 1, future(-2), b"", 0, 0)
    if role is not None:
        login(client, fleet.email({"agent": fleet.agent, "manager": fleet.manager, "admin": fleet.admin}[role]))
    expected = EXPECTED[role]
    seen = {}
    for group, pages in enumerate((AGENT_PAGES, STAFF_PAGES, ADMIN_PAGES)):
        for page in pages:
            url = page.format(agent=fleet.agent, trip=trip)
            status = client.get(url).status_code
            seen[url] = (status, expected[group])
    assert {u: s for u, s in seen.items() if s[0] != s[1]} == {}
    assert client.get("/api/v1/health").status_code == 200


def test_manager_is_limited_to_their_department(client, db, fleet):
    login(client, fleet.email(fleet.manager))
    assert client.get("/admin/agents/%d" % fleet.agent2).status_code == 403
    assert client.get("/admin/agents/%d" % fleet.agent).status_code == 200
    page = client.get("/admin/vehicules").get_data(as_text=True)
    assert "AB-123-CD" in page and "EF-456-GH" not in page


def test_post_without_csrf_token_is_refused(client, fleet):
    login(client, fleet.email(fleet.agent))
    response = client.post("/compte", data={"action": "ical"})
    assert response.status_code == 400
    assert "Jeton de sécurité" in response.get_data(as_text=True)


def test_session_cookie_is_secure_and_httponly_by_default(tmp_path):
    app = create_app({"DATABASE": str(tmp_path / "x.sqlite"), "SECRET_KEY": "k"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def _slot(hours_ahead=30):
    start = future(hours_ahead)
    d = timeutil.local(start)
    e = timeutil.local(start + 3600)
    return start, {"date": d.date().isoformat(), "start": d.strftime("%H:%M"), "end_date": e.date().isoformat(),
                   "end": e.strftime("%H:%M")}


def test_agent_books_a_car_and_finds_it_in_my_reservations_and_ical(client, db, fleet):
    token = login(client, fleet.email(fleet.agent))
    start, slot = _slot()
    page = client.get("/reserver", query_string=slot).get_data(as_text=True)
    assert "AB-123-CD" in page and "EF-456-GH" not in page  # DDT agent: only the shared pool
    r = client.post("/reserver", data=dict(slot, vehicle_id=fleet.car, purpose="Contrôle", csrf_token=token))
    assert r.status_code == 302
    mine = client.get("/mes-reservations").get_data(as_text=True)
    assert "AB-123-CD" in mine and timeutil.fmt(start) in mine
    again = client.post("/reserver", data=dict(slot, vehicle_id=fleet.car, csrf_token=token))
    assert again.status_code == 400 and "déjà" in again.get_data(as_text=True)
    assert db.execute("SELECT count(*) FROM searches WHERE found = 1").fetchone()[0] == 1
    account = client.get("/compte").get_data(as_text=True)
    ical_path = re.search(r"(/agenda/[^<\s]+\.ics)", account).group(1)
    feed = client.get(ical_path)
    assert feed.status_code == 200 and feed.mimetype == "text/calendar"
    text = feed.get_data(as_text=True)
    assert "BEGIN:VEVENT" in text and "AB-123-CD" in text
    client.post("/compte", data={"action": "ical", "csrf_token": token})
    assert client.get(ical_path).status_code == 404


def test_agent_cancels_and_extends_from_my_reservations(client, db, fleet):
    token = login(client, fleet.email(fleet.agent))
    start = future(30)
    rid = reservations.create(db, fleet.agent, fleet.car, start, start + 3600, start - 86400, Rules())
    new_end = timeutil.local(start + 7200)
    client.post("/reservations/%d/prolonger" % rid, data={"end_date": new_end.date().isoformat(),
                                                          "end": new_end.strftime("%H:%M"), "csrf_token": token})
    assert reservations.get(db, rid)["end"] == start + 7200
    r = client.post("/reservations/%d/prolonger" % rid, data={"end_date": "demain", "end": "25:00",
                                                              "csrf_token": token}, follow_redirects=True)
    assert "date invalide" in r.get_data(as_text=True)
    other = reservations.create(db, fleet.agent2, fleet.car, start + 86400, start + 90000, start - 86400, Rules())
    r = client.post("/reservations/%d/annuler" % other, data={"csrf_token": token}, follow_redirects=True)
    assert "n'est pas la vôtre" in html.unescape(r.get_data(as_text=True))
    client.post("/reservations/%d/annuler" % rid, data={"csrf_token": token})
    assert reservations.get(db, rid)["status"] == "cancelled"


def test_position_views_are_logged_and_agents_see_only_their_trips(client, db, fleet):
    boxes.register(db, 1, fleet.car, "00" * 16)
    start = future(-3)
    res = reservations.create(db, fleet.agent, fleet.car, start + 600, start + 4000, start, Rules())
    trip = trips.record_start(db, 1, 1, start + 700, b"", res, 0)
    positions.add_many(db, 1, [{"t": start + 800, "lat": 480000000, "lon": 2000000, "speed": 1000, "course": 0}])
    login(client, fleet.email(fleet.agent2))
    assert client.get("/mes-trajets/%d" % trip).status_code == 404
    client.post("/deconnexion", data={"csrf_token": csrf_of(client, "/compte")})
    login(client, fleet.email(fleet.agent))
    page = client.get("/mes-trajets/%d" % trip).get_data(as_text=True)
    assert "48.00000" in page
    log = db.execute("SELECT user_id, trip_id FROM position_access_log").fetchall()
    assert [tuple(r) for r in log] == [(fleet.agent, trip)]


def test_problem_report_needs_a_car_the_agent_used(client, db, fleet):
    token = login(client, fleet.email(fleet.agent))
    start = future(30)
    reservations.create(db, fleet.agent, fleet.car, start, start + 3600, start - 86400, Rules())
    r = client.post("/signaler", data={"vehicle_id": fleet.car2, "kind": "damage", "text": "rayure",
                                       "csrf_token": token})
    assert r.status_code == 400 and "réservé ou conduit" in r.get_data(as_text=True)
    r = client.post("/signaler", data={"vehicle_id": fleet.car, "kind": "damage", "text": "Rayure portière",
                                       "csrf_token": token})
    assert r.status_code == 302
    assert db.execute("SELECT kind, text FROM problem_reports").fetchone()[:] == ("damage", "Rayure portière")


def test_admin_registers_a_box_and_sees_the_key_once(client, db, fleet):
    token = login(client, fleet.email(fleet.admin))
    r = client.post("/admin/boitiers", data={"box_id": "42", "vehicle_id": fleet.car, "csrf_token": token})
    page = r.get_data(as_text=True)
    key = re.search(r'<code id="new-key">([0-9a-f]{32})</code>', page).group(1)
    assert boxes.get_key(db, 42) == bytes.fromhex(key)
    assert key not in client.get("/admin/boitiers").get_data(as_text=True)
    again = client.post("/admin/boitiers", data={"box_id": "42", "vehicle_id": fleet.car, "csrf_token": token})
    assert again.status_code == 400 and "déjà enregistré" in again.get_data(as_text=True)


def test_parallel_http_bookings_of_one_car_exactly_one_wins(app, db, fleet):
    """Ten agents, each with their own session, POST the same car and slot at once through the app."""
    import threading

    agents = [fleet.person("Agent %d" % i, "p%d@ddt.gouv.fr" % i, fleet.ddt) for i in range(10)]
    clients = []
    for a in agents:
        c = app.test_client()
        clients.append((c, login(c, fleet.email(a))))
    _start, slot = _slot(50)
    barrier = threading.Barrier(len(clients))
    statuses = []

    def book(c, token):
        barrier.wait()
        statuses.append(c.post("/reserver", data=dict(slot, vehicle_id=fleet.car, csrf_token=token)).status_code)

    threads = [threading.Thread(target=book, args=pair) for pair in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [302] + [400] * 9
    assert db.execute("SELECT count(*) FROM reservations WHERE status = 'booked'").fetchone()[0] == 1


def test_problem_reported_from_one_of_my_trips(client, db, fleet):
    boxes.register(db, 1, fleet.car, "00" * 16)
    start = future(-3)
    res = reservations.create(db, fleet.agent, fleet.car, start + 600, start + 4000, start, Rules())
    trip = trips.record_start(db, 1, 1, start + 700, b"", res, 0)
    token = login(client, fleet.email(fleet.agent))
    assert "Signaler" in client.get("/mes-trajets").get_data(as_text=True)
    r = client.post("/signaler?trip_id=%d" % trip, data={"vehicle_id": fleet.car, "kind": "cleanliness",
                                                         "text": "Sièges sales", "csrf_token": token})
    assert r.status_code == 302
    assert db.execute("SELECT trip_id, reservation_id FROM problem_reports").fetchone()[:] == (trip, res)
    r = client.get("/signaler?trip_id=999")
    assert r.status_code == 400 and "pas le vôtre" in html.unescape(r.get_data(as_text=True))


def test_manager_sees_positions_of_their_department_only_and_admin_sees_the_log(app, client, db, fleet):
    boxes.register(db, 1, fleet.car2, "00" * 16)  # DDPP's car
    start = future(-3)
    res = reservations.create(db, fleet.agent2, fleet.car2, start + 600, start + 4000, start, Rules())
    trip = trips.record_start(db, 1, 1, start + 700, b"", res, 0)
    login(client, fleet.email(fleet.manager))  # DDT
    assert client.get("/admin/trajets/%d" % trip).status_code == 403
    admin = app.test_client()
    login(admin, fleet.email(fleet.admin))
    assert admin.get("/admin/trajets/%d" % trip).status_code == 200
    log = html.unescape(admin.get("/admin/journal-positions").get_data(as_text=True))
    assert "Anne Admin" in log and "EF-456-GH" in log
