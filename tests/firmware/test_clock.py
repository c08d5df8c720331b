# The box's clock: the server's authenticated time is the reference, a forged GPS time cannot move it far.
from boxfakes import Fix, ManualClock, RecordingPin
from support import temp_dir

from app import box, store
from app.clock import FILE, GPS_SLACK_S, REBOOT_AHEAD_S
from hal.fsdir import DirFS
from protocol import codes, keys

KEY = bytes(range(16, 32))
T = 1750000000  # "today", the server's time
DAY = 86400
YEAR = 365 * DAY
ALICE = b"\x04\xa1\x1c\xe0\x00\x00\x01"  # booked today
BOB = b"\x04\xb0\xb0\x00\x00\x00\x02"  # booked tomorrow


def _allow():
    def entry(entry_id, uid, start, end):
        return {"id": entry_id, "badge": keys.badge_hash(KEY, uid), "kind": codes.KIND_RESERVATION,
                "start": start, "end": end, "reservation": 100 + entry_id}

    return {"version": 1, "full": True, "remove": [],
            "add": [entry(1, ALICE, T - 600, T + 7200), entry(2, BOB, T + DAY, T + DAY + 7200)]}


def _box(root, clock):
    b = box.Box(DirFS(root), clock, RecordingPin(), KEY)
    b.boot(False)
    return b


def _synced_box(root, clock):
    b = _box(root, clock)
    b.apply_response({"ack": 0, "time": T, "allow": _allow(), "config": {}, "commands": [], "error": 0})
    return b


def _saved_floor(root):
    return store.read(DirFS(root), FILE, None)


def test_a_gps_fix_saying_tomorrow_does_not_open_tomorrows_booking():
    root = temp_dir("ck")
    clock = ManualClock()
    b = _synced_box(root, clock)
    clock.advance(60)
    b.fix(Fix(t=T + DAY + 60))  # a spoofer on the GPS line: "it is tomorrow"
    assert abs(b.clock.now() - (T + 60)) <= 1
    assert b.clock.gps_refused == 1
    d = b.tap(BOB)
    assert not d.granted and d.reason == codes.REASON_NO_RESERVATION_NOW
    assert b.imm.output == 1


def test_a_fix_three_years_ahead_then_a_server_time_sets_the_clock_right_again():
    root = temp_dir("ck")
    clock = ManualClock()
    b = _box(root, clock)  # fresh from flashing: no server time ever, so the GPS time is provisional
    b.fix(Fix(t=T + 3 * YEAR))
    assert b.clock.now() == T + 3 * YEAR
    b.tick()
    clock.advance(3601)
    b.tick()
    assert _saved_floor(root) is None, "a GPS time alone never becomes the persisted floor"
    b.apply_response({"ack": 0, "time": T, "allow": _allow(), "config": {}, "commands": [], "error": 0})
    assert b.clock.now() == T
    assert b.tap(ALICE).reason == codes.REASON_RESERVATION
    assert _saved_floor(root) == [T, T]


def test_a_server_time_repairs_a_floor_pushed_years_ahead_by_an_older_firmware():
    root = temp_dir("ck")
    store.write(DirFS(root), FILE, T + 3 * YEAR)  # the old format: an int, set by a forged GPS time
    clock = ManualClock()
    b = _box(root, clock)
    b.apply_response({"ack": 0, "time": T, "allow": _allow(), "config": {}, "commands": [], "error": 0})
    assert b.clock.now() == T and b.clock.lower_bound() == T
    assert _saved_floor(root) == [T, T]
    assert b.tap(ALICE).granted


def test_a_synced_box_takes_gps_refinements_of_a_few_minutes_only():
    root = temp_dir("ck")
    clock = ManualClock()
    b = _synced_box(root, clock)
    b.fix(Fix(t=T + 40))  # the box's clock is 40 s behind the receiver: refined
    assert b.clock.now() == T + 40
    b.fix(Fix(t=T + GPS_SLACK_S + 60))
    assert b.clock.now() == T + 40 and b.clock.gps_refused == 1
    b.fix(Fix(t=T - 2 * DAY))  # yesterday: an expired booking must not come back
    assert b.clock.now() == T + 40 and b.clock.gps_refused == 2
    # Refinements do not move the reference: repeated small pushes cannot walk the clock away.
    for _ in range(20):
        b.fix(Fix(t=b.clock.now() + 250))
    assert b.clock.now() <= T + GPS_SLACK_S
    clock.advance(3601)
    b.tick()
    assert _saved_floor(root)[0] == T + 3601, "the floor is the server time plus the box's own ticks"


def test_after_a_reboot_a_gps_time_far_ahead_of_the_floor_waits_for_the_server():
    root = temp_dir("ck")
    clock = ManualClock()
    b = _synced_box(root, clock)
    clock.advance(2 * 3600)
    b.tick()  # the hourly floor save
    clock.reboot()
    b = _box(root, clock)
    assert not b.clock.known() and b.clock.lower_bound() == T + 2 * 3600
    b.fix(Fix(t=T + DAY))  # a day ahead: refused, the clock stays unknown
    assert not b.clock.known()
    d = b.tap(BOB)
    assert not d.granted  # ALICE's booking is the earliest one not over: the unknown-clock rule
    b.fix(Fix(t=T + 2 * 3600 + 600))  # a plausible time after a short outage: taken
    assert b.clock.now() == T + 2 * 3600 + 600
    assert b.clock.gps_window()[1] == T + 2 * 3600 + REBOOT_AHEAD_S


def test_time_since_the_last_server_answer_survives_a_reboot():
    root = temp_dir("ck")
    clock = ManualClock()
    b = _box(root, clock)
    assert b.clock.offline_s() is None
    b.apply_response({"ack": 0, "time": T, "allow": _allow(), "config": {}, "commands": [], "error": 0})
    clock.advance(3 * DAY)
    assert b.clock.offline_s() == 3 * DAY
    b.tick()
    clock.reboot()
    clock.advance(100)
    b = _box(root, clock)
    clock.advance(50)
    assert b.clock.offline_s() == 3 * DAY + 50
    b.fix(Fix(t=T - DAY))  # a GPS time cannot make the box look recently synced
    assert b.clock.offline_s() == 3 * DAY + 50


def test_a_server_answer_close_to_the_clock_still_reanchors_it():
    root = temp_dir("ck")
    clock = ManualClock()
    b = _synced_box(root, clock)
    clock.advance(DAY)
    before = len(b.journal.pending(1000))
    b.apply_response({"ack": 0, "time": T + DAY + 10, "allow": None, "config": {}, "commands": [], "error": 0})
    assert len(b.journal.pending(1000)) == before, "10 s off: no correction journaled"
    assert b.clock.offline_s() == 0
    assert b.clock.gps_window() == (T + DAY + 10 - GPS_SLACK_S, T + DAY + 10 + GPS_SLACK_S)
