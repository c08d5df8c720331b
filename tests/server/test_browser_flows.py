"""The flows of issue 16 walked in a real browser, as an agent and as a manager, on a phone (390 px) and on
a desk (1280 px). AUTOPARTAGE_SCREENSHOTS=<folder> keeps a screenshot of each step."""

import pytest
from browser_support import DESK, PHONE, log_in, needs_chromium, open_page, shot, story_server  # noqa: F401

pytestmark = needs_chromium

VIEWPORTS = {"phone": PHONE, "desk": DESK}


@pytest.fixture
def page(size):
    """A tab at the viewport the test is parametrized with."""
    with open_page(VIEWPORTS[size]) as tab:
        yield tab


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_manager_sees_the_car_out_its_story_and_its_track_on_a_map(story_server, size, page):  # noqa: F811
    url, story, _db = story_server
    fleet = story.fleet
    tiles = []
    page.on("request", lambda r: tiles.append(r.url) if "tile" in r.url else None)
    log_in(page, url, fleet.email(fleet.manager))
    page.wait_for_url(url + "/admin/")
    out = page.locator("#sur-la-route + .table-wrap")
    assert "AB-123-CD" in out.inner_text() and "Camille Martin" in out.inner_text()
    shot(page, "%s-manager-dashboard" % size)
    page.click("#sur-la-route + .table-wrap >> text=AB-123-CD")
    page.wait_for_selector("h1:has-text('AB-123-CD')")
    assert "Sur la route avec Camille Martin" in page.locator("#etat").inner_text()
    assert "Réservoir presque vide" in page.content()
    shot(page, "%s-manager-vehicle" % size)
    page.click("#trajets >> text=détail et carte >> nth=-1")  # the finished trip, with its track
    page.wait_for_selector("#carte-trajet[data-drawn]")
    assert int(page.get_attribute("#carte-trajet", "data-drawn")) == 40
    assert page.locator("#carte-trajet path.leaflet-interactive").count() >= 1  # the track line
    assert "map-plain" in page.get_attribute("#carte-trajet", "class") and tiles == []
    shot(page, "%s-manager-trip-map" % size)
    page.goto(url + "/admin/")
    page.click(".admin-nav summary:has-text('Flotte')")  # the management menu's group, then its page
    page.click(".admin-nav details[open] >> text=Carte")
    page.wait_for_selector("#carte-flotte[data-drawn='1']")
    assert "AB-123-CD" in page.locator("#positions-flotte").inner_text()
    shot(page, "%s-manager-fleet-map" % size)


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_report_charts_are_readable_with_axes_and_units_on_phone_and_desk(story_server, size, page):  # noqa: F811
    url, story, _db = story_server
    log_in(page, url, story.fleet.email(story.fleet.admin))
    page.goto(url + "/admin/rapports")
    charts = page.locator("svg.chart:visible")
    assert charts.count() == 2
    main_width = page.evaluate("document.querySelector('main').clientWidth")
    for i in range(2):
        chart = charts.nth(i)
        width = chart.bounding_box()["width"]
        if size == "desk":
            assert width >= 600
        else:
            assert width >= main_width - 40  # the phone's whole width, less the page margins
        text = chart.text_content()
        assert "Direction" in text and ("(km)" in text or "(€)" in text)  # axis titles with the unit
        # the smallest text is at least 11 px on screen
        smallest = page.evaluate("""svg => Math.min(...[...svg.querySelectorAll('text')].map(
            t => t.getBoundingClientRect().height))""", chart.element_handle())
        assert smallest >= 11, smallest
    shot(page, "%s-admin-report" % size)


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_agent_picks_a_free_slot_in_the_calendar_and_books_it(story_server, size, page):  # noqa: F811
    import datetime

    url, story, _db = story_server
    day = (datetime.date.today() + datetime.timedelta(days=3)).isoformat()
    log_in(page, url, story.fleet.email(story.fleet.agent))
    page.click("header >> text=Calendrier")
    page.wait_for_selector("#timeline")
    page.click("text=semaine")
    page.wait_for_selector("#timeline.week")
    shot(page, "%s-agent-calendar-week" % size)
    page.goto(url + "/calendrier?vue=jour&jour=" + day)
    shot(page, "%s-agent-calendar-day" % size)
    page.click("a[aria-label='libre : réserver AB-123-CD à partir de 10:00']")
    page.wait_for_selector("button[data-plate='AB-123-CD']")
    assert page.input_value("#f-start") == "10:00" and page.input_value("#f-end") == "11:00"
    page.click("button[data-plate='AB-123-CD']")
    page.wait_for_url(url + "/mes-reservations")
    page.goto(url + "/calendrier?vue=jour&jour=" + day)
    mine = page.locator("td.busy.mine")
    assert mine.count() == 1 and "vous" in mine.inner_text() and "10:00–11:00" in mine.inner_text()
    shot(page, "%s-agent-calendar-booked" % size)


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_manager_calendar_shows_all_cars_of_the_scope_with_names(story_server, size, page):  # noqa: F811
    from conftest import local_day_at

    from server import timeutil
    from server.queries import reservations
    from server.queries.common import Rules

    url, story, db = story_server
    start = local_day_at(2, "10:00")  # in the calendar's hours (07-20 h) whatever the hour the test runs
    reservations.create(db, story.fleet.agent, story.fleet.car, start, start + 3600, start - 86400, Rules())
    log_in(page, url, story.fleet.email(story.fleet.admin))
    page.goto(url + "/admin/calendrier?jour=" + timeutil.local(start).date().isoformat())
    rows = page.locator("#timeline tbody tr")
    assert rows.count() == 2  # both cars (an administrator's scope is the whole site)
    assert "Camille Martin" in page.locator("#timeline").inner_text()
    shot(page, "%s-admin-calendar-week" % size)
    page.select_option("#f-pool", label="Pool DDPP")  # one pool of the site, then the next week in it
    page.click("form.timeline-filter button")
    page.wait_for_url("**pool=*")
    assert rows.count() == 1 and "EF-456-GH" in rows.inner_text()
    page.click("text=semaine suivante")
    assert rows.count() == 1 and "EF-456-GH" in rows.inner_text()
    shot(page, "%s-admin-calendar-pool" % size)


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_agent_search_for_a_past_slot_gets_the_rule_before_any_car(story_server, size, page):  # noqa: F811
    import datetime

    url, story, _db = story_server
    yesterday = (datetime.date.today() - datetime.timedelta(days=1)).isoformat()
    log_in(page, url, story.fleet.email(story.fleet.agent))
    page.fill("#f-date", yesterday)
    page.fill("#f-start", "09:00")
    page.fill("#f-end_date", yesterday)
    page.fill("#f-end", "10:00")
    page.click("text=Chercher un véhicule libre")
    page.wait_for_selector("#e-date")
    assert page.inner_text("#e-date") == "Le début de la réservation est déjà passé."
    assert page.locator("button[data-plate]").count() == 0
    shot(page, "%s-agent-search-past" % size)
    page.goto(url + "/mes-reservations")
    cancel = page.locator("form[action*='/materiel/'] button.link")  # was white on white
    assert cancel.is_visible() and cancel.inner_text() == "annuler"


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_admin_cannot_overwrite_a_car_and_edits_its_costs_from_a_month(story_server, size, page):  # noqa: F811
    url, story, db = story_server
    fleet = story.fleet
    log_in(page, url, fleet.email(fleet.admin))
    page.goto(url + "/admin/vehicules")
    page.fill("#f-plate", "ab 123cd")
    page.fill("#f-model", "Autre modèle")
    page.click("text=Enregistrer")
    page.wait_for_selector("#e-plate")
    assert "Le véhicule AB-123-CD existe déjà" in page.inner_text("#e-plate")
    assert db.execute("SELECT model FROM vehicles WHERE id = ?", (fleet.car,)).fetchone()[0] == \
        "Renault Clio IV"
    shot(page, "%s-admin-vehicle-duplicate" % size)
    page.goto(url + "/admin/vehicules/%d" % fleet.car)
    page.click("#etat >> text=Modifier")
    page.fill("#f-cost_per_km_cents", "15")
    page.select_option("#f-valid_from", index=1)  # from next month
    page.click("text=Enregistrer")
    page.wait_for_selector("#historique")
    history = page.inner_text("#historique")
    assert "0,15" in history and "0,12" in history  # the new terms from next month, the old ones kept
    assert "0,12 € par km" in page.inner_text("#etat")  # this month's cost unchanged
    shot(page, "%s-admin-vehicle-edited" % size)


def test_manager_filters_trips_and_downloads_the_csv(story_server):  # noqa: F811
    url, story, _db = story_server
    with open_page(DESK, accept_downloads=True) as page:
        log_in(page, url, story.fleet.email(story.fleet.manager))
        page.goto(url + "/admin/trajets?du=2000-01-01")
        assert page.locator("#liste-trajets tbody tr").count() == 2
        page.check("#f-en_cours")
        page.click("text=Filtrer")
        page.wait_for_url("**en_cours=1**")
        assert page.locator("#liste-trajets tbody tr").count() == 1
        shot(page, "desk-manager-trips-filtered")
        with page.expect_download() as info:
            page.click("text=Exporter en CSV")
        content = open(info.value.path(), encoding="utf-8-sig").read().splitlines()
        assert content[0].startswith("depart;retour;immatriculation") and len(content) == 2
        assert ";en cours;" in content[1]
