# Access decision: reservations with tolerances, roles, on-the-spot use, the unknown-clock rule.
from app import access
from app.settings import Settings
from protocol import codes

T = 1750000000
A = b"A" * 8
B = b"B" * 8
C = b"C" * 8
M = b"M" * 8
S = b"S" * 8


def _allow():
    allow = access.AllowList()
    allow.apply({"version": 3, "full": True, "remove": [], "add": [
        {"id": 1, "badge": A, "kind": codes.KIND_RESERVATION, "start": T, "end": T + 7200, "reservation": 101},
        {"id": 2, "badge": B, "kind": codes.KIND_RESERVATION, "start": T + 86400, "end": T + 90000,
         "reservation": 102},
        {"id": 3, "badge": M, "kind": codes.KIND_ROLE, "start": 0, "end": 0, "reservation": 0},
        {"id": 4, "badge": S, "kind": codes.KIND_SPOT, "start": 0, "end": 0, "reservation": 0},
        {"id": 5, "badge": b"bad", "kind": codes.KIND_ROLE},
    ]})
    return allow


def _d(allow, badge, now, lb=0):
    return access.decide(allow, badge, now, lb or now, Settings())


def test_no_list_yet_means_not_ready():
    d = _d(access.AllowList(), M, T)
    assert d.outcome == access.NOT_READY and d.reason == codes.REASON_NOT_READY


def test_bad_entries_are_skipped_and_counted():
    allow = _allow()
    assert allow.rejected == 1 and len(allow.entries) == 4 and allow.version == 3


def test_reservation_window_with_tolerances():
    allow = _allow()
    s = Settings()
    assert _d(allow, A, T).reason == codes.REASON_RESERVATION
    assert _d(allow, A, T).reservation == 101
    assert _d(allow, A, T - s.early_s).granted
    assert not _d(allow, A, T - s.early_s - 1).granted
    assert _d(allow, A, T - s.early_s - 1).outcome == access.NO_RESERVATION
    assert _d(allow, A, T + 7200 + s.late_s).granted
    late = _d(allow, A, T + 7200 + s.late_s + 1)
    assert late.outcome == access.NO_RESERVATION and late.reason == codes.REASON_EXPIRED
    assert _d(allow, B, T).reason == codes.REASON_NO_RESERVATION_NOW


def test_role_granted_even_without_clock():
    allow = _allow()
    assert _d(allow, M, T).reason == codes.REASON_ROLE
    assert access.decide(allow, M, 0, 0, Settings()).reason == codes.REASON_ROLE


def test_unknown_badge_denied():
    d = _d(_allow(), C, T)
    assert d.outcome == access.DENIED and d.reason == codes.REASON_UNKNOWN_BADGE


def test_spot_use_only_when_no_reservation_is_near():
    allow = _allow()
    s = Settings()
    d = _d(allow, S, T + 3 * 3600)  # A's reservation is over (with tolerance), B's is tomorrow
    assert d.granted and d.reason == codes.REASON_SPOT and d.reservation == 0
    busy = _d(allow, S, T + 600)  # A's reservation under way
    assert busy.outcome == access.NO_RESERVATION and busy.reason == codes.REASON_RESERVED_BY_OTHER
    soon = _d(allow, S, T + 86400 - s.spot_gap_s - s.early_s + 60)  # B's starts within the gap
    assert soon.reason == codes.REASON_RESERVED_BY_OTHER


def test_unknown_clock_lets_in_the_holder_of_the_earliest_open_reservation_only():
    allow = _allow()
    settings = Settings()
    d = access.decide(allow, A, 0, T - 3600, settings)
    assert d.granted and d.reason == codes.REASON_RESERVATION and d.reservation == 101
    # B holds a later reservation: with no clock the box cannot tell, so "not ready" (4 pulses)
    d = access.decide(allow, B, 0, T - 3600, settings)
    assert d.outcome == access.NOT_READY and d.reason == codes.REASON_CLOCK_UNKNOWN
    # once A's reservation is known to be over (lower bound past its end), B's becomes the earliest one
    assert access.decide(allow, B, 0, T + 7200 + settings.late_s + 1, settings).granted
    assert access.decide(allow, S, 0, T, settings).outcome == access.NOT_READY
    assert access.decide(allow, C, 0, T, settings).outcome == access.DENIED


def test_delta_needs_a_full_list_first_and_then_applies():
    allow = access.AllowList()
    assert not allow.apply({"version": 2, "full": False, "add": [], "remove": [1]})
    allow = _allow()
    allow.apply({"version": 4, "full": False, "remove": [1], "add": [
        {"id": 6, "badge": C, "kind": codes.KIND_ROLE, "start": 0, "end": 0, "reservation": 0}]})
    assert allow.version == 4
    assert _d(allow, C, T).granted and not _d(allow, A, T).granted
    assert not allow.apply("garbage") and not allow.apply(None)


def test_allow_list_persists():
    from support import temp_dir

    from app import store
    from hal.fsdir import DirFS

    fs = DirFS(temp_dir("al"))
    allow = _allow()
    allow.save(fs, store)
    again = access.AllowList()
    assert again.load(fs, store)
    assert again.entries == allow.entries and again.version == 3 and again.loaded


def test_role_and_spot_entries_lapse_on_a_box_out_of_touch_but_bookings_keep_their_window():
    allow = _allow()
    allow.apply({"version": 5, "full": False, "remove": [], "add": [
        {"id": 7, "badge": A, "kind": codes.KIND_ROLE, "start": 0, "end": 0, "reservation": 0}]})
    settings = Settings()
    week = settings.offline_days * 86400
    assert access.decide(allow, M, T, T, settings, week).reason == codes.REASON_ROLE
    assert access.decide(allow, S, T + 3 * 3600, T, settings, week).reason == codes.REASON_SPOT
    for badge, now in ((M, T), (S, T + 3 * 3600), (M, 0)):
        d = access.decide(allow, badge, now, T, settings, week + 1)
        assert d.outcome == access.NOT_READY and d.reason == codes.REASON_LIST_STALE, (badge, now, d)
    # A holds a (lapsed) role and a booking: the booking still opens the car inside its window only
    d = access.decide(allow, A, T, T, settings, week + 1)
    assert d.granted and d.reason == codes.REASON_RESERVATION
    assert access.decide(allow, A, T + 86400, T, settings, week + 1).reason == codes.REASON_LIST_STALE
    # the server may shorten the delay like any other setting
    short = Settings({"offline_days": 2})
    assert access.decide(allow, M, T, T, short, 2 * 86400 + 1).reason == codes.REASON_LIST_STALE
    assert Settings({"offline_days": 0}).offline_days == 7  # out of range: refused
