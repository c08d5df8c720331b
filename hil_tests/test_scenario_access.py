"""Access decisions at the car, seen from the outside: the relay line and the buzzer pulses.

Feedback (docs/architecture.md): granted 1 pulse, no reservation now 2, denied 3, box not ready 4.
Relay: 1 = starter blocked, 0 = released. The box decides from the allow-list its first sync brought.
"""

from hil_tests.harness.control import DENIED, GRANTED, NO_RESERVATION
from hil_tests.harness.seed import BADGES, UNKNOWN

HOUR = 3600


def _tap(box, who):
    uid = UNKNOWN if who == "unknown" else BADGES[who]
    since = box.tap(uid)
    return since, box.feedback(since, timeout=5.0)


def test_reserved_agent_taps_and_the_starter_is_released(make_bench):
    bench = make_bench(factor=60)
    box = bench.box(1, start=False)
    now = bench.clock.now()
    reservation = bench.fleet.reserve(1, "alice", now - 300, now + 2 * HOUR)
    box.start()
    assert box.control.wait_pin("relay", 1, 10, since=0) or box.relay() == 1, "a parked box blocks the starter"
    assert bench.wait_sync(1, timeout=30), "the box never synced:\n" + bench.diagnostics()
    since, pulses = _tap(box, "alice")
    assert box.control.wait_pin("relay", 0, 2, since=since) is not None, bench.diagnostics()
    assert pulses == GRANTED
    assert reservation


def test_unknown_other_pool_and_not_yet_started_are_denied(make_bench):
    bench = make_bench(factor=60)
    box = bench.box(2, pool="DDPP", start=False)  # a pool without on-the-spot use
    now = bench.clock.now()
    bench.fleet.reserve(2, "carol", now + 3 * HOUR, now + 5 * HOUR)  # Carol's booking starts in 3 h
    box.start()
    assert bench.wait_sync(2, timeout=30), "the box never synced:\n" + bench.diagnostics()
    for who, expected in (("unknown", DENIED), ("alice", DENIED), ("carol", NO_RESERVATION)):
        since, pulses = _tap(box, who)
        assert pulses == expected, "%s: %d pulses\n%s" % (who, pulses, bench.diagnostics())
        assert all(value == 1 for _, value in box.control.pin_history("relay", since))
        assert box.relay() == 1, "%s must not release the starter" % who


def test_on_the_spot_use_where_the_pool_allows_it(make_bench):
    bench = make_bench(factor=60)
    box = bench.box(12, start=False)  # Pool DDT allows on-the-spot use
    now = bench.clock.now()
    bench.fleet.reserve(12, "alice", now + 3 * HOUR, now + 5 * HOUR)  # not within the next hour
    box.start()
    assert bench.wait_sync(12, timeout=30), "the box never synced:\n" + bench.diagnostics()
    since, pulses = _tap(box, "carol")  # DDPP agent: not habilitated for this pool
    assert pulses == DENIED and box.relay() == 1
    since, pulses = _tap(box, "bob")  # DDT agent, no booking: takes the car on the spot
    assert pulses == GRANTED, bench.diagnostics()
    assert box.relay() == 0
    since = box.tap(BADGES["bob"])  # Bob gives up before starting: the starter is blocked again
    assert box.control.wait_pin("relay", 1, 5, since=since) is not None, bench.diagnostics()


def test_rdm6300_box_grants_a_booked_em4100_card_and_denies_an_unknown_one(make_bench):
    bench = make_bench(factor=60)
    box = bench.box(13, reader="rdm6300", start=False)
    now = bench.clock.now()
    bench.fleet.reserve(13, "eve", now - 300, now + 2 * HOUR)
    box.start()
    assert bench.wait_sync(13, timeout=30), "the box never synced:\n" + bench.diagnostics()
    since = box.tap(bytes.fromhex("00deadbeef"))
    assert box.feedback(since) == DENIED and box.relay() == 1, bench.diagnostics()
    since, pulses = _tap(box, "eve")
    assert pulses == GRANTED, bench.diagnostics()
    assert box.control.wait_pin("relay", 0, 2, since=since) is not None


def _duty(box):
    mark = box.control.mark()
    box.control.send("DUTY")
    line = box.control.wait_line("DUTY ", 5, since=mark)
    assert line is not None, "no DUTY answer"
    fields = [int(v) for v in line.line.split()[1:6]]
    return {"real_ms": fields[1], "asleep_ms": fields[3], "sleeps": fields[4]}


def test_a_parked_box_sleeps_and_a_badge_wakes_it(make_bench):
    """Parked, the whole firmware sleeps between syncs (board.doze); the armed reader ends the sleep when
    a card comes, so the decision is as quick as when awake."""
    bench = make_bench(factor=60)
    box = bench.box(3, start=False)
    now = bench.clock.now()
    bench.fleet.reserve(3, "alice", now - 300, now + 2 * HOUR)
    box.start()
    assert bench.wait_sync(3, timeout=30), "the box never synced:\n" + bench.diagnostics()
    first = _duty(box)
    bench.clock.sleep(120)  # two parked minutes of box time (2 s real)
    second = _duty(box)
    slept = second["sleeps"] - first["sleeps"]
    asleep = second["asleep_ms"] - first["asleep_ms"]
    assert slept >= 5, (first, second)
    assert asleep * 2 > second["real_ms"] - first["real_ms"], (first, second)  # asleep most of the time
    since, pulses = _tap(box, "alice")
    wake = box.control.wait_pin("relay", 0, 2, since=since)
    assert wake is not None and pulses == GRANTED, bench.diagnostics()
