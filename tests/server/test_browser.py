"""End to end in a real browser (Playwright driving Debian's chromium) against a live server on loopback:
an agent logs in, books a car and finds it in "mes réservations"; an administrator opens the monthly report."""

import datetime
import os
import threading

import pytest
from conftest import PASSWORD, Fleet
from werkzeug.serving import make_server

from server import create_app
from server.db import connect, init_db
from server.queries import boxes, trips

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="Debian's chromium is not installed (%s); `make test` as root installs it"
                                       % CHROMIUM)


@pytest.fixture
def live_server(tmp_path):
    # Plain HTTP on loopback: the Secure cookie flag would stop the browser from sending the session back.
    app = create_app({"DATABASE": str(tmp_path / "e2e.sqlite"), "SECRET_KEY": "e2e", "SESSION_COOKIE_SECURE": False})
    with app.app_context():
        init_db()
    db = connect(app.config["DATABASE"])
    fleet = Fleet(db)
    boxes.register(db, 1, fleet.car, "11" * 16)
    trips.record_start(db, 1, 1, 1_780_000_000, b"", 0, 0)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d" % server.server_port, fleet
    server.shutdown()
    thread.join(10)
    db.conn.close()


def test_agent_books_a_car_and_admin_opens_the_monthly_report(live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, fleet = live_server
    day = (datetime.date.today() + datetime.timedelta(days=2))
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            page.set_default_timeout(20000)
            page.goto(url + "/connexion")
            page.fill("#email", fleet.email(fleet.agent))
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
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

            page.fill("#email", fleet.email(fleet.admin))
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(url + "/admin/")
            page.click(".admin-nav summary:has-text('Suivi')")  # the management menu's group, then its page
            page.click(".admin-nav details[open] >> text=Rapport mensuel")
            page.wait_for_selector("h1:has-text('Rapport mensuel')")
            assert page.locator("#par-direction").inner_text().count("DDT") >= 1
            assert page.locator("svg.chart:visible").count() == 2  # one drawing each (phone layout)
        finally:
            browser.close()
