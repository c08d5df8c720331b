"""Reports: km and cost per department with fixed costs shared by use, CSV export, the pilot's evaluation;
equipment bookings; housekeeping triggered by requests."""

import csv
import html
import io
import time

import pytest
from conftest import future, local_day_at, login

from server import timeutil
from server.queries import boxes, equipment, reports, reservations, trips
from server.queries.common import RuleError, Rules

KEY = "22" * 16


def _drive(db, box_id, n, start, minutes, km, agent_id, vehicle_id):
    res = reservations.create(db, agent_id, vehicle_id, start, start + minutes * 60, start - 3600, Rules())
    trips.record_start(db, box_id, n, start, b"", res, 0)
    trips.record_end(db, box_id, n, start + minutes * 60, 0, km * 1000, 1)


def _month_of(t):
    d = timeutil.local(t)
    return d.year, d.month


@pytest.fixture
def driven(db, fleet):
    """Car AB-123-CD (DDT, 12 c/km, 300 €/month): DDT drives 1 h / 30 km, DDPP 3 h / 50 km."""
    boxes.register(db, 1, fleet.car, KEY)
    t = future(24 * 3)
    t -= t % 86400
    t += 7 * 3600
    _drive(db, 1, 1, t, 60, 30, fleet.agent, fleet.car)
    _drive(db, 1, 2, t + 2 * 3600, 180, 50, fleet.agent2, fleet.car)
    return t


def test_monthly_costs_share_fixed_costs_by_hours_used(db, fleet, driven):
    start, end = timeutil.month_bounds(*_month_of(driven))
    data = reports.monthly(db, start, end)
    depts = {d["code"]: d for d in data["departments"]}
    assert (depts["DDT"]["km"], depts["DDT"]["trips"], depts["DDPP"]["km"]) == (30, 1, 50)
    # AB-123-CD: 300 € shared 1 h : 3 h; EF-456-GH (DDPP, 240 €) unused: DDPP pays it all
    assert depts["DDT"]["fixed_cents"] == 7500
    assert depts["DDPP"]["fixed_cents"] == 22500 + 24000
    assert depts["DDT"]["km_cost_cents"] == 30 * 12 and depts["DDPP"]["km_cost_cents"] == 50 * 12
    assert data["totals"]["cost_cents"] == 30000 + 24000 + 80 * 12
    car = {v["plate"]: v for v in data["vehicles"]}["AB-123-CD"]
    assert (car["km"], car["hours"], car["departments"]) == (80, 4.0, ["DDPP", "DDT"])
    assert car["usage_pct"] == round(100 * 4 / data["working_hours"], 1)
    only_ddt = reports.monthly(db, start, end, fleet.ddt)
    assert [d["code"] for d in only_ddt["departments"]] == ["DDT"]


def test_several_trips_of_one_department_on_one_car_add_up(db, fleet, driven):
    _drive(db, 1, 3, driven + 6 * 3600, 120, 20, fleet.agent, fleet.car)  # DDT again: 2 trips, 3 h, 50 km
    data = reports.monthly(db, *timeutil.month_bounds(*_month_of(driven)))
    ddt = {d["code"]: d for d in data["departments"]}["DDT"]
    assert (ddt["trips"], ddt["km"], ddt["hours"], ddt["km_cost_cents"]) == (2, 50, 3.0, 50 * 12)
    assert ddt["fixed_cents"] == 15000  # 3 h of the car's 6 h
    car = {v["plate"]: v for v in data["vehicles"]}["AB-123-CD"]
    assert (car["trips"], car["km"], car["hours"]) == (3, 100, 6.0)


def test_report_page_csv_and_evaluation(client, db, fleet, driven):
    login(client, fleet.email(fleet.admin))
    month = "%04d-%02d" % _month_of(driven)
    page = html.unescape(client.get("/admin/rapports?mois=" + month).get_data(as_text=True))
    assert "<svg" in page and "75,00 €" in page
    r = client.get("/admin/rapports.csv?par=direction&mois=" + month)
    assert r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][:4] == ["mois", "direction", "trajets", "km"]
    assert [month, "DDPP", "1", "50"] == rows[1][:4]
    evaluation = reports.evaluation(db, *timeutil.month_bounds(*_month_of(driven)))
    assert evaluation["peak"] == 1 and evaluation["cars"] == 2
    assert [(c["owner"], c["driver"], c["km"]) for c in evaluation["cross_km"]] == [("DDT", "DDPP", 50)]
    assert evaluation["least_used"][0]["plate"] == "EF-456-GH"
    assert "Évaluation du pilote" in html.unescape(client.get("/admin/evaluation?mois=" + month).get_data(
        as_text=True))


def test_a_trip_under_way_counts_in_the_evaluation_until_now_not_on_the_days_after(db, fleet):
    boxes.register(db, 1, fleet.car, KEY)
    start, end = timeutil.month_bounds(2027, 3)
    t = timeutil.parse_local("2027-03-10", "09:00")
    res = reservations.create(db, fleet.agent, fleet.car, t, t + 3600, t - 3600, Rules())
    trips.record_start(db, 1, 1, t, b"", res, 0)  # no trip_end yet
    days = dict(reports.evaluation(db, start, end, now=t + 2 * 3600)["peak_by_day"])
    assert days["2027-03-10"] == 1
    assert days["2027-03-11"] == 0 and days["2027-03-31"] == 0
    hours = dict(reports.evaluation(db, start, end, now=t + 2 * 3600)["peak_by_hour"])
    assert (hours[9], hours[10], hours[12]) == (1, 1, 0)


