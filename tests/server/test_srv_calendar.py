"""The calendar timeline: cars as rows, bookings as bars, free slots to pick; agents and managers."""

import datetime
import html
import re

from conftest import future, local_day_at, login

from server import timeline, timeutil
from server.queries import reservations
from server.queries.common import Rules


def test_rows_merge_a_booking_over_its_slots_keep_free_slots_apart_and_grey_the_past():
    day = datetime.date(2027, 3, 10)
    slots = timeline.day_slots(day)
    assert len(slots) == timeline.DAY_LAST_HOUR - timeline.DAY_FIRST_HOUR and slots[0][2] == "07 h"
    at = lambda hhmm: timeutil.parse_local(day.isoformat(), hhmm)  # noqa: E731
    bookings = [{"id": 1, "vehicle_id": 5, "start": at("09:30"), "end": at("12:00")},
                {"id": 2, "vehicle_id": 5, "start": at("12:00"), "end": at("13:00")}]
    (row,) = timeline.rows([{"id": 5}], bookings, slots, now=at("08:10"))
    states = [(c["state"], c["span"], [b["id"] for b in c["bookings"]]) for c in row["cells"]]
    assert states[:4] == [("past", 1, []), ("free", 1, []), ("busy", 3, [1]), ("busy", 1, [2])]
    assert all(s == ("free", 1, []) for s in states[4:]) and len(states) == 4 + 7
    assert row["cells"][1]["start"] == at("08:10")  # the hour under way: from now
    assert timeline.search_args(row["cells"][1]) == {"date": "2027-03-10", "start": "08:15", "end_date": "2027-03-10",
                                                     "end": "09:15"}


def _links(page):
    return [html.unescape(h) for h in re.findall(r'<td class="free"><a href="([^"]+)"', page)]


def test_agent_sees_the_cars_they_may_book_bookings_without_names_and_books_by_picking_a_slot(client, db, fleet):
    start = local_day_at(2, "09:00")
    day = timeutil.local(start).date()
    reservations.create(db, fleet.agent2, fleet.car, start, start + 3600, start - 86400, Rules())
    login(client, fleet.email(fleet.agent))  # DDT: the shared pool only (AB-123-CD), not DDPP's pool
    page = html.unescape(client.get("/calendrier", query_string={"vue": "jour", "jour": day.isoformat()})
                         .get_data(as_text=True))
    assert "AB-123-CD" in page and "EF-456-GH" not in page
    assert "réservé" in page and "Dominique Petit" not in page  # another agent's booking: no name
    hour = timeutil.local(start).strftime("%H:%M")
    assert not any("start=" + hour in link for link in _links(page))  # the booked hour is not offered
    link = [u for u in _links(page) if "start=" + timeutil.local(start + 3600).strftime("%H:%M") in u][0]
    assert link.startswith("/reserver?") and "date=" + day.isoformat() in link
    result = html.unescape(client.get(link).get_data(as_text=True))
    assert "Réserver AB-123-CD" in result  # the picked slot's search offers the car
    week = html.unescape(client.get("/calendrier", query_string={"vue": "semaine", "jour": day.isoformat()})
                         .get_data(as_text=True))
    assert timeutil.fmt_day(start) in week and "matin" in week


def test_manager_sees_every_car_of_their_scope_with_who_booked(client, db, fleet):
    start = local_day_at(2, "10:00")
    reservations.create(db, fleet.agent, fleet.car, start, start + 3600, start - 86400, Rules())
    login(client, fleet.email(fleet.manager))
    page = html.unescape(client.get("/admin/calendrier", query_string={
        "jour": timeutil.local(start).date().isoformat()}).get_data(as_text=True))
    assert "AB-123-CD" in page and "Camille Martin" in page and "EF-456-GH" not in page
    assert client.get("/admin/calendrier", query_string={"vue": "mois"}).status_code == 400
    assert client.get("/calendrier", query_string={"jour": "hier"}).status_code == 400


def test_on_road_bars_cover_the_trip_until_the_margin_or_the_booking_end():
    day = datetime.date(2027, 3, 10)
    at = lambda hhmm: timeutil.parse_local(day.isoformat(), hhmm)  # noqa: E731
    out = [{"id": 9, "vehicle_id": 5, "agent_id": 2, "agent_name": "X", "start": at("08:10"), "due": at("09:00")}]
    bars = timeline.on_road_bars(out, at("11:20"), 1800)
    assert bars[0]["end"] == at("11:50") and bars[0]["on_road"]
    (row,) = timeline.rows([{"id": 5}], bars, timeline.day_slots(day), now=at("11:20"))
    assert [(c["state"], c["span"]) for c in row["cells"][:3]] == [("past", 1), ("busy", 4), ("free", 1)]


def test_a_car_on_the_road_is_shown_busy_not_free_even_past_its_booking(client, db, fleet):
    import pytest

    from server.queries import boxes, trips

    if not timeline.DAY_FIRST_HOUR + 1 <= timeutil.local(future(0)).hour < timeline.DAY_LAST_HOUR - 1:
        pytest.skip("the day view shows 07-20 h: run in the day")
    boxes.register(db, 1, fleet.car, "00" * 16)
    start = future(-3)
    res = reservations.create(db, fleet.agent2, fleet.car, start, start + 3600, start - 3600, Rules())
    trips.record_start(db, 1, 1, start + 60, b"", res, 0)  # driven, two hours late now
    login(client, fleet.email(fleet.agent))
    page = html.unescape(client.get("/calendrier").get_data(as_text=True))
    now_hour = timeutil.local(future(0)).strftime("%H:%M")
    assert "sur la route" in page and "Dominique Petit" not in page
    assert not any("start=" + now_hour in link for link in _links(page))  # this hour is not offered
    login(client, fleet.email(fleet.admin))
    page = html.unescape(client.get("/admin/calendrier?vue=jour").get_data(as_text=True))
    assert "sur la route (Dominique Petit)" in page


def test_a_calendar_filters_by_pool_keeps_the_filter_in_its_links_and_offers_only_the_callers_pools(client, fleet):
    login(client, fleet.email(fleet.agent2))  # DDPP: the shared pool and DDPP's own
    page = html.unescape(client.get("/calendrier").get_data(as_text=True))
    assert "AB-123-CD" in page and "EF-456-GH" in page and 'name="pool"' in page
    page = html.unescape(client.get("/calendrier", query_string={"vue": "semaine", "pool": fleet.pool_ddpp})
                         .get_data(as_text=True))
    assert "EF-456-GH" in page and "AB-123-CD" not in page
    nav = re.findall(r'href="(/calendrier\?[^"]+)"', page)
    assert nav and all("pool=%d" % fleet.pool_ddpp in link for link in nav), nav  # period, view and day links
    login(client, fleet.email(fleet.agent))  # DDT: the shared pool only, so no choice to make
    page = html.unescape(client.get("/calendrier").get_data(as_text=True))
    assert 'name="pool"' not in page
    refused = client.get("/calendrier", query_string={"pool": fleet.pool_ddpp})  # a pool that is not theirs
    assert refused.status_code == 400 and "EF-456-GH" not in refused.get_data(as_text=True)
    for bad in ("1 OR 1=1", "²"):
        refused = client.get("/calendrier", query_string={"pool": bad})
        assert refused.status_code == 400 and "choisissez un pool" in html.unescape(refused.get_data(as_text=True))
    login(client, fleet.email(fleet.admin))
    page = html.unescape(client.get("/admin/calendrier", query_string={"pool": fleet.pool}).get_data(as_text=True))
    assert "AB-123-CD" in page and "EF-456-GH" not in page
