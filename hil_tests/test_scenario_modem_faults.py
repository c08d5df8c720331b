"""Every modem fault mode of the emulator: the box recovers, and a badge decision is never delayed by it.

Each round: the fault is set, the fleet manager takes the car and brings it back (the trip end triggers a
sync that meets the fault), tap-to-release latency is measured on the way; then the fault is cleared and
the round's records must reach the server.
"""

import time

import pytest

from hil_tests.harness.control import GRANTED
from hil_tests.harness.seed import BADGES

MAX_DECISION_S = 0.5  # real seconds from the badge leaving the reader to the relay release


def _not_registered(modem):
    modem.registered = False


def _cme_error(modem):
    modem.fail("AT+CIPSTART", "+CME ERROR: 100", count=None)


def _slow(modem):
    modem.delay_s = 5.0


def _silent(modem):
    modem.silent = True


def _reset_during_transfer(modem):
    modem.reset_during_transfer = True


def _under_voltage(modem):
    modem.under_voltage()
    modem.under_voltage_on_transfer = True


def _dropped(modem):
    modem.drop_on_transfer = True


def _clear(modem):
    modem.registered = True
    modem.clear_failures()
    modem.delay_s = 0.0
    modem.silent = False
    modem.reset_during_transfer = False
    modem.under_voltage_on_transfer = False
    modem.drop_on_transfer = False


FAULTS = [_not_registered, _cme_error, _slow, _silent, _reset_during_transfer, _under_voltage, _dropped]


@pytest.fixture(scope="module")
def faulty_bench(tmp_path_factory, request, modem_family):
    from hil_tests.harness import deps

    deps.require("server", "firmware", "modem", "reader", "tracks")
    from hil_tests.harness.bench import Bench

    bench = Bench(str(tmp_path_factory.mktemp("faults")), factor=600, modem=modem_family)
    try:
        box = bench.box(7)
        assert bench.wait_sync(7, timeout=30), "the box never synced:\n" + bench.diagnostics()
        yield bench, box
    finally:
        bench.close()


@pytest.mark.parametrize("fault", FAULTS, ids=[f.__name__.strip("_") for f in FAULTS])
def test_modem_fault_never_delays_a_badge_and_the_box_recovers(faulty_bench, fault):
    bench, box = faulty_bench
    base = len(bench.fleet.badge_events(7))
    fault(box.modem)
    for expected in (0, 1):  # badge-in releases, badge-out (trip end: a sync meets the fault) blocks
        since = box.control.mark()
        t_tap = time.monotonic()
        box.reader.tap(BADGES["max"])
        edge = box.control.wait_pin("relay", expected, 5, since=since)
        box.reader.remove()
        assert edge is not None, bench.diagnostics()
        assert edge.t - t_tap <= MAX_DECISION_S, "decision took %.3f s under %s" % (edge.t - t_tap, fault.__name__)
        if expected == 0:
            assert box.feedback(since) == GRANTED
        time.sleep(0.4)  # the reader sees the card gone before the next tap
    time.sleep(1)  # the sync attempt runs into the fault (and its retries)
    assert box.firmware.alive(), "the firmware died under %s:\n%s" % (fault.__name__, box.firmware.log())
    _clear(box.modem)
    arrived = bench.fleet.wait(lambda: len(bench.fleet.badge_events(7)) - base >= 2, timeout=60)
    assert arrived, "the box did not recover from %s:\n%s" % (fault.__name__, bench.diagnostics())
