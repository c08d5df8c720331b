"""The trips list: filters, the CSV export (format of the monthly report CSVs), a manager's scope."""

import csv
import io

from conftest import future, login

from server import timeutil
from server.queries import boxes, trips

KEY = "00112233445566778899aabbccddeeff"


def _seed(db, fleet):
    from protocol import keys

    boxes.register(db, 1, fleet.car, KEY)
    boxes.register(db, 2, fleet.car2, "ff" * 16)
    key1, key2 = bytes.fromhex(KEY), bytes.fromhex("ff" * 16)
    camille = keys.badge_hash(key1, bytes.fromhex("04a1b2c3d4e5f6"))
    dominique2 = keys.badge_hash(key2, bytes.fromhex("04a1b2c3d4e5f7"))
    dominique1 = keys.badge_hash(key1, bytes.fromhex("04a1b2c3d4e5f7"))
    t = future(-30)
    trips.record_start(db, 1, 1, t, camille, 0, 0)
    trips.record_end(db, 1, 1, t + 5400, 12500, 12500, 1)
    trips.record_start(db, 2, 1, t + 600, dominique2, 0, 0)
    trips.record_end(db, 2, 1, t + 4200, 30000, 30000, 1)
    trips.record_start(db, 1, 2, future(-1), dominique1, 0, 12500)  # on the road now
    return t


def _csv(response):
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff") and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_trips_filters_by_car_department_driver_dates_and_in_progress(client, db, fleet):
    t = _seed(db, fleet)
    login(client, fleet.email(fleet.admin))
    day = timeutil.local(t).date().isoformat()
    base = {"du": day, "au": timeutil.local(future(0)).date().isoformat()}

    def plates(**extra):
        rows = _csv(client.get("/admin/trajets.csv", query_string=dict(base, **extra)))
        assert rows[0] == ["depart", "retour", "immatriculation", "modele", "conducteur", "direction", "km", "heures",
                           "type"]
        return sorted((r[2], r[4]) for r in rows[1:])

    assert plates() == [("AB-123-CD", "Camille Martin"), ("AB-123-CD", "Dominique Petit"),
                        ("EF-456-GH", "Dominique Petit")]
    assert plates(vehicule=fleet.car2) == [("EF-456-GH", "Dominique Petit")]
    assert plates(direction=fleet.ddt) == [("AB-123-CD", "Camille Martin")]
    assert plates(agent="domin") == [("AB-123-CD", "Dominique Petit"), ("EF-456-GH", "Dominique Petit")]
    assert plates(en_cours="1") == [("AB-123-CD", "Dominique Petit")]
    assert plates(du=base["au"], au=base["au"]) == [("AB-123-CD", "Dominique Petit")]
    row = [r for r in _csv(client.get("/admin/trajets.csv", query_string=dict(base, vehicule=fleet.car2)))][1]
    assert row[6] == "30,0" and row[7] == "1,0" and row[8] == "sans reservation"  # decimal commas, as the reports
    page = client.get("/admin/trajets", query_string=dict(base, en_cours="1")).get_data(as_text=True)
    assert "1 trajet(s)" in page and "en cours" in page


def test_a_manager_lists_only_their_departments_trips_and_bad_filters_get_a_french_400(client, db, fleet):
    _seed(db, fleet)
    login(client, fleet.email(fleet.manager))  # DDT
    rows = _csv(client.get("/admin/trajets.csv", query_string={"du": "2000-01-01"}))
    assert {r[2] for r in rows[1:]} == {"AB-123-CD"}
    r = client.get("/admin/trajets", query_string={"du": "2026-02-30"})
    assert r.status_code == 400 and "date invalide" in r.get_data(as_text=True)
    assert client.get("/admin/trajets", query_string={"vehicule": "x"}).status_code == 400
