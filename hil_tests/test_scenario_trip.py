"""A trip end to end: badge-in, drive a generated route, badge-out or ignition-off timeout; the server
gets the trip with its driver, its reservation and the kilometres (within 1 % of the route's true length).
"""

import os
import time

import pytest

from hil_tests.harness import gps
from hil_tests.harness.control import GRANTED
from hil_tests.harness.seed import BADGES
from tools import tracks

HOUR = 3600


def _released_trip(bench, box_id):
    box = bench.box(box_id, start=False)
    now = bench.clock.now()
    reservation = bench.fleet.reserve(box_id, "alice", now - 600, now + 3 * HOUR)
    box.start()
    assert bench.wait_sync(box_id, timeout=30), "the box never synced:\n" + bench.diagnostics()
    # the firmware read the family from the modem and opened its connection with that family's command
    commands = list(box.modem.commands)
    assert "AT+CGMM" in commands and any(c.startswith(box.modem.tcp_commands[0]) for c in commands), commands
    since = box.control.mark()
    box.reader.tap(BADGES["alice"])
    released = box.control.wait_pin("relay", 0, 5, since=since)
    box.control.set_ignition(1)  # at once: the start window is simulated seconds
    box.reader.remove()
    assert released is not None, bench.diagnostics()
    assert box.feedback(since) == GRANTED, bench.diagnostics()
    return box, reservation


# The same trip on the .mpy build and on the chip's own stack: the frozen 32-bit image (`make frozen`) through
# hal/esp32.py on the bench's machine/esp32 stand-in (issue 15); `make bench-matrix` adds the two mixed stacks.
STACKS = [("mpy64", "unix"), ("frozen32", "esp32")]
if os.environ.get("AUTOPARTAGE_BENCH_MATRIX"):
    STACKS += [("frozen32", "unix"), ("mpy64", "esp32")]


@pytest.mark.parametrize("interpreter,board", STACKS)
def test_driven_route_reaches_the_server_with_driver_reservation_and_km(make_bench, interpreter, board):
    bench = make_bench(factor=120, interpreter=interpreter, board=board)
    box, reservation = _released_trip(bench, 3)
    route = gps.route(seed=3, kind="mixed", duration_s=900, start=box.gps.position)  # 15 simulated min: 7.5 s
    true_m = tracks.true_length_m(route)
    mark = box.control.mark()
    box.gps.drive(route)
    assert box.wait_gps_read(), "the firmware stopped reading its GPS line:\n" + bench.diagnostics()
    box.control.set_ignition(0)
    time.sleep(0.5)
    since = box.control.mark()
    box.reader.tap(BADGES["alice"])  # badge-out, held until the box answers as an agent waits for the beep
    rearmed = box.control.wait_pin("relay", 1, 5, since=since)
    box.reader.remove()
    assert rearmed is not None, "badge-out re-arms the starter:\n" + bench.diagnostics()
    assert all(v == 0 for _, v in box.control.pin_history("relay", mark, since)), \
        "the relay never blocks while driving"

    trips = bench.fleet.wait(lambda: [t for t in bench.fleet.trips(3) if t["end"]], timeout=30)
    assert trips, "no closed trip on the server:\n" + bench.diagnostics()
    trip = trips[-1]
    assert trip["agent_id"] == bench.fleet.agent_ids["alice"]
    assert trip["reservation_id"] == reservation
    assert not trip["unplanned"]
    error = abs(trip["distance_m"] - true_m) / true_m
    assert error <= 0.01, "distance %d m for a %.0f m route (%.2f %%)" % (trip["distance_m"], true_m, error * 100)


@pytest.mark.parametrize("board", ["unix", "esp32"])
def test_ignition_off_for_the_grace_time_rearms_the_starter(make_bench, board):
    bench = make_bench(factor=120, board=board)  # grace 300 s simulated = 2.5 s here
    box, _reservation = _released_trip(bench, 4)
    box.gps.drive(gps.route(seed=4, kind="urban", duration_s=240, start=box.gps.position))
    mark = box.control.mark()
    box.control.set_ignition(0)
    t0 = time.monotonic()
    event = box.control.wait_pin("relay", 1, 20, since=mark)
    assert event is not None, "ignition off for the grace time must re-arm:\n" + bench.diagnostics()
    waited_sim = (event.t - t0) * bench.clock.factor
    assert waited_sim >= 240, "re-armed after only %d simulated seconds (grace is 300 s)" % waited_sim
    trips = bench.fleet.wait(lambda: [t for t in bench.fleet.trips(4) if t["end"]], timeout=30)
    assert trips and trips[-1]["end_reason"] == 2, "trip closed by timeout (END_TIMEOUT)"
