# The box core: badge in, drive, badge out or time out; trips in the journal; server answers.
from boxfakes import Fix, ManualClock, RecordingPin
from support import temp_dir

from app import access, box, immobilizer
from hal.fsdir import DirFS
from protocol import codes, keys

KEY = bytes(range(16))
T = 1750000000
UID_A = b"\x04\xa1\xb2\xc3"
UID_M = b"\x04\x99\x98\x97"
UID_X = b"\x04\x00\x00\x01"


def _allow_response():
    a = keys.badge_hash(KEY, UID_A)
    m = keys.badge_hash(KEY, UID_M)
    return {"ack": 0, "time": 0, "config": {}, "commands": [], "error": 0, "allow": {
        "version": 1, "full": True, "remove": [], "add": [
            {"id": 1, "badge": a, "kind": codes.KIND_RESERVATION, "start": T, "end": T + 3600, "reservation": 77},
            {"id": 2, "badge": m, "kind": codes.KIND_ROLE, "start": 0, "end": 0, "reservation": 0}]}}


def _box(root, clock, ignition=False):
    relay = RecordingPin()
    b = box.Box(DirFS(root), clock, relay, KEY)
    b.boot(ignition)
    b.fix(Fix(t=0, speed_mms=0))  # the receiver reports (no time yet): standing still
    return b, relay


def _types(b):
    return [r["type"] for r in b.journal.pending(1000)]


def test_reservation_trip_badge_in_drive_badge_out():
    root = temp_dir("tb")
    clock = ManualClock(T + 60)
    b, relay = _box(root, clock)
    assert relay.value() == 1
    assert b.tap(UID_A).outcome == access.NOT_READY  # no allow-list yet
    b.apply_response(_allow_response())
    assert b.tap(UID_X).outcome == access.DENIED and relay.value() == 1
    d = b.tap(UID_A)
    assert d.granted and d.reservation == 77 and relay.value() == 0
    b.set_ignition(True)
    clock.advance(10)
    b.fix(Fix(t=T + 70, speed_mms=15000))
    clock.advance(600)
    assert b.tap(UID_X).outcome == access.DENIED  # someone else's tap changes nothing
    out = b.tap(UID_A)
    assert out.granted and out.reason == codes.REASON_END_TRIP
    assert relay.value() == 0  # engine running: the badge-out waits
    b.set_ignition(False)
    b.fix(Fix(t=T + 700, speed_mms=0))
    assert relay.value() == 1
    recs = b.journal.pending(1000)
    starts = [r for r in recs if r["type"] == "trip_start"]
    ends = [r for r in recs if r["type"] == "trip_end"]
    assert len(starts) == 1 and starts[0]["reservation"] == 77
    assert starts[0]["badge"] == keys.badge_hash(KEY, UID_A)
    assert len(ends) == 1 and ends[0]["reason"] == codes.END_BADGE and ends[0]["trip"] == starts[0]["trip"]
    assert "pos" in _types(b)
    badge_recs = [r for r in recs if r["type"] == "badge"]
    assert [r["reason"] for r in badge_recs] == [codes.REASON_NOT_READY, codes.REASON_UNKNOWN_BADGE,
                                                 codes.REASON_RESERVATION, codes.REASON_UNKNOWN_BADGE,
                                                 codes.REASON_END_TRIP]
    assert b.sync_wanted & box.WANT_TRIP_END


def test_grace_time_closes_the_trip_and_rearms():
    clock = ManualClock(T + 60)
    b, relay = _box(temp_dir("tg"), clock)
    b.apply_response(_allow_response())
    b.tap(UID_M)
    b.set_ignition(True)
    clock.advance(300)
    b.set_ignition(False)
    clock.advance(b.settings.grace_s - 1)
    b.tick()
    assert relay.value() == 0
    clock.advance(1)
    b.tick()
    assert relay.value() == 1
    ends = [r for r in b.journal.pending(1000) if r["type"] == "trip_end"]
    assert ends[0]["reason"] == codes.END_TIMEOUT


def test_reboot_mid_trip_keeps_trip_and_relay_released():
    root = temp_dir("tr")
    clock = ManualClock(T + 60)
    b, _ = _box(root, clock)
    b.apply_response(_allow_response())
    b.tap(UID_A)
    b.set_ignition(True)
    clock.reboot()
    b2, relay2 = _box(root, clock, ignition=True)
    assert relay2.writes == [0] and b2.imm.state == immobilizer.RELEASED
    assert b2.trips.current is not None
    # unknown clock after the cut: the reservation holder still gets in (earliest open reservation)
    b2.set_ignition(False)
    out = b2.tap(UID_A)  # badge-out
    assert out.reason == codes.REASON_END_TRIP and relay2.value() == 0  # roll-out speed not known yet
    b2.fix(Fix(t=clock.time(), speed_mms=0))
    assert relay2.value() == 1
    b3, relay3 = _box(root, clock)
    assert b3.trips.current is None and relay3.value() == 1
    assert b3.tap(UID_A).granted  # clock still unknown: rule of the earliest open reservation


