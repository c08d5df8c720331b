"""The box decides offline: a booking made on the web reaches it at the next sync and is honoured with
the network gone; a week without GSM loses nothing (every record arrives once the network is back).
"""

import time

from hil_tests.harness.control import GRANTED
from hil_tests.harness.seed import BADGES, PASSWORD
from hil_tests.harness.web import WebAgent
from protocol import codes

HOUR = 3600
DAY = 24 * HOUR


def test_web_booking_reaches_the_box_and_is_honoured_with_the_network_gone(make_bench):
    bench = make_bench(factor=3600)  # the 6 h parked sync period takes 6 s here
    box = bench.box(5)
    assert bench.wait_sync(5, timeout=30), "the box never synced:\n" + bench.diagnostics()
    # Alice books on the web (login, booking form) after the box's last sync, for later today.
    now = bench.clock.now()
    start = (int(now) // 60 + 8 * 60) * 60  # the form takes minutes
    agent = WebAgent(bench.server.url)
    agent.login("alice@ddt.example", PASSWORD)
    agent.book(bench.fleet.vehicles[5], start, start + 4 * HOUR)
    reservation = bench.fleet.rows("SELECT id FROM reservations WHERE agent_id = ? AND start = ?",
                                   (bench.fleet.agent_ids["alice"], start))
    assert reservation, "the web booking is not in the database"
    after = bench.last_seen(5)
    assert bench.wait_sync(5, timeout=40, after=after), "no sync after the booking:\n" + bench.diagnostics()
    allow = bench.fleet.rows("SELECT * FROM box_allow WHERE box_id = ? AND agent_id = ?",
                             (5, bench.fleet.agent_ids["alice"]))
    assert allow, "the booking was not sent to the box"
    box.modem.registered = False  # the network is gone from here on
    bench.clock.sleep_until(start + 60)
    since = box.tap(BADGES["alice"])
    assert box.feedback(since) == GRANTED, bench.diagnostics()
    assert box.control.wait_pin("relay", 0, 2, since=since) is not None
    assert reservation


def test_a_week_without_gsm_then_every_record_arrives_once(make_bench):
    bench = make_bench(factor=28800)  # 8 simulated hours per second: 7 days in 21 s
    box = bench.box(6)
    assert bench.wait_sync(6, timeout=30), "the box never synced:\n" + bench.diagnostics()
    base = len(bench.fleet.badge_events(6))
    base_trips = len(bench.fleet.trips(6))
    box.modem.registered = False
    started = bench.clock.now()
    taps = 0
    day = 0
    while bench.clock.now() < started + 7 * DAY:
        day += 1
        # The fleet manager (permanent role) takes the car and brings it back every day.
        since = box.tap(BADGES["max"])
        assert box.feedback(since, timeout=3) == GRANTED, "day %d: decision from the allow-list" % day
        since = box.tap(BADGES["max"])
        assert box.control.wait_pin("relay", 1, 3, since=since) is not None
        taps += 2
        bench.clock.sleep_until(started + day * DAY)
    box.modem.registered = True
    events = bench.fleet.wait(lambda: len(bench.fleet.badge_events(6)) - base >= taps, timeout=60)
    got = bench.fleet.badge_events(6)[base:]
    assert events, "%d of %d badge records arrived:\n%s" % (len(got), taps, bench.diagnostics())
    time.sleep(2)  # one more sync: nothing is sent twice
    assert len(bench.fleet.badge_events(6)) - base == taps
    seqs = bench.fleet.records(6)
    assert len(seqs) == len(set(seqs))
    # Every grant opened a trip and every trip arrived closed (at this clock the 180 s start window is a few
    # real ms, so a second tap is often a new use rather than a badge-out: count grants, not days).
    grants = [e for e in bench.fleet.badge_events(6)[base:] if e["granted"] and e["reason"] == codes.REASON_ROLE]
    trips = bench.fleet.wait(lambda: [t for t in bench.fleet.trips(6)[base_trips:] if t["end"]], timeout=20)
    assert grants and len(trips) == len(grants), "%d closed trips for %d grants" % (len(trips), len(grants))
