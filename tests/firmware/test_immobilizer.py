# Immobilizer state machine: the relay never goes released -> blocked with the ignition on or the car
# moving; re-arm after the grace time or badge-out; state kept across a reboot.
from boxfakes import RecordingPin
from support import temp_dir

from app import immobilizer
from app.settings import Settings
from hal.fsdir import DirFS
from protocol import codes


def _imm(root=None, ignition=False, speed=0):
    # boot, then the first GPS fix (speed in mm/s; None = no fix)
    fs = DirFS(root or temp_dir("im"))
    relay = RecordingPin()
    imm = immobilizer.Immobilizer(relay, Settings(), fs)
    imm.boot(ignition, 0)
    if speed is not None:
        imm.set_speed(speed, 0)
    return imm, relay, fs


def test_first_boot_arms_the_starter():
    imm, relay, _ = _imm()
    assert imm.state == immobilizer.ARMED and relay.value() == 1


def test_without_gps_the_box_waits_before_blocking_after_boot():
    # A reset while coasting with the ignition off: speed unknown until the receiver reports.
    imm, relay, _ = _imm(speed=None)
    assert relay.value() == 0
    imm.tick(immobilizer.SETTLE_MS - 1)
    assert relay.value() == 0
    imm.tick(immobilizer.SETTLE_MS)
    assert relay.value() == 1
    coasting, relay2, _ = _imm(speed=None)
    coasting.set_speed(8000, 1000)
    coasting.tick(immobilizer.SETTLE_MS * 2)
    assert relay2.value() == 0


def test_first_boot_with_engine_running_does_not_block():
    imm, relay, _ = _imm(ignition=True)
    assert relay.value() == 0 and relay.writes == [0]
    imm.tick(immobilizer.SETTLE_MS * 2)
    assert relay.value() == 0
    imm.set_ignition(False, immobilizer.SETTLE_MS * 2 + 1000)
    assert relay.value() == 0  # no speed measured since the engine stopped: it may still roll
    imm.set_speed(0, immobilizer.SETTLE_MS * 2 + 2000)
    assert relay.value() == 1


def test_speed_seen_while_driving_does_not_allow_blocking_after_ignition_off():
    # Found by the hypothesis world: a stale "stopped" fix from before a GPS outage must not let the
    # box block while the car rolls out after the engine stops.
    imm, relay, _ = _imm()
    imm.release(0)
    imm.set_speed(0, 100)
    imm.set_ignition(True, 200)
    imm.request_arm(codes.END_BADGE, immobilizer.SETTLE_MS + 300)  # badge-out with the engine running
    assert relay.value() == 0
    imm.set_ignition(False, immobilizer.SETTLE_MS + 400)
    assert relay.value() == 0  # the last speed predates the ignition-off: unknown roll-out
    imm.set_speed(1600, immobilizer.SETTLE_MS + 1400)
    assert relay.value() == 0  # rolling
    imm.set_speed(0, immobilizer.SETTLE_MS + 2400)
    assert relay.value() == 1


def test_release_then_grace_time_rearms():
    imm, relay, _ = _imm()
    imm.release(0)
    assert relay.value() == 0
    assert imm.set_ignition(True, 5000) is None
    grace = Settings().grace_s * 1000
    assert imm.set_ignition(False, 60000) is None
    assert imm.tick(60000 + grace - 1) is None and relay.value() == 0
    assert imm.tick(60000 + grace) == codes.END_TIMEOUT and relay.value() == 1


def test_released_but_never_started_rearms_after_start_window():
    imm, relay, _ = _imm()
    imm.release(0)
    window = Settings().start_window_s * 1000
    assert imm.tick(window - 1) is None
    assert imm.tick(window) == codes.END_TIMEOUT and relay.value() == 1


def test_badge_out_while_driving_waits_for_engine_off_and_standstill():
    imm, relay, _ = _imm()
    imm.release(0)
    imm.set_ignition(True, 1000)
    imm.set_speed(20000, 2000)
    assert imm.request_arm(codes.END_BADGE, 3000) is None
    assert relay.value() == 0
    assert imm.set_ignition(False, 4000) is None  # coasting at 72 km/h, ignition off: still not blocked
    assert relay.value() == 0
    assert imm.set_speed(1000, 5000) == codes.END_BADGE
    assert relay.value() == 1


def test_state_survives_reboot():
    root = temp_dir("imr")
    imm, relay, fs = _imm(root)
    imm.release(0)
    imm.set_ignition(True, 10)
    # watchdog reset while driving: relay starts released and stays so
    again, relay2, _ = _imm(root, ignition=True)
    assert again.state == immobilizer.RELEASED and relay2.writes == [0]
    again.set_ignition(False, 100)
    assert again.tick(100 + Settings().grace_s * 1000) == codes.END_TIMEOUT
    third, relay3, _ = _imm(root)
    assert third.state == immobilizer.ARMED and relay3.value() == 1


def test_corrupt_state_file_arms_only_when_safe():
    root = temp_dir("imc")
    fs = DirFS(root)
    f = fs.open("imm", "wb")
    f.write(b"\x00garbage{")
    f.close()
    imm, relay, _ = _imm(root, ignition=True)
    assert relay.value() == 0 and imm.state == immobilizer.ARMED
    imm.set_speed(None, 10)
    assert relay.value() == 0
    imm.set_ignition(False, 20)
    assert relay.value() == 0  # speed unknown right after boot
    imm.tick(immobilizer.SETTLE_MS + 19)
    assert relay.value() == 0  # nor measured since the ignition went off
    imm.tick(immobilizer.SETTLE_MS + 20)
    assert relay.value() == 1
