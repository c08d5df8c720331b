"""The server asks to block a car whose engine runs: the relay stays released until ignition off.

Two ways the server can ask: a block command (`protocol.codes.CMD_BLOCK`, when the protocol has one) and
withdrawing the driver's reservation from the allow-list (cancelled on the web) while they drive.
"""

import time

import pytest

from hil_tests.harness.control import GRANTED
from hil_tests.harness.seed import BADGES
from protocol import codes

HOUR = 3600


def _driving(bench, box_id):
    box = bench.box(box_id, start=False)
    now = bench.clock.now()
    reservation = bench.fleet.reserve(box_id, "alice", now - 600, now + 3 * HOUR)
    box.start()
    assert bench.wait_sync(box_id, timeout=30), "the box never synced:\n" + bench.diagnostics()
    since = box.tap(BADGES["alice"])
    assert box.feedback(since) == GRANTED, bench.diagnostics()
    box.control.set_ignition(1)
    return box, reservation


def _engine_keeps_running_then_rearms(bench, box, box_id, ask):
    mark = box.control.mark()
    after = bench.last_seen(box_id)
    ask()
    # A trip end is not due: make the box sync by its own rules (periodic, or the server's re-sync command).
    bench.fleet.command(box_id, codes.CMD_RESYNC)
    synced = bench.wait_sync(box_id, timeout=40, after=after)
    assert synced, "no sync while driving:\n" + bench.diagnostics()
    time.sleep(1.0)
    assert box.relay() == 0 and all(v == 0 for _, v in box.control.pin_history("relay", mark)), \
        "the starter was blocked with the engine running:\n" + bench.diagnostics()
    box.control.set_ignition(0)
    assert box.control.wait_pin("relay", 1, 30, since=mark) is not None, \
        "ignition off: the box re-arms:\n" + bench.diagnostics()


@pytest.mark.skipif(not hasattr(codes, "CMD_BLOCK"), reason="waiting for CMD_BLOCK in protocol.codes")
def test_block_command_waits_for_ignition_off(make_bench):
    bench = make_bench(factor=1800)
    box, _reservation = _driving(bench, 9)
    _engine_keeps_running_then_rearms(bench, box, 9, lambda: bench.fleet.command(9, codes.CMD_BLOCK))


def test_reservation_withdrawn_while_driving_waits_for_ignition_off(make_bench):
    bench = make_bench(factor=1800)
    box, reservation = _driving(bench, 10)

    def cancel():
        bench.fleet.db.execute("UPDATE reservations SET status = 'cancelled' WHERE id = ?", (reservation,))

    _engine_keeps_running_then_rearms(bench, box, 10, cancel)