def test_equipment_cannot_be_double_booked(db, fleet):
    item = equipment.create(db, "Vidéoprojecteur A", "projector")
    start = local_day_at(1, "10:00")
    equipment.book(db, item, fleet.agent, start, start + 3600, start - 3600, Rules())
    with pytest.raises(RuleError) as exc:
        equipment.book(db, item, fleet.agent2, start + 600, start + 1200, start - 3600, Rules())
    assert exc.value.code == "overlap"
    assert equipment.available(db, start, start + 600) == []


def test_requests_release_no_shows_and_show_late_warnings(app, client, db, fleet):
    app.config["MAINTENANCE_ON_REQUEST"] = True
    boxes.register(db, 1, fleet.car, KEY)
    start = future(-2)
    db.execute("INSERT INTO reservations (vehicle_id, agent_id, start, end, created_at) VALUES (?, ?, ?, ?, ?)",
               (fleet.car, fleet.agent, start, start + 7200, start - 86400))
    boxes.update_health(db, 1, {}, start + 3600)  # the box synced after the no-show time, no badge-in
    login(client, fleet.email(fleet.agent))
    assert db.execute("SELECT status FROM reservations").fetchone()[0] == "no_show"
    assert db.execute("SELECT value FROM meta WHERE key = 'maintenance.purge'").fetchone() is not None


def test_admin_calendar_shows_car_and_equipment_bookings(client, db, fleet):
    item = equipment.create(db, "Appareil photo", "camera")
    start = local_day_at(1, "10:00")
    equipment.book(db, item, fleet.agent, start, start + 3600, start - 3600, Rules())
    reservations.create(db, fleet.agent2, fleet.car, start, start + 3600, start - 3600, Rules())
    login(client, fleet.email(fleet.admin))
    day = timeutil.local(start).date().isoformat()
    page = html.unescape(client.get("/admin/calendrier?jour=" + day).get_data(as_text=True))
    assert "AB-123-CD" in page and "Dominique Petit" in page and "Appareil photo" in page
    assert timeutil.fmt_day(start) in page


def test_calendar_week_across_the_dst_change_labels_each_day_once(client, fleet):
    login(client, fleet.email(fleet.admin))
    page = html.unescape(client.get("/admin/calendrier?jour=2027-03-25").get_data(as_text=True))
    days = [d for d in ("jeudi 25/03/2027", "vendredi 26/03/2027", "samedi 27/03/2027", "dimanche 28/03/2027",
                        "lundi 29/03/2027", "mardi 30/03/2027", "mercredi 31/03/2027") if d in page]
    assert len(days) == 7
    assert "jour=2027-04-01" in page and "jour=2027-03-18" in page


def test_dashboard_shows_cars_out_now_late_returns_and_bookings_kept_for_a_silent_box(client, db, fleet):
    from protocol import keys

    boxes.register(db, 1, fleet.car, KEY)
    boxes.register(db, 2, fleet.car2, "ffeeddccbbaa99887766554433221100")
    start = future(-3)
    late = reservations.create(db, fleet.agent, fleet.car, start, start + 3600, start - 3600, Rules())
    trips.record_start(db, 1, 1, start + 60, keys.badge_hash(bytes.fromhex(KEY), bytes.fromhex("04a1b2c3d4e5f6")),
                       late, 0)
    silent = future(-1)
    reservations.create(db, fleet.agent2, fleet.car2, silent, silent + 7200, silent - 3600, Rules())
    reservations.release_no_shows(db, int(time.time()), Rules().no_show_delay_s)
    login(client, fleet.email(fleet.admin))
    page = html.unescape(client.get("/admin/").get_data(as_text=True))
    out = page[page.index("Sur la route"):]
    assert "AB-123-CD" in out and "Camille Martin" in out and "en retard" in out
    assert "Réservations à vérifier" in page and "EF-456-GH" in page[page.index("Réservations à vérifier"):]


def test_a_manager_releases_a_booking_kept_for_a_silent_box_after_checking(client, db, fleet):
    boxes.register(db, 1, fleet.car, KEY)
    silent = future(-1)
    res = reservations.create(db, fleet.agent, fleet.car, silent, silent + 7200, silent - 3600, Rules())
    reservations.release_no_shows(db, int(time.time()), Rules().no_show_delay_s)
    assert reservations.get(db, res)["status"] == "booked"
    token = login(client, fleet.email(fleet.manager))
    page = html.unescape(client.get("/admin/").get_data(as_text=True))
    assert "libérer (véhicule vérifié à sa place)" in page
    client.post("/admin/reservations/%d/liberer" % res, data={"csrf_token": token})
    assert reservations.get(db, res)["status"] == "no_show"
    assert "Réservations à vérifier" not in html.unescape(client.get("/admin/").get_data(as_text=True))
    # another department's manager cannot
    other = reservations.create(db, fleet.agent2, fleet.car2, silent, silent + 7200, silent - 3600, Rules())
    boxes.register(db, 2, fleet.car2, "ff" * 16)
    reservations.release_no_shows(db, int(time.time()), Rules().no_show_delay_s)
    client.post("/admin/reservations/%d/liberer" % other, data={"csrf_token": token})
    assert reservations.get(db, other)["status"] == "booked"
