"""A vehicle's own pages: adding never overwrites, terms change from a month on, the whole story page."""

import html
import re
import time

import pytest
from conftest import future, login

from server import timeutil
from server.queries import boxes, org, problems, reports, reservations, trips
from server.queries.common import RuleError, Rules

KEY = "00112233445566778899aabbccddeeff"


def _text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("plate", ["AB-123-CD", "ab-123-cd", "AB 123 CD", "ab123cd", " Ab-123 cD "])
def test_adding_a_car_whose_plate_exists_is_refused_and_changes_nothing(client, db, fleet, plate):
    token = login(client, fleet.email(fleet.admin))
    before = dict(org.vehicle(db, fleet.car))
    r = client.post("/admin/vehicules", data={"csrf_token": token, "plate": plate, "model": "Peugeot 208",
                                              "pool_id": fleet.pool_ddpp, "department_id": fleet.ddpp,
                                              "cost_per_km_cents": "99", "monthly_fixed_cents": "1", "seats": "2"})
    assert r.status_code == 400
    assert "Le véhicule AB-123-CD existe déjà : pour le modifier, ouvrez sa page." in _text(r)
    assert dict(org.vehicle(db, fleet.car)) == before
    assert db.execute("SELECT count(*) FROM vehicles").fetchone()[0] == 2


def test_adding_a_new_car_opens_its_page(client, db, fleet):
    token = login(client, fleet.email(fleet.admin))
    r = client.post("/admin/vehicules", data={"csrf_token": token, "plate": "gh 789 jk", "model": "Peugeot 208",
                                              "pool_id": fleet.pool, "department_id": fleet.ddt,
                                              "cost_per_km_cents": "11", "monthly_fixed_cents": "25000", "seats": "5"})
    assert r.status_code == 302
    page = _text(client.get(r.headers["Location"]))
    assert "GH-789-JK — Peugeot 208" in page and "Libre" in page


def _without_models(report):
    return dict(report, vehicles=[dict(v, model="") for v in report["vehicles"]])


def _trip(db, box_id, n, t, km):
    trips.record_start(db, box_id, n, t, b"", 0, 0)
    trips.record_end(db, box_id, n, t + 3600, km * 1000, km * 1000, 1)


def test_changing_owner_or_costs_applies_from_a_month_and_never_rewrites_last_month(client, db, fleet):
    boxes.register(db, 7, fleet.car, KEY)
    now = int(time.time())
    this_month = timeutil.month_start(now)
    last = timeutil.local(this_month - 86400)
    start, end = timeutil.month_bounds(last.year, last.month)
    _trip(db, 7, 1, start + 5 * 86400, 120)
    before = reports.monthly(db, start, end)
    car_before = [v for v in before["vehicles"] if v["id"] == fleet.car][0]
    assert (car_before["department_code"], car_before["cost_cents"]) == ("DDT", 120 * 12 + 30000)

    token = login(client, fleet.email(fleet.admin))
    form = {"csrf_token": token, "model": "Renault Clio V", "pool_id": fleet.pool, "seats": "5",
            "department_id": fleet.ddpp, "cost_per_km_cents": "20", "monthly_fixed_cents": "40000",
            "valid_from": str(this_month)}
    assert client.post("/admin/vehicules/%d/modifier" % fleet.car, data=dict(form, valid_from=str(start))
                       ).status_code == 400  # a past month is not offered
    r = client.post("/admin/vehicules/%d/modifier" % fleet.car, data=form)
    assert r.status_code == 302
    # last month's report: same owners, kilometres and costs (only the model's name is today's)
    assert _without_models(reports.monthly(db, start, end)) == _without_models(before)
    now_start, now_end = timeutil.month_bounds(timeutil.local(now).year, timeutil.local(now).month)
    car_now = [v for v in reports.monthly(db, now_start, now_end)["vehicles"] if v["id"] == fleet.car][0]
    assert (car_now["department_code"], car_now["fixed_cents"]) == ("DDPP", 40000)
    v = org.vehicle(db, fleet.car)
    assert (v["model"], v["department_id"], v["cost_per_km_cents"]) == ("Renault Clio V", fleet.ddpp, 20)
    page = _text(client.get("/admin/vehicules/%d" % fleet.car))
    assert "DDPP" in page[page.index("Direction propriétaire et coûts"):]
    with pytest.raises(RuleError) as exc:
        org.change_terms(db, fleet.car, start, fleet.ddt, 1, 1, now)
    assert exc.value.code == "past_month"


