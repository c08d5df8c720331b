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
    page = client.get("/admin/trajets", query_string=dict(base, vehicule=fleet.car2)).get_data(as_text=True)
    assert ">30,0</td>" in page and "30.0" not in page  # kilometres with a decimal comma, as in the CSV


def test_a_manager_lists_only_their_departments_trips_and_bad_filters_get_a_french_400(client, db, fleet):
    _seed(db, fleet)
    login(client, fleet.email(fleet.manager))  # DDT
    rows = _csv(client.get("/admin/trajets.csv", query_string={"du": "2000-01-01"}))
    assert {r[2] for r in rows[1:]} == {"AB-123-CD"}
    r = client.get("/admin/trajets", query_string={"du": "2026-02-30"})
    assert r.status_code == 400 and "date invalide" in r.get_data(as_text=True)
    assert client.get("/admin/trajets", query_string={"vehicule": "x"}).status_code == 400


def _with_track(db, fleet):
    boxes.register(db, 1, fleet.car, KEY)
    t = future(-30)
    trip = trips.record_start(db, 1, 1, t, b"", 0, 0)
    from server.queries import positions

    positions.add_many(db, 1, [{"t": t + 10 * i, "lat": 457640000 + 1000 * i, "lon": 48357000 + 1000 * i,
                                "speed": 1000, "course": 0} for i in range(1, 6)])
    trips.record_end(db, 1, 1, t + 600, 5000, 5000, 1)
    return trip


def test_trip_map_carries_the_track_for_the_page_script_and_the_view_is_logged(client, db, fleet):
    import json
    import re

    trip = _with_track(db, fleet)
    login(client, fleet.email(fleet.admin))
    page = client.get("/admin/trajets/%d" % trip).get_data(as_text=True)
    data = json.loads(html_unescape(re.search(r"data-map='([^']*)'", page).group(1)))
    assert data["track"][0] == [45.764100, 4.835800] and len(data["track"]) == 5
    assert 'data-tiles=""' in page  # no tile server configured: plain background
    assert "vendor/leaflet-1.9.4/leaflet.js" in page and "<script>" not in page  # no inline script (CSP)
    assert db.execute("SELECT count(*) FROM position_access_log WHERE trip_id = ?", (trip,)).fetchone()[0] == 1


def test_fleet_map_shows_each_cars_last_position_in_scope_and_logs_every_trip_shown(client, db, fleet):
    import json
    import re

    trip = _with_track(db, fleet)
    login(client, fleet.email(fleet.manager))
    page = client.get("/admin/carte").get_data(as_text=True)
    data = json.loads(html_unescape(re.search(r"data-map='([^']*)'", page).group(1)))
    assert data["cars"] == [{"lat": 45.7645, "lon": 4.8362, "on_road": False, "label": "AB-123-CD"}]
    assert [tuple(r) for r in db.execute("SELECT user_id, trip_id FROM position_access_log")] == [(fleet.manager, trip)]
    client.get("/deconnexion")
    login(client, fleet.email(fleet.agent2))
    assert client.get("/admin/carte").status_code == 403


def html_unescape(text):
    import html

    return html.unescape(text)


def test_fleet_map_says_a_car_is_on_the_road_even_before_its_new_trip_has_a_position(client, db, fleet):
    _with_track(db, fleet)
    trips.record_start(db, 1, 2, future(-1), b"", 0, 5000)  # out again, no position yet
    login(client, fleet.email(fleet.admin))
    page = html_unescape(client.get("/admin/carte").get_data(as_text=True))
    assert "sur la route avec un conducteur inconnu (position : fin du trajet précédent)" in page
    assert "garé" not in page
