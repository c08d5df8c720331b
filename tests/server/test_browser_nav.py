"""The management menu on a phone (390 px), in a real browser: every management page is reachable from it by
opening its group, as a manager and as an administrator; a manager is not offered the administrators' pages;
the closed menu leaves the screen to the page (twenty flat tabs used to fill half of it)."""

import pytest
from browser_support import PHONE, log_in, needs_chromium, open_page, shot, story_server  # noqa: F401

pytestmark = needs_chromium

STAFF_PAGES = {"/admin/", "/admin/vehicules", "/admin/calendrier", "/admin/boitiers", "/admin/carte", "/admin/agents",
               "/admin/habilitations", "/admin/trajets", "/admin/problemes", "/admin/boite-a-idees", "/admin/rapports",
               "/admin/evaluation"}
ADMIN_PAGES = STAFF_PAGES | {"/admin/pools", "/admin/materiel", "/admin/directions", "/admin/journal-positions",
                             "/admin/journal-audit", "/admin/horaires-positions", "/admin/alertes", "/admin/courriels"}


def _path(page, url):
    return page.url[len(url):].split("?")[0]


def _open_group(page, label):
    page.click(".admin-nav summary:text-is('%s')" % label)
    return page.locator(".admin-nav details[open] a")


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_every_management_page_is_reachable_from_the_phone_menu(story_server, role):  # noqa: F811
    url, story, _db = story_server
    fleet = story.fleet
    expected = ADMIN_PAGES if role == "admin" else STAFF_PAGES
    with open_page(PHONE) as page:
        log_in(page, url, fleet.email(getattr(fleet, role)))
        page.goto(url + "/admin/")
        menu = page.locator(".admin-nav").bounding_box()
        assert menu["height"] <= PHONE["height"] / 8, "the closed menu takes %d px of a phone" % menu["height"]
        groups = page.locator(".admin-nav summary").all_inner_texts()
        targets = {"Tableau de bord": ["/admin/"]}
        for label in [g.strip(" ▾▴") for g in groups]:
            links = _open_group(page, label)
            assert links.count() > 0, label
            for i in range(links.count()):
                box = links.nth(i).bounding_box()
                assert links.nth(i).is_visible() and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], \
                    (label, links.nth(i).inner_text(), box)
            targets[label] = [a.split("?")[0] for a in links.evaluate_all("l => l.map(a => a.pathname)")]
            if role == "admin" and label == "Administration":
                shot(page, "phone-admin-menu-open")
            page.keyboard.press("Escape")
            assert page.locator(".admin-nav details[open]").count() == 0, "Escape closes the menu"
        reached = set()
        for label, paths in targets.items():
            for path in paths:
                page.goto(url + "/admin/")
                with page.expect_navigation() as visit:
                    if label == "Tableau de bord":
                        page.click(".admin-nav a.menu-top")
                    else:
                        _open_group(page, label)
                        page.click(".admin-nav details[open] a[href='%s']" % path)
                assert visit.value.status == 200, path
                assert _path(page, url) == path
                reached.add(path)
                if label != "Tableau de bord":  # the page's group is marked, its pages listed as tabs
                    assert page.locator(".admin-nav summary.current").inner_text().strip(" ▾▴") == label
                    assert page.locator(".subtabs a[aria-current=page]").get_attribute("href") == path
        assert reached == expected


def test_a_vehicle_page_is_marked_as_part_of_the_vehicles_tab(story_server):  # noqa: F811
    url, story, _db = story_server
    with open_page(PHONE) as page:
        log_in(page, url, story.fleet.email(story.fleet.manager))
        page.goto(url + "/admin/vehicules/%d" % story.fleet.car)
        assert page.locator(".admin-nav summary.current").inner_text().strip(" ▾▴") == "Flotte"
        assert page.locator(".subtabs a[aria-current=page]").inner_text() == "Véhicules"
