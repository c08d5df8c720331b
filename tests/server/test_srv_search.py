"""A search for a slot the rules refuse answers with the rule's message before listing anything."""

import html
import time

import pytest
from conftest import future, login

from server import timeutil
from server.queries import equipment
from server.queries.common import Rules


def _form(start, end):
    s, e = timeutil.local(start), timeutil.local(end)
    return {"date": s.date().isoformat(), "start": s.strftime("%H:%M"), "end_date": e.date().isoformat(),
            "end": e.strftime("%H:%M")}


RULES = Rules()
CASES = {  # name -> (start, end) from now, the rule's message
    "past": (lambda now: (future(-48), future(-47)), "Le début de la réservation est déjà passé."),
    "too_long": (lambda now: (future(24), future(24) + RULES.max_duration_s + 3600),
                 "Une réservation dure au plus 72 heures."),
    "horizon": (lambda now: (future(24 * 100), future(24 * 100) + 3600),
                "On ne peut pas réserver plus de 90 jours à l'avance."),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("url,listing", [("/reserver", "Réserver AB-123-CD"), ("/materiel", "Appareil photo")])
def test_a_search_the_rules_refuse_gets_the_rule_message_and_no_list(client, db, fleet, case, url, listing):
    equipment.create(db, "Appareil photo", "camera")
    login(client, fleet.email(fleet.agent))
    slot, message = CASES[case]
    start, end = slot(int(time.time()))
    r = client.get(url, query_string=_form(start, end))
    body = html.unescape(r.get_data(as_text=True))
    assert r.status_code == 400
    assert message in body
    assert listing not in body and "Aucun" not in body  # no list at all, not even an empty one
    # a slot the rules accept lists the car / the item
    ok = client.get(url, query_string=_form(future(24), future(25)))
    assert listing in html.unescape(ok.get_data(as_text=True))
