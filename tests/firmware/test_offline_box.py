# A box out of coverage: a badge the server deactivated stops working after offline_days without a sync.
from boxfakes import Fix, ManualClock, RecordingPin
from support import temp_dir

from app import box
from hal.fsdir import DirFS
from protocol import codes, keys

KEY = bytes(range(16, 32))
T = 1750000000
DAY = 86400
MANAGER = b"\x04\x11\x22\x33\x44\x55\x66"


def _answer(t, offline_days=None):
    role = {"id": 1, "badge": keys.badge_hash(KEY, MANAGER), "kind": codes.KIND_ROLE, "start": 0, "end": 0,
            "reservation": 0}
    config = {"offline_days": offline_days} if offline_days else {}
    return {"ack": 0, "time": t, "allow": {"version": 1, "full": True, "remove": [], "add": [role]},
            "config": config, "commands": [], "error": 0}


def _tap_and_badge_out(b):
    d = b.tap(MANAGER)
    if d.granted:
        b.tap(MANAGER)  # badge-out: the next tap starts from a parked box again
        b.fix(Fix(t=0, speed_mms=0))  # standing still: the box re-arms
    assert b.imm.output == 1
    return d


def test_a_role_badge_lapses_after_a_week_without_sync_even_across_a_reboot_and_comes_back_with_one():
    root = temp_dir("ob")
    clock = ManualClock()
    b = box.Box(DirFS(root), clock, RecordingPin(), KEY)
    b.boot(False)
    b.fix(Fix(t=0, speed_mms=0))
    b.apply_response(_answer(T))
    clock.advance(6 * DAY)
    assert _tap_and_badge_out(b).reason == codes.REASON_ROLE
    clock.advance(DAY)
    b.tick()
    clock.reboot()  # power cut: the time is lost, the age of the last answer is not
    b = box.Box(DirFS(root), clock, RecordingPin(), KEY)
    b.boot(False)
    b.fix(Fix(t=0, speed_mms=0))
    clock.advance(3600)
    d = _tap_and_badge_out(b)
    assert d.outcome == 4 and d.reason == codes.REASON_LIST_STALE
    assert b.imm.output == 1
    b.apply_response(_answer(T + 8 * DAY, offline_days=3))  # a sync: the list is fresh again
    assert _tap_and_badge_out(b).reason == codes.REASON_ROLE
    clock.advance(3 * DAY + 60)
    assert _tap_and_badge_out(b).reason == codes.REASON_LIST_STALE  # the server shortened the delay
