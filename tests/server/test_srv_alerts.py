"""Cloned badges: one agent's badge on two cars at overlapping times raises an alert for administrators.
Real SQLite file, real app, frames of the real protocol from two boxes."""

import time

import pytest
from test_sync_api import KEY, UID, Box

from protocol import codes, keys
from server.queries import alerts, audit, boxes, maintenance, org
from server.queries.common import Rules

OTHER_KEY = bytes(range(40, 56))
OTHER_BOX = 4


@pytest.fixture
def two_boxes(client, db, fleet):
    """Box 3 in fleet.car and box 4 in a second car of the same pool: fleet.agent may drive both."""
    third = org.upsert_vehicle(db, "IJ-789-KL", "Peugeot 208", fleet.pool, fleet.ddt, 12, 30000)
    boxes.register(db, 3, fleet.car, KEY.hex())
    boxes.register(db, OTHER_BOX, third, OTHER_KEY.hex())
    return Box(client), Box(client, OTHER_BOX, OTHER_KEY), third


def _trip(b, t0, minutes, uid=UID, end_reason=codes.END_BADGE):
    badge = keys.badge_hash(b.key, bytes.fromhex(uid))
    out = [b.record("badge", t0, badge=badge, granted=True, reason=codes.REASON_SPOT),
           b.record("trip_start", t0 + 1, trip=b.seq + 1, badge=badge, reservation=0, odo_m=1000)]
    out += [b.record("pos", t0 + 60 * i, lat=472186000 + 100 * i, lon=-15536000, speed=1400, course=0)
            for i in range(1, minutes)]
    out.append(b.record("trip_end", t0 + 60 * minutes, trip=out[1]["trip"], odo_m=5000, distance_m=4000,
                        reason=end_reason))
    return out


def _tap(b, t, uid=UID, granted=False):
    badge = keys.badge_hash(b.key, bytes.fromhex(uid))
    return [b.record("badge", t, badge=badge, granted=granted, reason=codes.REASON_SPOT if granted
                     else codes.REASON_IN_USE)]


def _maintenance(db, now):
    db.execute("DELETE FROM meta WHERE key LIKE 'maintenance.%'")  # due now
    return maintenance.run_due(db, now, Rules(), 61)


def test_a_badge_presented_on_a_second_car_during_a_trip_raises_one_alert(two_boxes, client, db, fleet, as_user):
    car_a, car_b, third = two_boxes
    t0 = int(time.time()) - 4 * 3600
    assert car_a.sync(_trip(car_a, t0, 90))["error"] == 0  # Camille drives car A for 1 h 30
    assert car_b.sync(_tap(car_b, t0 + 40 * 60))["error"] == 0  # her UID on car B 40 min into it
    assert _maintenance(db, t0 + 4 * 3600)["badge_clones"] == 1
    assert _maintenance(db, t0 + 4 * 3600 + 120)["badge_clones"] == 0  # raised once
    [logged] = audit.entries(db, action="alert.badge_clone")
    assert logged["target"] == "agent:%d" % fleet.agent
    [alert] = alerts.recent(db)
    assert (alert["agent_id"], alert["vehicle_id"], alert["plate"], alert["other_plate"]) == (
        fleet.agent, third, "IJ-789-KL", "AB-123-CD")
    token = as_user(fleet.admin)
    page = client.get("/admin/alertes").get_data(as_text=True)
    assert "Camille Martin" in page and "IJ-789-KL" in page and "clone probable" in page
    response = client.post("/admin/alertes", data={"alert_id": alert["id"], "csrf_token": token})
    assert response.status_code == 302
    assert alerts.recent(db)[0]["handled_by"] == fleet.admin and alerts.open_count(db) == 0


def test_no_alert_for_one_car_after_the_other_nor_a_tap_while_the_first_car_closes(two_boxes, db):
    car_a, car_b, _ = two_boxes
    t0 = int(time.time()) - 6 * 3600
    car_a.sync(_trip(car_a, t0, 60, end_reason=codes.END_TIMEOUT))
    # She parks car A and takes car B three minutes before A's box closes the trip (grace time)
    car_b.sync(_trip(car_b, t0 + 57 * 60, 30))
    car_a.sync(_trip(car_a, t0 + 2 * 3600, 30))  # back on car A later
    assert _maintenance(db, t0 + 6 * 3600)["badge_clones"] == 0
    assert alerts.recent(db) == []


def test_a_trip_closed_only_at_the_next_boot_counts_until_its_last_position(two_boxes, db):
    car_a, car_b, _ = two_boxes
    t0 = int(time.time()) - 30 * 3600
    # Car A's box lost power mid-trip: the trip end comes a day later, at its next boot (END_REBOOT)
    records = _trip(car_a, t0, 30)
    records[-1]["t"] = t0 + 24 * 3600
    records[-1]["reason"] = codes.END_REBOOT
    car_a.sync(records)
    car_b.sync(_tap(car_b, t0 + 3 * 3600, granted=True))  # hours after A's last position: not a clone
    car_b.sync(_tap(car_b, t0 + 15 * 60))  # while A was still moving: a clone
    assert _maintenance(db, t0 + 30 * 3600)["badge_clones"] == 1


def test_a_manager_cannot_see_the_alerts_page(two_boxes, client, fleet, as_user):
    as_user(fleet.manager)
    assert client.get("/admin/alertes").status_code in (403, 404)
