"""End to end in a real browser (Playwright driving Debian's chromium) against a live server on loopback:
an agent logs in, books a car and finds it in "mes réservations"; an administrator opens the monthly report."""

import datetime

import pytest
from browser_support import PHONE, fresh_app, log_in, needs_chromium, open_page, served
from conftest import Fleet

from server.queries import boxes, trips

pytestmark = needs_chromium


@pytest.fixture
def live_server(tmp_path):
    app, db = fresh_app(tmp_path)
    fleet = Fleet(db)
    boxes.register(db, 1, fleet.car, "11" * 16)
    trips.record_start(db, 1, 1, 1_780_000_000, b"", 0, 0)
    with served(app) as url:
        yield url, fleet
    db.conn.close()


def test_agent_books_a_car_and_admin_opens_the_monthly_report(live_server):
    url, fleet = live_server
    day = (datetime.date.today() + datetime.timedelta(days=2))
    with open_page(PHONE) as page:
        log_in(page, url, fleet.email(fleet.agent))
        page.wait_for_url(url + "/reserver")
        page.fill("#f-date", day.isoformat())
        page.fill("#f-start", "09:00")
        page.fill("#f-end_date", day.isoformat())
        page.fill("#f-end", "11:30")
        page.click("text=Chercher un véhicule libre")
        page.click("button[data-plate='AB-123-CD']")
        page.wait_for_url(url + "/mes-reservations")
        row = page.locator(".reservation", has_text="AB-123-CD")
        assert row.count() == 1
        assert day.strftime("%d/%m/%Y") + " 09:00" in row.inner_text()
        page.click("text=Déconnexion")
        page.wait_for_url(url + "/connexion")

        log_in(page, url, fleet.email(fleet.admin))
        page.wait_for_url(url + "/admin/")
        page.click(".admin-nav summary:has-text('Suivi')")  # the management menu's group, then its page
        page.click(".admin-nav details[open] >> text=Rapport mensuel")
        page.wait_for_selector("h1:has-text('Rapport mensuel')")
        assert page.locator("#par-direction").inner_text().count("DDT") >= 1
        assert page.locator("svg.chart:visible").count() == 2  # one drawing each (phone layout)
