"""Shared by the real-browser tests: a live server on loopback filled with a small but complete story
(bookings, a car on the road, a finished trip with its track, a problem report, equipment), Debian's
chromium through Playwright, axe-core (installed by `make setup` from npm at a pinned version)."""

import contextlib
import os
import threading
import time

import pytest
from conftest import PASSWORD, Fleet, future
from werkzeug.serving import make_server

from server import create_app
from server.db import connect, init_db
from server.queries import boxes, equipment, positions, problems, reservations, trips
from server.queries.common import Rules

CHROMIUM = "/usr/bin/chromium"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AXE = os.path.join(ROOT, ".node", "node_modules", "axe-core", "axe.min.js")
KEY = "11" * 16
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                    reason="Debian's chromium is not installed (%s); `make test` as root installs it"
                                           % CHROMIUM)


class Story:
    """What the pages show: ids a test navigates to."""

    def __init__(self, db):
        from protocol import keys

        self.fleet = fleet = Fleet(db)
        boxes.register(db, 1, fleet.car, KEY)
        boxes.update_health(db, 1, {"fw": "1.4.0", "csq": 18, "mv": 12600, "backlog": 0, "gps": 1}, int(time.time()))
        badge = keys.badge_hash(bytes.fromhex(KEY), bytes.fromhex("04a1b2c3d4e5f6"))
        # a trip done yesterday, with its track
        t0 = future(-26)
        done = reservations.create(db, fleet.agent, fleet.car, t0, t0 + 7200, t0 - 3600, Rules())
        self.trip = trips.record_start(db, 1, 1, t0 + 120, badge, done, 1000)
        positions.add_many(db, 1, [{"t": t0 + 120 + 30 * i, "lat": 457640000 + 900 * i, "lon": 48357000 + 1300 * i,
                                    "speed": 1200, "course": 45} for i in range(40)])
        trips.record_end(db, 1, 1, t0 + 3600, 9000, 8000, 1)
        # on the road now
        t1 = future(-1)
        now_res = reservations.create(db, fleet.agent, fleet.car, t1, t1 + 3 * 3600, t1 - 3600, Rules())
        self.open_trip = trips.record_start(db, 1, 2, t1 + 300, badge, now_res, 9000)
        # an upcoming booking of the other car, equipment, a problem
        self.upcoming = reservations.create(db, fleet.agent2, fleet.car2, future(26), future(28), int(time.time()),
                                            Rules())
        self.item = equipment.create(db, "Appareil photo", "camera")
        equipment.book(db, self.item, fleet.agent, future(30), future(31), int(time.time()), Rules())
        problems.create(db, fleet.car, fleet.agent, "fuel", "Réservoir presque vide", t0 + 3600)
        # a booking of the other car past its no-show time, its box silent: kept and flagged
        boxes.register(db, 2, fleet.car2, "22" * 16)
        t2 = future(-1)
        self.flagged = reservations.create(db, fleet.agent2, fleet.car2, t2, t2 + 7200, t2 - 3600, Rules())
        reservations.release_no_shows(db, int(time.time()), Rules().no_show_delay_s)


def fresh_app(tmp_path, **config):
    """A Flask app on a new database file, and a connection to that file (the test's view of the data).

    Plain HTTP on loopback: the Secure cookie flag would stop the browser from sending the session back."""
    app = create_app(dict({"DATABASE": str(tmp_path / "e2e.sqlite"), "SECRET_KEY": "e2e",
                           "SESSION_COOKIE_SECURE": False}, **config))
    with app.app_context():
        init_db()
    return app, connect(app.config["DATABASE"])


@contextlib.contextmanager
def served(app):
    """The app served on a free loopback port by a thread: yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_port
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def story_server(tmp_path):
    app, db = fresh_app(tmp_path, MAINTENANCE_ON_REQUEST=False)
    story = Story(db)
    with served(app) as url:
        yield url, story, db
    db.conn.close()


@contextlib.contextmanager
def chromium():
    """Debian's chromium driven by Playwright (the test is skipped where Playwright is not installed)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        try:
            yield b
        finally:
            b.close()


@contextlib.contextmanager
def open_page(viewport, **options):
    """A tab of a fresh chromium at this viewport; `options` go to Playwright's new_page."""
    with chromium() as b:
        page = b.new_page(viewport=viewport, **options)
        page.set_default_timeout(20000)
        yield page


def log_in(page, url, email, password=PASSWORD):
    page.goto(url + "/connexion")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def axe_violations(page, impacts=("serious", "critical")):
    """axe-core's violations of the loaded page at the given impacts: [(rule id, help, [targets])].

    axe files text it finds at 1:1 (white on white) under "incomplete" (it might be hidden on purpose):
    a colour-contrast result of that kind with a measured ratio below 4.5:1 counts as a violation here.
    """
    page.add_script_tag(path=AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations', 'incomplete']})")
    found = [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:5])
             for v in result["violations"] if v["impact"] in impacts]
    for v in result["incomplete"]:
        if v["id"] != "color-contrast":
            continue
        low = [n["target"] for n in v["nodes"] for check in n["any"]
               if (check.get("data") or {}).get("contrastRatio") and check["data"]["contrastRatio"] < 4.5]
        if low:
            found.append(("color-contrast", "measured below 4.5:1 (axe: needs review)", low[:5]))
    return found


# WCAG 2.1 relative luminance and contrast of every visible control against the first opaque background
# behind it (white at the root): a second opinion that does not depend on axe's heuristics.
_CONTROLS_JS = """() => {
  const rgb = s => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = c => { const [r, g, b] = c.slice(0, 3).map(v => { v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = el => { for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor); if (c.length === 3 || c[3] > 0.5) return c; }
    return [255, 255, 255]; };
  const out = [];
  for (const el of document.querySelectorAll('button, a, input:not([type=hidden]), select, .tag, label')) {
    const box = el.getBoundingClientRect(); if (!box.width || !box.height) continue;
    if (!(el.innerText || el.value || '').trim()) continue;
    const fg = lum(rgb(getComputedStyle(el).color)), bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    const text = (el.innerText || el.value).trim().slice(0, 40);
    if (ratio < 4.5) out.push([el.tagName.toLowerCase() + '.' + el.className, text, Math.round(ratio * 100) / 100]);
  }
  return out;
}"""


def low_contrast_controls(page):
    """[(tag.class, text, ratio)] of the visible controls below 4.5:1."""
    return page.evaluate(_CONTROLS_JS)


def shot(page, name):
    """Save a full-page screenshot when AUTOPARTAGE_SCREENSHOTS names a folder (to look at the pages)."""
    folder = os.environ.get("AUTOPARTAGE_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, name + ".png"), full_page=True)
