"""What the phone screenshots showed, kept fixed in a real browser at 390 px: a number plate is never cut at its
dashes (« AB-123- » on one line, « CD » on the next)."""

from browser_support import PHONE, chromium, log_in, needs_chromium, story_server  # noqa: F401

pytestmark = needs_chromium

# The boxes of one inline element: more than one means it wrapped.
_WRAPPED_PLATES = """sel => Array.from(document.querySelectorAll(sel))
  .filter(e => e.getClientRects().length > 1).map(e => e.textContent.trim())"""


def test_number_plates_stay_on_one_line_on_a_phone(story_server):  # noqa: F811
    url, story, _db = story_server
    fleet = story.fleet
    with chromium() as b:
        for person, path, selector in [(fleet.agent, "/mes-trajets", "td .plate"),
                                       (fleet.agent, "/mes-reservations", "td .plate"),
                                       (fleet.manager, "/admin/trajets", "td > a[href*='/vehicules/']"),
                                       (fleet.manager, "/admin/problemes", "td .plate")]:
            context = b.new_context(viewport=PHONE)
            page = context.new_page()
            log_in(page, url, fleet.email(person))
            page.goto(url + path)
            assert page.locator(selector).count() > 0, (path, selector)
            assert page.evaluate(_WRAPPED_PLATES, selector) == [], path
            context.close()
