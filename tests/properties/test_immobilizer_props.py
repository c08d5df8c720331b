"""Immobilizer invariants under hypothesis: whatever history of taps, ignition changes, speeds, waits,
reboots (power cut or watchdog), sync answers and server commands, the relay never goes from released
to blocked while the ignition is on or the car moves faster than a few km/h, and the box re-arms once
the car is parked for the grace time. The world and the checker are shared with the seeded corpus that
runs under MicroPython (tests/firmware/immoworld.py)."""

import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware"))

import immoworld  # noqa: E402

op = st.tuples(st.sampled_from(immoworld.OPS), st.integers(min_value=0, max_value=999))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(op, min_size=1, max_size=80))
def test_relay_never_blocks_a_running_or_moving_car_and_always_rearms(ops):
    immoworld.run(ops)


driving = st.lists(st.tuples(st.sampled_from(("speed", "wait", "sync", "cmd", "reboot", "tap", "gps_off")),
                             st.integers(min_value=0, max_value=999)), max_size=40)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(driving)
def test_nothing_blocks_the_relay_during_a_drive(ops):
    # Released by a role badge, engine on: no event of any kind may change the relay to blocked.
    world = immoworld.World()
    try:
        world.step("wait", 1)
        world.step("tap", 1)
        world.step("ign", 1)
        world.step("speed", 5)
        for name, arg in ops:
            world.step(name, arg)
            assert world.relay.level == 0
    finally:
        world.close()