def test_server_answer_cannot_block_a_running_engine():
    clock = ManualClock(T + 60)
    b, relay = _box(temp_dir("ts"), clock)
    b.apply_response(_allow_response())
    b.tap(UID_A)
    b.set_ignition(True)
    before = list(relay.writes)
    for cmd in (codes.CMD_REBOOT, codes.CMD_RELEASE, codes.CMD_FIRMWARE, codes.CMD_RESYNC, codes.CMD_BLOCK, 99, -1):
        b.apply_response({"ack": 3, "time": T + 100, "commands": [{"cmd": cmd, "arg": 0}, "junk"],
                          "config": {"grace_s": 30, "moving_mms": 999999, "nope": 1}, "allow": {
                              "version": 2, "full": True, "add": [], "remove": []}, "error": 0})
        b.tick()
    assert relay.writes == before and relay.value() == 0
    assert b.settings.grace_s == 30 and b.settings.moving_mms == 1500
    assert b.sync_wanted & box.WANT_DEMAND


def test_block_command_closes_the_trip_at_ignition_off_without_grace_time():
    clock = ManualClock(T + 60)
    b, relay = _box(temp_dir("tb"), clock)
    b.apply_response(_allow_response())
    b.tap(UID_A)
    b.set_ignition(True)
    b.fix(Fix(t=clock.time(), speed_mms=15000))
    b.apply_response({"commands": [{"cmd": codes.CMD_BLOCK, "arg": 0}]})
    assert relay.value() == 0  # driving: the block waits
    b.set_ignition(False)
    assert relay.value() == 0  # rolling out: no fix since the engine stopped
    b.fix(Fix(t=clock.time(), speed_mms=0))
    assert relay.value() == 1  # stopped, engine off: armed at once, no grace time
    ends = [r for r in b.journal.pending(100) if r["type"] == "trip_end"]
    assert len(ends) == 1 and ends[0]["reason"] == codes.END_BLOCK


def test_release_command_opens_an_unplanned_trip_when_armed():
    clock = ManualClock(T)
    b, relay = _box(temp_dir("tc"), clock)
    b.apply_response({"commands": [{"cmd": codes.CMD_RELEASE, "arg": 55}]})
    assert relay.value() == 0
    starts = [r for r in b.journal.pending(100) if r["type"] == "trip_start"]
    assert starts[0]["reservation"] == 55


def test_gps_time_sets_an_unknown_clock_and_is_journaled():
    clock = ManualClock()
    b, _ = _box(temp_dir("tt"), clock)
    assert b.clock.now() == 0
    b.fix(Fix(t=T, speed_mms=0))
    assert b.clock.now() == T
    events = [r for r in b.journal.pending(100) if r["type"] == "event" and r["code"] == codes.EV_CLOCK_SET]
    assert len(events) == 1
    b.fix(Fix(t=1000, speed_mms=0))  # an implausible receiver time is refused
    assert b.clock.now() == T


def test_trip_distance_from_the_odometer_survives_a_power_cut():
    from app.odometer import Odometer

    root = temp_dir("to")
    clock = ManualClock(T + 60)

    def boot(ignition):
        b = box.Box(DirFS(root), clock, RecordingPin(), KEY, odometer=Odometer())
        b.boot(ignition)
        return b

    b = boot(False)
    b.apply_response(_allow_response())
    assert b.tap(UID_M).granted
    b.set_ignition(True)
    lat = 472186000
    for i in range(900):  # 15 minutes north at 15 m/s, one fix a second
        clock.advance(1)
        lat += 1350
        b.fix(Fix(t=T + 60 + i, speed_mms=15000, lat=lat))
        b.tick()
    driven = b.odometer.total_m
    assert 12000 < driven < 15000, driven
    clock.advance(ms=500)
    b2 = boot(True)  # power cut while driving; the odometer restarts from what was saved
    assert driven - b2.odometer.total_m <= 15 * 30 * box.ODO_SAVE_SAMPLES
    b2.set_ignition(False)
    b2.fix(Fix(t=T + 1000, speed_mms=0, lat=lat))
    b2.tap(UID_M)  # badge-out
    ends = [r for r in b2.journal.pending(10000) if r["type"] == "trip_end"]
    assert len(ends) == 1 and ends[0]["reason"] == codes.END_BADGE
    assert ends[0]["distance_m"] >= driven - 15 * 30 * box.ODO_SAVE_SAMPLES


def test_supply_loss_and_return_are_journaled_once_each():
    b, _ = _box(temp_dir("tp"), ManualClock(T))
    for mv in (12600, 0, 10000, 9000, 11000, 12000, 12500, 9500):
        b.supply(mv)
    events = [(r["code"], r["value"]) for r in b.journal.pending(100) if r["type"] == "event"
              and r["code"] in (codes.EV_POWER_LOSS, codes.EV_POWER_RESTORED)]
    assert events == [(codes.EV_POWER_LOSS, 10000), (codes.EV_POWER_RESTORED, 12000), (codes.EV_POWER_LOSS, 9500)]


def test_parked_only_when_armed_ignition_off_and_no_trip():
    root = temp_dir("tpk")
    clock = ManualClock(T + 60)
    b, relay = _box(root, clock)
    b.apply_response(_allow_response())
    assert b.parked()  # armed, ignition off, nothing open: the control task may tick slowly
    b.set_ignition(True)
    assert not b.parked()  # ignition on while armed
    b.set_ignition(False)
    assert b.parked()
    assert b.tap(UID_A).granted and relay.value() == 0
    assert not b.parked()  # released, trip open
    b.set_ignition(True)
    b.fix(Fix(t=T + 70, speed_mms=15000))
    assert b.tap(UID_A).reason == codes.REASON_END_TRIP
    assert not b.parked()  # arm pending: the engine runs
    b.set_ignition(False)
    b.fix(Fix(t=T + 80, speed_mms=0))
    assert relay.value() == 1 and b.parked()
