"""« Boîte à idées / retours »: an agent writes, the fleet managers in scope answer from their inbox, the
answer reaches the agent by e-mail (real SMTP server) and on their page; the evaluation counts messages."""

import html

import pytest
from conftest import future, login
from mail_support import body, run_worker

from server.queries import boxes, trips


@pytest.fixture
def app(mail_app):  # the conftest client, db and fleet fixtures follow this app
    return mail_app


def _page(client, url):
    return html.unescape(client.get(url).get_data(as_text=True))


def test_agent_writes_manager_in_scope_answers_and_the_answer_comes_back_by_mail(app, client, db, fleet, sink):
    boxes.register(db, 1, fleet.car, "11" * 16)
    trip = trips.record_start(db, 1, 1, future(-5), b"", 0, 0)
    db.execute("UPDATE trips SET agent_id = ? WHERE id = ?", (fleet.agent, trip))
    other_trip = trips.record_start(db, 1, 2, future(-3), b"", 0, 0)
    token = login(client, fleet.email(fleet.agent))
    assert "Boîte à idées" in _page(client, "/reserver")
    bad = client.post("/boite-a-idees", data={"csrf_token": token, "subject": "", "text": "x",
                                              "trip_id": other_trip})
    assert bad.status_code == 400
    page = html.unescape(bad.get_data(as_text=True))
    assert "Objet : champ obligatoire." in page and "Trajet : choisissez un de vos trajets." in page
    response = client.post("/boite-a-idees", data={"csrf_token": token, "subject": "Câble de recharge",
                                                   "text": "Il manque un câble dans la Zoé.", "trip_id": trip})
    assert response.status_code == 302
    page = _page(client, "/boite-a-idees")
    assert "Câble de recharge" in page and "AB-123-CD" in page and "ouvert" in page

    # another department's manager does not see it; the DDT manager does
    ddpp_manager = fleet.person("Gestion DDPP", "gestion@ddpp.gouv.fr", fleet.ddpp, role="manager")
    login(client, fleet.email(ddpp_manager))
    assert "Câble de recharge" not in _page(client, "/admin/boite-a-idees")
    assert client.get("/admin/boite-a-idees/1").status_code == 404
    token = login(client, fleet.email(fleet.manager))
    assert "Câble de recharge" in _page(client, "/admin/boite-a-idees?etat=open")
    assert client.post("/admin/boite-a-idees/1", data={"csrf_token": token, "action": "answer",
                                                       "answer": ""}).status_code == 400
    response = client.post("/admin/boite-a-idees/1", data={"csrf_token": token, "action": "answer",
                                                           "answer": "Un câble est commandé, il arrive lundi."})
    assert response.status_code == 302
    run_worker(app, db)
    new, answer = sink.wait_for(2)
    assert new["To"] == fleet.email(fleet.manager)  # the DDT fleet manager learns of it
    assert new["Subject"] == "Boîte à idées : Câble de recharge (Camille Martin)"
    assert "https://autopartage.test/admin/boite-a-idees/1" in body(new) and "AB-123-CD" in body(new)
    assert answer["To"] == fleet.email(fleet.agent)
    assert answer["Subject"] == "Réponse à votre message : Câble de recharge"
    assert "Un câble est commandé, il arrive lundi." in body(answer) and "Claude Roux" in body(answer)
    assert "https://autopartage.test/boite-a-idees" in body(answer)
    assert client.post("/admin/boite-a-idees/1", data={"csrf_token": token, "action": "close"}).status_code == 302
    assert "Câble de recharge" in _page(client, "/admin/boite-a-idees?etat=closed")
    assert "1 ouvert," not in _page(client, "/admin/evaluation")
    assert ">message dans la boîte à idées (0 ouvert, 0 répondu, 1 clos)" in _page(client, "/admin/evaluation")

    login(client, fleet.email(fleet.agent))
    page = _page(client, "/boite-a-idees")
    assert "Réponse de Claude Roux" in page and "Un câble est commandé, il arrive lundi." in page
    assert client.get("/admin/boite-a-idees").status_code == 403


def test_a_message_about_a_departments_car_reaches_that_departments_manager(app, client, db, fleet):
    token = login(client, fleet.email(fleet.agent2))  # a DDPP agent, about the DDT car
    assert client.post("/boite-a-idees", data={"csrf_token": token, "subject": "Siège réglable",
                                               "text": "Le siège ne recule plus.",
                                               "vehicle_id": fleet.car}).status_code == 302
    assert client.post("/boite-a-idees", data={"csrf_token": token, "subject": "Idée", "text": "Plus de Zoé",
                                               "vehicle_id": "999"}).status_code == 400
    login(client, fleet.email(fleet.manager))
    page = _page(client, "/admin/boite-a-idees")
    assert "Siège réglable" in page and "Plus de Zoé" not in page
