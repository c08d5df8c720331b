"""Every form field with bad values: a clear French message or a refusal, never a 500."""

import html

import pytest
from conftest import future, login

from server import timeutil

BAD = ["", " ", "x", "-1", "0", "1e3", "99999999999999999999999", "2026-02-30", "25:99", "12:", ":30", "AB",
       "<script>alert(1)</script>", "é" * 300, "x" * 5000, "\x00", "1; DROP TABLE agents", "NaN"]


def _slot():
    d = timeutil.local(future(30))
    return {"date": d.date().isoformat(), "start": d.strftime("%H:%M"), "end_date": d.date().isoformat(),
            "end": timeutil.local(future(31)).strftime("%H:%M")}


FORMS = [  # (who, url, valid data)
    ("agent", "/reserver", lambda f: dict(_slot(), vehicle_id=f.car, purpose="p", destination="d")),
    ("agent", "/materiel", lambda f: dict(_slot(), equipment_id="1")),
    ("agent", "/signaler", lambda f: {"vehicle_id": f.car, "kind": "fuel", "text": "t"}),
    ("agent", "/compte", lambda f: {"action": "password", "current": "x", "new": "y" * 12, "confirm": "y" * 12}),
    ("agent", "/reservations/1/prolonger", lambda f: {"end_date": "2030-01-01", "end": "10:00"}),
    ("admin", "/admin/directions", lambda f: {"code": "DREAL", "name": "Direction régionale"}),
    ("admin", "/admin/pools", lambda f: {"name": "Pool B", "department_id": f.ddt, "on_the_spot": "1"}),
    ("admin", "/admin/vehicules", lambda f: {"plate": "GH-789-JK", "model": "Clio", "pool_id": f.pool,
                                             "department_id": f.ddt, "cost_per_km_cents": "12",
                                             "monthly_fixed_cents": "30000", "seats": "5"}),
    ("admin", "/admin/boitiers", lambda f: {"box_id": "5", "vehicle_id": f.car}),
    ("admin", "/admin/agents", lambda f: {"name": "N", "email": "n@x.fr", "department_id": f.ddt,
                                          "badge": "04aabbccdd"}),
    ("admin", "/admin/agents/1", lambda f: {"action": "settings", "role": "agent", "active": "1", "badge": "0411",
                                            "badge_id": "1", "password": "z" * 12}),
    ("admin", "/admin/habilitations", lambda f: {"pool_id": f.pool, "department_id": f.ddpp, "email": ""}),
    ("admin", "/admin/problemes", lambda f: {"report_id": "1"}),
    ("admin", "/admin/materiel", lambda f: {"name": "PC 3", "kind": "laptop"}),
    ("anon", "/connexion", lambda f: {"email": "a@b.fr", "password": "x"}),
    ("anon", "/mot-de-passe-oublie", lambda f: {"email": "a@b.fr"}),
    ("anon", "/mot-de-passe/jeton", lambda f: {"new": "y" * 12, "confirm": "y" * 12}),
    ("agent", "/compte/courriels", lambda f: {"reminders": "1"}),
    ("agent", "/boite-a-idees", lambda f: {"subject": "s", "text": "t", "vehicle_id": f.car, "trip_id": ""}),
    ("admin", "/admin/courriels", lambda f: {"mail_id": "1"}),
    ("admin", "/admin/agents/import", lambda f: {"action": "dry_run", "text": "name;department;email\nA;DDT;a@b.fr\n"}),
    ("admin", "/admin/boite-a-idees/1", lambda f: {"action": "answer", "answer": "r"}),
]


@pytest.mark.parametrize("who,url,valid", FORMS, ids=[f[1] for f in FORMS])
def test_every_field_with_bad_values_never_crashes(client, fleet, who, url, valid):
    token = login(client, fleet.email(fleet.agent if who == "agent" else fleet.admin)) if who != "anon" else None
    if token is None:
        from conftest import csrf_of
        token = csrf_of(client)
    base = valid(fleet)
    for field in list(base) + ["action", "unknown"]:
        for bad in BAD:
            data = dict(base, csrf_token=token)
            data[field] = bad
            r = client.post(url, data=data)
            assert r.status_code < 500, (url, field, bad, r.status_code)
            if r.status_code == 400:
                body = html.unescape(r.get_data(as_text=True))
                assert 'class="error"' in body, (url, field, bad)
    # GET with junk query strings too
    for bad in BAD[:12]:
        assert client.get(url, query_string={"date": bad, "start": bad, "end": bad, "mois": bad, "q": bad,
                                             "jour": bad}).status_code < 500


def test_search_form_messages_are_french(client, fleet):
    login(client, fleet.email(fleet.agent))
    r = client.get("/reserver", query_string={"date": "2026-02-30", "start": "25:00", "end": ""})
    body = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 400
    assert "date invalide" in body and "heure invalide" in body and "champ obligatoire" in body
    d = _slot()
    r = client.get("/reserver", query_string=dict(d, end=d["start"]))
    assert "L'heure de fin doit être après l'heure de début." in html.unescape(r.get_data(as_text=True))


@pytest.mark.parametrize("url", ["/admin/rapports?mois=2016-13", "/admin/rapports.csv?par=x",
                                 "/admin/calendrier?jour=hier", "/admin/trajets?mois=abc"])
def test_bad_report_parameters_get_a_french_400(client, fleet, url):
    login(client, fleet.email(fleet.admin))
    r = client.get(url)
    assert r.status_code == 400
    assert "invalide" in html.unescape(r.get_data(as_text=True)) or "Paramètre" in r.get_data(as_text=True)


RECORD_BUTTONS = [  # (url, the other fields of the button's form, the hidden id field)
    ("/admin/pools", {"action": "toggle"}, "pool_id"),
    ("/admin/habilitations", {"action": "remove"}, "habilitation_id"),
    ("/admin/alertes", {}, "alert_id"),
    ("/admin/horaires-positions", {"action": "vehicle", "reason": "r"}, "vehicle_id"),
    ("/admin/horaires-positions", {"start": "07:00", "end": "19:00", "day1": "1"}, "department_id"),
    ("/admin/problemes", {}, "report_id"),
    ("/admin/courriels", {}, "mail_id"),
]


@pytest.mark.parametrize("url,other,field", RECORD_BUTTONS, ids=[b[2] for b in RECORD_BUTTONS])
def test_a_missing_malformed_or_unknown_record_id_is_a_404(client, fleet, url, other, field):
    token = login(client, fleet.email(fleet.admin))
    for bad in [None, "", "x", "0", "-1", "1.5", "99999999999999999999999", "999999"]:
        data = dict(other, csrf_token=token)
        if bad is not None:
            data[field] = bad
        assert client.post(url, data=data).status_code == 404, (url, field, bad)
