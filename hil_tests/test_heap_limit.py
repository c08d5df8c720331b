"""Near the heap's limit the box degrades, it does not die (issue 15): on the frozen 32-bit interpreter with a
heap just above what booting and deciding need, syncs may run out of memory (a MemoryError restarts the task
it hit), yet the process lives on, every tap is decided from the allow-list on flash and answered, the relay
follows, and the journal loses nothing: rebooted with room to spare, the box delivers every record."""

import time

from hil_tests.harness.control import GRANTED
from hil_tests.harness.seed import BADGES

# Boot, a first sync and the badge path fit (about 42 KB live after boot); a sync session hardly: tasks here
# often run out of memory and are restarted (app/supervisor.py), the syncs are retried. heap_min_kb_frozen32
# (the whole day, syncs included) is 53-61. At 44 KB the box is starved outright while a sync holds the heap,
# and at 46 KB a tap's LED and buzzer were lost once in a CI run (the feedback task restarted): 52 KB.
TIGHT_HEAP = "52K"
ROOMY_HEAP = "128K"
TRIPS = 3


def test_near_the_heap_limit_the_box_degrades_not_dies(make_bench):
    bench = make_bench(factor=60, interpreter="frozen32")
    box = bench.box(9, heap=ROOMY_HEAP)
    assert bench.wait_sync(9, timeout=30), "first sync (allow-list onto flash):\n" + bench.diagnostics()
    base = len(bench.fleet.badge_events(9))

    box.firmware.heap = TIGHT_HEAP
    mark = box.control.mark()
    box.restart()
    starts = box.firmware.starts
    assert box.control.wait_pin("relay", 1, 20, since=mark) is not None, "parked: armed\n" + bench.diagnostics()
    uid = BADGES["max"]  # permanent access: decided from the allow-list on flash, no server needed
    for _ in range(TRIPS):
        since = box.control.mark()
        box.reader.tap(uid)
        released = box.control.wait_pin("relay", 0, 5, since=since)
        box.reader.remove()
        assert released is not None, "tap not decided at %s:\n%s" % (TIGHT_HEAP, bench.diagnostics())
        assert box.feedback(since) == GRANTED
        box.control.set_ignition(1)
        time.sleep(1.0)
        box.control.set_ignition(0)
        time.sleep(0.5)
        since = box.tap(uid)  # badge-out: a sync is due, and runs out of memory
        assert box.control.wait_pin("relay", 1, 5, since=since) is not None, bench.diagnostics()
        time.sleep(2.0)
    log = box.firmware.log(200000)
    assert box.firmware.alive() and box.firmware.starts == starts, "the firmware died:\n" + log[-3000:]

    box.firmware.heap = ROOMY_HEAP
    box.restart()
    want = base + 2 * TRIPS
    arrived = bench.fleet.wait(lambda: len(bench.fleet.badge_events(9)) >= want, timeout=60)
    assert arrived, "%d of %d badge records reached the server:\n%s" % (
        len(bench.fleet.badge_events(9)), want, bench.diagnostics())
    assert len(bench.fleet.badge_events(9)) == want, "duplicates"
    closed = bench.fleet.wait(lambda: len([t for t in bench.fleet.trips(9) if t["end"]]) >= TRIPS, timeout=30)
    assert closed, bench.diagnostics()