def test_a_change_from_next_month_leaves_this_month_alone_until_then(db, fleet):
    now = int(time.time())
    nxt = timeutil.next_month_start(now)
    org.change_terms(db, fleet.car, nxt, fleet.ddpp, 50, 1000, now)
    assert org.vehicle(db, fleet.car)["department_id"] == fleet.ddt
    assert org.apply_due_terms(db, nxt + 60) == 1
    assert org.vehicle(db, fleet.car)["department_id"] == fleet.ddpp


def test_vehicle_page_tells_who_has_the_car_since_when_and_its_story(client, db, fleet):
    from protocol import keys

    boxes.register(db, 7, fleet.car, KEY)
    start = future(-1)
    res = reservations.create(db, fleet.agent, fleet.car, start, start + 7200, start - 3600, Rules())
    trips.record_start(db, 7, 1, start + 300, keys.badge_hash(bytes.fromhex(KEY), bytes.fromhex("04a1b2c3d4e5f6")),
                       res, 0)
    problems.create(db, fleet.car, fleet.agent, "fuel", "Réservoir presque vide", start)
    login(client, fleet.email(fleet.manager))
    page = _text(client.get("/admin/vehicules/%d" % fleet.car))
    state = page[page.index("État actuel"):page.index("Réservations")]
    assert "Sur la route avec Camille Martin depuis le %s" % timeutil.fmt(start + 300) in state
    assert "Boîtier muet" in state  # registered, never synced
    assert "Carburant : Réservoir presque vide" in page and "honorée" in page and "en cours" in page
    assert "Modifier" not in state  # a manager sees, an administrator edits
    assert client.get("/admin/vehicules/%d" % fleet.car2).status_code == 403  # another department's car


def test_out_of_service_from_the_vehicle_page_hides_the_car_from_searches(client, db, fleet):
    token = login(client, fleet.email(fleet.admin))
    assert client.post("/admin/vehicules/%d/service" % fleet.car, data={"csrf_token": token}).status_code == 302
    assert "Hors service" in _text(client.get("/admin/vehicules/%d" % fleet.car))
    start = future(24)
    agent = {"id": fleet.agent, "department_id": fleet.ddt}
    assert reservations.available(db, agent, start, start + 3600) == []


def test_agents_list_searches_pages_and_shows_roles_in_french(client, db, fleet):
    from server import admin
    from server.queries import agents as agents_q

    for i in range(admin.AGENTS_PER_PAGE + 5):
        agents_q.create(db, "Agent %03d" % i, "agent%03d@ddt.gouv.fr" % i, fleet.ddt)
    login(client, fleet.email(fleet.admin))
    first = _text(client.get("/admin/agents"))
    everyone = _text(client.get("/admin/agents?page=2"))
    assert "gestionnaire de flotte" in everyone and "administrateur" in everyone and ">manager<" not in everyone
    assert "page suivante" in first and "page précédente" not in first
    second = _text(client.get("/admin/agents?page=2"))
    assert "page précédente" in second and "page suivante" not in second
    names = lambda page: set(re.findall(r">(Agent \d{3})<", page))  # noqa: E731
    assert names(first).isdisjoint(names(second)) and len(names(first) | names(second)) == admin.AGENTS_PER_PAGE + 5
    found = _text(client.get("/admin/agents?q=agent007"))
    assert names(found) == {"Agent 007"} and "Résultats pour « agent007 »" in found
    assert client.get("/admin/agents?page=x").status_code == 200  # a bad page number: the first page
    detail = _text(client.get("/admin/agents/%d" % fleet.manager))
    assert ">gestionnaire de flotte<" in detail


def test_equipment_is_editable_retirable_and_shows_who_holds_it_in_french(client, db, fleet):
    from server.queries import equipment

    item = equipment.create(db, "PC portable 1", "laptop")
    now = int(time.time())
    equipment.book(db, item, fleet.agent, now - 600, now + 3600, now - 900, Rules())
    token = login(client, fleet.email(fleet.admin))
    page = _text(client.get("/admin/materiel"))
    row = page[page.index("PC portable 1"):]
    assert "Ordinateur portable" in row[:200] and "Camille Martin jusqu'au" in row
    r = client.post("/admin/materiel/%d" % item, data={"csrf_token": token, "name": "PC portable A",
                                                       "kind": "projector"})
    assert r.status_code == 302 and equipment.get(db, item)["name"] == "PC portable A"
    assert client.post("/admin/materiel/%d" % item, data={"csrf_token": token, "action": "active"}).status_code == 302
    assert equipment.get(db, item)["active"] == 0
    assert equipment.available(db, future(24), future(25)) == []  # retired: no longer offered
    assert "retiré" in _text(client.get("/admin/materiel"))
    equipment.create(db, "Autre", "other")
    r = client.post("/admin/materiel/%d" % item, data={"csrf_token": token, "name": "Autre", "kind": "other"})
    assert r.status_code == 400 and "ce matériel existe déjà" in _text(r)
