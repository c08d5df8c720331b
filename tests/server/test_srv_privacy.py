"""CNIL rules on positions (deliberation 2015-165): retention by the positions' own time, no per-driver top
speed once they are gone, none outside the working hours of the driver's department unless a reason is
documented. Real SQLite file, real app, frames of the real protocol."""

import datetime

import pytest
from test_sync_api import KEY, Box, badge

from protocol import codes
from server.queries import boxes, maintenance, positions
from server.timeutil import TZ

DAY = 86400


def paris(y, m, d, hh, mm=0):
    return int(datetime.datetime(y, m, d, hh, mm, tzinfo=TZ).timestamp())


@pytest.fixture
def box(client, db, fleet):
    boxes.register(db, 3, fleet.car, KEY.hex())
    positions.set_work_hours(db, fleet.ddt, 7 * 60, 20 * 60, "12345", "")  # the defaults, no exception
    return Box(client)


def _drive(b, t0, minutes, trip=1, end=True):
    """A trip of fleet.agent: badge, start, a position a minute, end with 1 km a minute."""
    out = [b.record("badge", t0, badge=badge(), granted=True, reason=codes.REASON_SPOT),
           b.record("trip_start", t0 + 1, trip=trip, badge=badge(), reservation=0, odo_m=0)]
    out += [b.record("pos", t0 + 60 * i, lat=472186000 + 1000 * i, lon=-15536000, speed=1400 + i, course=0)
            for i in range(1, minutes)]
    if end:
        out.append(b.record("trip_end", t0 + 60 * minutes, trip=trip, odo_m=1000 * minutes,
                            distance_m=1000 * minutes, reason=codes.END_BADGE))
    assert b.sync(out)["error"] == 0


def _trip(db, start):
    return dict(db.execute("SELECT * FROM trips WHERE start = ?", (start + 1,)).fetchone())


def _stored(db, trip_id):
    return [r[0] for r in db.execute("SELECT t FROM positions WHERE trip_id = ? ORDER BY t", (trip_id,))]


def test_outside_working_hours_a_trip_keeps_its_kilometres_but_no_positions(box, db):
    evening = paris(2025, 12, 9, 21)  # a Tuesday, 21:00 in Paris
    _drive(box, evening, 30)
    trip = _trip(db, evening)
    assert trip["distance_m"] == 30000 and _stored(db, trip["id"]) == []
    saturday = paris(2025, 12, 13, 10)
    _drive(box, saturday, 10, trip=2)
    assert _stored(db, _trip(db, saturday)["id"]) == []
    bastille_day = paris(2025, 7, 14, 10)  # a Monday, public holiday
    _drive(box, bastille_day, 10, trip=3)
    assert _stored(db, _trip(db, bastille_day)["id"]) == []


def test_a_trip_across_the_end_of_the_day_keeps_only_the_positions_in_working_hours(box, db):
    t0 = paris(2025, 12, 9, 19, 50)
    _drive(box, t0, 20)
    kept = _stored(db, _trip(db, t0)["id"])
    assert kept == [t0 + 60 * i for i in range(1, 10)]  # 19:51 .. 19:59, nothing from 20:00 on
    morning = paris(2025, 12, 10, 9)
    _drive(box, morning, 10, trip=2)
    assert len(_stored(db, _trip(db, morning)["id"])) == 9


def test_a_documented_reason_keeps_positions_at_any_hour(box, db, fleet):
    positions.set_vehicle_tracking_reason(db, fleet.car, "Astreinte routes : interventions de nuit")
    evening = paris(2025, 12, 9, 23)
    _drive(box, evening, 10)
    assert len(_stored(db, _trip(db, evening)["id"])) == 9
    positions.set_vehicle_tracking_reason(db, fleet.car, "")
    positions.set_work_hours(db, fleet.ddt, 7 * 60, 20 * 60, "12345", "Viabilité hivernale (astreinte)")
    sunday = paris(2025, 12, 14, 3)
    _drive(box, sunday, 10, trip=2)
    assert len(_stored(db, _trip(db, sunday)["id"])) == 9


def test_positions_go_by_their_own_time_also_in_a_trip_that_never_closed(box, db):
    t0 = paris(2025, 12, 9, 9)
    _drive(box, t0, 30, end=False)  # the trip_end never came (box stolen, destroyed...)
    trip = _trip(db, t0)
    assert trip["end"] is None and len(_stored(db, trip["id"])) == 29
    assert maintenance.purge_positions(db, t0 + 60 * DAY, 61) == 0
    # 61 days after the first 10 minutes: those go, the rest waits for its own time
    assert maintenance.purge_positions(db, t0 + 61 * DAY + 600, 61) == 9
    assert _stored(db, trip["id"])[0] == t0 + 600
    assert maintenance.purge_positions(db, t0 + 62 * DAY, 61) == 20
    summary = _trip(db, t0)
    assert (summary["positions_count"], summary["positions_purged"], summary["max_speed"]) == (29, 1, None)


def test_the_administrator_sets_hours_and_documents_an_exception_on_the_page(client, db, fleet, as_user):
    token = as_user(fleet.admin)
    page = client.get("/admin/horaires-positions").get_data(as_text=True)
    assert "délibération n° 2015-165" in page and "AB-123-CD" in page
    form = {"csrf_token": token, "department_id": fleet.ddt, "start": "08:00", "end": "18:30", "day1": "1",
            "day2": "1", "day3": "1", "day4": "1", "reason": ""}
    assert client.post("/admin/horaires-positions", data=form).status_code == 302
    d = dict(db.execute("SELECT * FROM departments WHERE id = ?", (fleet.ddt,)).fetchone())
    assert (d["work_start_min"], d["work_end_min"], d["work_days"], d["tracking_reason"]) == (480, 1110, "1234", "")
    bad = dict(form, start="8h", end="07:00")
    del bad["day1"], bad["day2"], bad["day3"], bad["day4"]
    response = client.post("/admin/horaires-positions", data=bad)
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "format HH:MM" in text and "au moins un jour" in text
    assert db.execute("SELECT work_start_min FROM departments WHERE id = ?", (fleet.ddt,)).fetchone()[0] == 480
    vehicle = {"csrf_token": token, "action": "vehicle", "vehicle_id": fleet.car, "reason": "Astreinte de nuit"}
    assert client.post("/admin/horaires-positions", data=vehicle).status_code == 302
    assert db.execute("SELECT tracking_reason FROM vehicles WHERE id = ?", (fleet.car,)).fetchone()[0] == (
        "Astreinte de nuit")


def test_a_manager_cannot_change_the_hours(client, fleet, as_user):
    token = as_user(fleet.manager)
    response = client.post("/admin/horaires-positions", data={"csrf_token": token, "department_id": fleet.ddt,
                                                              "start": "00:00", "end": "23:59", "day1": "1"})
    assert response.status_code in (403, 404)
