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
# At this clock a boot and its first syncs take a simulated hour: without a longer no-show delay the
# server would release Alice's booking (nobody badged in) before her tap reaches the box.
FAST = {"factor": 1800, "server_settings": {"NO_SHOW_DELAY_MINUTES": 24 * 60}}


def _driving(bench, box_id, ask):
    box = bench.box(box_id, start=False)
    now = bench.clock.now()
    reservation = bench.fleet.reserve(box_id, "alice", now - 600, now + 2 * HOUR)
    # Bob's booking next: the box syncs 15 min before it starts (DUE_RESERVATION), while Alice still drives.
    bench.fleet.reserve(box_id, "bob", now + 2 * HOUR + 5 * 60, now + 4 * HOUR)
    box.start()
    assert bench.wait_sync(box_id, timeout=30), "the box never synced:\n" + bench.diagnostics()
    since = box.control.mark()
    box.reader.tap(BADGES["alice"])
    released = box.control.wait_pin("relay", 0, 5, since=since)
    # The engine starts at once: at this clock the start window (120 s) is a few tens of real ms.
    box.control.set_ignition(1)
    box.reader.remove()
    mark = box.control.mark()
    after = bench.last_seen(box_id)
    ask(reservation)  # the server asks while the engine runs; the box hears it at its next sync
    assert released is not None, bench.diagnostics()
    assert box.feedback(since) == GRANTED, bench.diagnostics()
    assert box.relay() == 0, "the engine started within the start window:\n" + bench.diagnostics()
    return box, mark, after


def _engine_keeps_running_then_rearms(bench, box, box_id, mark, after):
    # No trip end is due: the box syncs by its own rule before Bob's booking starts, engine running.
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
    bench = make_bench(**FAST)
    box, mark, after = _driving(bench, 9, lambda _r: bench.fleet.command(9, codes.CMD_BLOCK))
    _engine_keeps_running_then_rearms(bench, box, 9, mark, after)


def test_reservation_withdrawn_while_driving_waits_for_ignition_off(make_bench):
    bench = make_bench(**FAST)

    def cancel(reservation):
        bench.fleet.db.execute("UPDATE reservations SET status = 'cancelled' WHERE id = ?", (reservation,))

    box, mark, after = _driving(bench, 10, cancel)
    _engine_keeps_running_then_rearms(bench, box, 10, mark, after)
