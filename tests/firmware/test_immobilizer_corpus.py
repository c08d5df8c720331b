# The immobilizer invariants over a fixed, seeded corpus of random histories (taps, ignition, speeds,
# waits, reboots, sync answers, server commands), under both interpreters. The hypothesis version of
# the same property lives in tests/properties/test_immobilizer_props.py.
import immoworld

SEEDS = 24
LENGTH = 60


def test_relay_never_blocks_a_running_or_moving_car_and_always_rearms():
    for seed in range(1, SEEDS + 1):
        immoworld.run(immoworld.lcg_ops(seed, LENGTH))


def test_the_checker_catches_a_relay_blocked_while_driving():
    # The invariant check must be able to fail: drive the pin by hand as a buggy box would.
    world = immoworld.World()
    try:
        world.step("tap", 1)
        world.step("ign", 1)
        world.step("speed", 5)
        try:
            world.relay.value(1)
        except immoworld.Violation:
            return
        raise AssertionError("the checker let a blocked relay through while driving")
    finally:
        world.close()


def test_a_granted_tap_releases_and_a_reboot_mid_trip_keeps_it_released():
    world = immoworld.World()
    try:
        world.step("wait", 1)
        assert world.relay.level == 1
        world.step("tap", 1)  # role badge
        assert world.relay.level == 0
        world.step("ign", 1)
        world.step("speed", 6)
        world.step("reboot", 0)  # power cut while driving: time lost, relay pin starts released
        world.step("wait", 3)
        assert world.relay.level == 0 and 1 not in world.relay.writes
    finally:
        world.close()
