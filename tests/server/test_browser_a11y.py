"""Every page, as an agent, a manager and an administrator, on a phone and on a desk: axe-core finds no
serious or critical violation (WCAG 2.1 AA contrast of every control included)."""

import os

import pytest
from browser_support import (AXE, DESK, PHONE, axe_violations, chromium, log_in, low_contrast_controls,  # noqa: F401
                             needs_chromium, story_server)

pytestmark = [needs_chromium, pytest.mark.skipif(not os.path.exists(AXE), reason="axe-core not installed (%s): "
                                                 "`make setup` installs it with npm" % AXE)]

AGENT = ["/reserver", "/calendrier", "/calendrier?vue=semaine", "/mes-reservations", "/mes-trajets",
         "/mes-trajets/{trip}", "/materiel", "/compte", "/compte/courriels", "/signaler", "/boite-a-idees"]
STAFF = ["/admin/", "/admin/vehicules", "/admin/vehicules/{car}", "/admin/boitiers", "/admin/boitiers/1",
         "/admin/agents", "/admin/agents/{agent}", "/admin/habilitations", "/admin/calendrier", "/admin/trajets",
         "/admin/trajets/{trip}", "/admin/carte", "/admin/problemes", "/admin/boite-a-idees", "/admin/rapports",
         "/admin/evaluation"]
ADMIN = ["/admin/directions", "/admin/pools", "/admin/materiel", "/admin/materiel/{item}", "/admin/journal-positions",
         "/admin/vehicules/{car}/modifier", "/admin/journal-audit", "/admin/alertes", "/admin/horaires-positions",
         "/admin/courriels", "/admin/agents/import"]


def test_every_page_has_no_serious_or_critical_accessibility_violation(story_server):  # noqa: F811 (fixture)
    url, story, _db = story_server
    fleet = story.fleet
    ids = {"trip": story.trip, "car": fleet.car, "agent": fleet.agent, "item": story.item}
    found = {}
    with chromium() as b:
        pages = [(None, "/connexion"), (None, "/mot-de-passe-oublie")]
        pages += [(fleet.agent, u) for u in AGENT]
        pages += [(fleet.manager, u) for u in AGENT[:1] + STAFF]
        pages += [(fleet.admin, u) for u in STAFF + ADMIN]
        for viewport in (PHONE, DESK):
            who = "unset"
            context = None
            for person, path in pages:
                if person != who:
                    if context is not None:
                        context.close()
                    context = b.new_context(viewport=viewport, bypass_csp=True)  # axe is injected as a script
                    page = context.new_page()
                    page.set_default_timeout(20000)
                    if person is not None:
                        log_in(page, url, fleet.email(person))
                    who = person
                response = page.goto(url + path.format(**ids))
                assert response.status < 400, (path, response.status)
                problems = axe_violations(page) + [("contrast", text, ratio)
                                                   for _tag, text, ratio in low_contrast_controls(page)]
                if problems:
                    found[(viewport["width"], person, path)] = problems
            context.close()
    assert not found, "\n".join("%s px, user %s, %s: %s" % (k + (v,)) for k, v in sorted(found.items(), key=str))
