# Sync client: frames from the journal, answers applied, counter persisted and repaired, backoff.
from boxfakes import Fix, ManualClock, RecordingPin
from support import temp_dir

from app import box, config, sync
from hal.fsdir import DirFS
from protocol import codes, errors, frame, keys

KEY = bytes(range(16, 32))
BOX_ID = 7
T = 1750000000
CONFIG = config.check({"box_id": BOX_ID, "server_host": "127.0.0.1", "server_port": 8080})[0]


class LoopServer:
    """A tiny in-process server built from the real protocol codec: decodes, records, answers."""

    def __init__(self):
        self.last_counter = 0
        self.seen = {}
        self.duplicates = 0  # records whose (box, seq) was already stored: dropped, as the server does
        self.requests = []
        self.types = []
        self.counters = []  # counters of the encrypted frames, in arrival order
        self.extra = {}
        self.raw = None  # when set, answered instead of a frame

    def answer(self, request_bytes):
        head, body = request_bytes.split(b"\r\n\r\n", 1)
        self.requests.append(head)
        req = frame.decode_request(body, lambda box_id: KEY if box_id == BOX_ID else None)
        self.types.append(req.type)
        if self.raw is not None:
            return self.raw
        if req.type == codes.T_RESYNC:
            resp = frame.encode_resync_reply(BOX_ID, req.nonce, self.last_counter, T, KEY,
                                             max(self.seen) if self.seen else 0)
            return b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(resp) + resp
        self.counters.append(req.counter)
        check = frame.check_counter(req.counter, self.last_counter)
        if check:
            resp = frame.encode_response(BOX_ID, req.counter, {"error": check, "last_counter": self.last_counter,
                                                                "time": T}, KEY)
        else:
            self.last_counter = req.counter
            for r in req.records:
                if r["seq"] in self.seen:
                    self.duplicates += 1
                else:
                    self.seen[r["seq"]] = r
            response = {"ack": max(self.seen) if self.seen else 0, "time": T + 5, "allow": None, "config": {},
                        "commands": [], "error": 0}
            response.update(self.extra)
            resp = frame.encode_response(BOX_ID, req.counter, response, KEY)
        return b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(
            resp) + resp


class LoopModem:
    """Modem driver stand-in at the exchange level: records calls, hands the bytes to LoopServer."""

    def __init__(self, server, fail=None):
        self.server = server
        self.fail = fail
        self.calls = []

    async def start(self):
        self.calls.append("start")

    async def attach(self, apn):
        self.calls.append("attach " + apn)

    async def signal_quality(self):
        return 17

    async def exchange(self, host, port, data, timeout_ms):
        self.calls.append("tcp %s:%d" % (host, port))
        if self.fail:
            raise self.fail
        return self.server.answer(data)

    async def power_off(self):
        self.calls.append("off")


def _run(coro):
    try:
        import asyncio
    except ImportError:
        import uasyncio as asyncio
    return asyncio.run(coro)


def _box(root):
    b = box.Box(DirFS(root), ManualClock(T), RecordingPin(), KEY, BOX_ID)
    b.boot(False)
    return b


def _client(b):
    c = sync.SyncClient(b, CONFIG, KEY)
    c.load()
    return c


def test_sync_sends_the_journal_and_applies_ack_time_and_allow_list():
    root = temp_dir("sy")
    b = _box(root)
    server = LoopServer()
    badge = keys.badge_hash(KEY, b"\x01\x02\x03\x04")
    server.extra = {"allow": {"version": 5, "full": True, "remove": [], "add": [
        {"id": 1, "badge": badge, "kind": codes.KIND_ROLE, "start": 0, "end": 0, "reservation": 0}]},
        "config": {"grace_s": 120}}
    modem = LoopModem(server)
    c = _client(b)
    assert b.journal.backlog() > 0
    assert _run(c.run_once(modem, lambda csq: b.health("0.1.0", csq), "bench", 5000))
    # first boot, no counter file: RESYNC then the sync frame, in one modem session
    assert modem.calls == ["start", "attach bench", "tcp 127.0.0.1:8080", "tcp 127.0.0.1:8080", "off"]
    assert b"POST /api/v1/sync HTTP/1.0" in server.requests[0] and b"POST /api/v1/sync HTTP/1.0" in server.requests[1]
    assert b.journal.backlog() == 0 and server.seen
    assert b.allow.version == 5 and b.settings.grace_s == 120
    assert b.tap(b"\x01\x02\x03\x04").granted
    # the counter is persisted: a new client continues after it
    assert _client(b).counter == 1


def test_a_box_without_counter_file_resyncs_before_any_encrypted_frame():
    root = temp_dir("sn")
    b = _box(root)
    server = LoopServer()
    server.last_counter = 40  # the server saw counters up to 40 before the box was reflashed
    c = _client(b)
    assert not c.known
    modem = LoopModem(server)
    assert _run(c.run_once(modem, lambda csq: b.health("0.1.0", csq), "bench", 5000)), c.last_error
    # one modem session: the RESYNC exchange, then the sync frame under counter 41; no counter reused
    assert modem.calls == ["start", "attach bench", "tcp 127.0.0.1:8080", "tcp 127.0.0.1:8080", "off"]
    assert server.types == [codes.T_RESYNC, codes.T_SYNC] and server.counters == [41]
    assert c.counter == 41 and c.known and c.resyncs == 1 and b.journal.backlog() == 0
    events = [(r["code"], r["value"]) for r in server.seen.values() if r["type"] == "event"]
    assert (codes.EV_COUNTER_RESYNC, 41) in events
    # persisted: the next boot knows its counter and syncs at once
    again = _client(b)
    assert again.known and again.counter == 41
    assert _run(again.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "bench", 5000))
    assert server.types[2:] == [codes.T_SYNC] and server.counters == [41, 42]


def test_a_failed_resync_sends_no_frame_and_is_tried_again():
    b = _box(temp_dir("sq"))
    server = LoopServer()
    server.last_counter = 7
    c = _client(b)
    server.raw = b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nbad"
    assert not _run(c.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "bench", 5000))
    assert server.types == [codes.T_RESYNC] and not c.known and c.counter == 0
    assert _client(b).known is False  # nothing persisted
    server.raw = None
    assert _run(c.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "bench", 5000))
    assert server.types == [codes.T_RESYNC, codes.T_RESYNC, codes.T_SYNC] and server.counters == [8]


def test_a_reflashed_box_continues_its_journal_numbering_and_loses_nothing():
    server = LoopServer()
    first = _box(temp_dir("s1"))
    c = _client(first)
    for i in range(5):
        first.journal.append({"type": "event", "t": T + i, "code": codes.EV_IGNITION, "value": i % 2})
    assert _run(c.run_once(LoopModem(server), lambda csq: first.health("0.1.0", csq), "bench", 5000))
    assert _run(c.run_once(LoopModem(server), lambda csq: first.health("0.1.0", csq), "bench", 5000))
    old_top = max(server.seen)
    assert old_top >= 7 and server.duplicates == 0

    # reflashed: a fresh filesystem, the same key; it journals offline before it reaches the server
    root = temp_dir("s2")
    b = _box(root)
    for i in range(3):
        b.journal.append({"type": "event", "t": T + 100 + i, "code": codes.EV_IGNITION, "value": i % 2})
    assert b.journal.pending(100)[0]["seq"] == 1  # numbered from 1 again on its own
    fresh = b.journal.backlog()
    c2 = _client(b)
    assert _run(c2.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "bench", 5000)), c2.last_error
    assert server.duplicates == 0 and b.journal.backlog() == 0
    new = sorted(s for s in server.seen if s > old_top)
    assert len(new) == fresh + 1  # the offline records and the EV_COUNTER_RESYNC event, none dropped
    assert new == list(range(old_top + 1, old_top + 2 + fresh))
    # the numbering survives a reboot (offset persisted) and keeps going up
    b2 = _box(root)
    assert b2.journal.next_seq_out() > new[-1]
    c3 = _client(b2)
    assert c3.known
    assert _run(c3.run_once(LoopModem(server), lambda csq: b2.health("0.1.0", csq), "bench", 5000))
    assert server.duplicates == 0 and max(server.seen) > new[-1] and server.types.count(codes.T_RESYNC) == 2


def test_a_stale_counter_is_repaired_from_the_servers_error_frame():
    root = temp_dir("sc")
    b = _box(root)
    server = LoopServer()
    server.last_counter = 40  # the box's flash was restored from an old image: it believes it is at 3
    b.fs.open(sync.COUNTER_FILE, "wb").write(b"[3, 0]")
    c = _client(b)
    assert c.known and c.counter == 3
    modem = LoopModem(server)
    assert not _run(c.run_once(modem, lambda csq: b.health("0.1.0", csq), "bench", 5000))
    assert c.counter == 40 and c.last_error == errors.ERR_STALE
    assert b.sync_wanted & box.WANT_DEMAND
    assert _run(c.run_once(modem, lambda csq: b.health("0.1.0", csq), "bench", 5000))
    assert server.last_counter == 41 and b.journal.backlog() == 0


def test_modem_failure_and_garbage_answers_are_failures_not_crashes():
    b = _box(temp_dir("sf"))
    c = _client(b)
    server = LoopServer()
    assert not _run(c.run_once(LoopModem(server, fail=OSError(110)), lambda csq: {}, "bench", 5000))
    for raw in (b"", b"garbage", b"HTTP/1.0 500 Oops\r\n\r\n", b"HTTP/1.0 200 OK\r\nContent-Length: 99\r\n\r\nshort",
                b"HTTP/1.0 200 OK\r\n\r\n\x01\x07\x01\x81" + b"\x00" * 20):
        server.raw = raw
        assert not _run(c.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "bench", 5000))
    assert b.journal.backlog() > 0
    assert c.failed == 6 and c.ok == 0


def test_backoff_grows_with_jitter_and_resets_on_success():
    b = _box(temp_dir("sb"))
    seq = [0]

    def rand(n):
        seq[0] += 1
        return (seq[0] * 7919) % n

    plan = sync.SyncPlan(b.settings, rand)
    assert plan.due(0, b) == sync.DUE_BOOT
    low = b.settings.backoff_min_s * 1000
    high = b.settings.backoff_max_s * 1000
    delays = [plan.failed(0) for _ in range(12)]
    for i, d in enumerate(delays):
        base = min(low * (1 << i), high)
        assert base * 3 // 4 <= d < base * 5 // 4, (i, d)
    assert plan.due(plan.next_try_ms - 1, b) == 0
    assert plan.due(plan.next_try_ms, b) == sync.DUE_BOOT
    plan.succeeded(1000, sync.DUE_BOOT, b)
    assert plan.due(2000, b) == 0
    b.sync_wanted |= box.WANT_TRIP_END
    assert plan.due(2000, b) == sync.DUE_TRIP_END
    b.sync_wanted = 0
    period = b.settings.sync_period_s * 1000
    assert plan.due(1000 + period - 1, b) == 0 and plan.due(1000 + period, b) == sync.DUE_PERIODIC


def test_sync_due_before_a_reservation_starts():
    b = _box(temp_dir("sr"))
    b.apply_response({"allow": {"version": 1, "full": True, "remove": [], "add": [
        {"id": 1, "badge": b"A" * 8, "kind": codes.KIND_RESERVATION, "start": T + 3600, "end": T + 7200,
         "reservation": 3}]}})
    plan = sync.SyncPlan(b.settings, lambda n: 0)
    plan.succeeded(0, sync.DUE_BOOT, b)
    assert plan.due(1000, b) == 0
    b.clock.hal.advance(3600 - b.settings.sync_before_s)
    assert plan.due(b.clock.ticks_ms(), b) == sync.DUE_RESERVATION
    plan.succeeded(b.clock.ticks_ms(), sync.DUE_RESERVATION, b)
    assert plan.due(b.clock.ticks_ms() + 1000, b) == 0


def test_next_due_is_when_due_turns_true_so_a_parked_box_sleeps_until_then():
    b = _box(temp_dir("sn"))
    plan = sync.SyncPlan(b.settings, lambda n: 0)
    assert plan.next_due_ms(b.clock.ticks_ms(), b) == 0  # never synced: due at once
    plan.succeeded(b.clock.ticks_ms(), sync.DUE_BOOT, b)
    period_ms = b.settings.sync_period_s * 1000
    assert plan.next_due_ms(b.clock.ticks_ms(), b) == period_ms  # nothing booked: the periodic sync
    b.apply_response({"allow": {"version": 1, "full": True, "remove": [], "add": [
        {"id": 1, "badge": b"A" * 8, "kind": codes.KIND_RESERVATION, "start": T + 3600, "end": T + 7200,
         "reservation": 3}]}})
    wait = plan.next_due_ms(b.clock.ticks_ms(), b)
    assert wait == (3600 - b.settings.sync_before_s) * 1000  # the booking comes before the period
    b.clock.hal.advance(wait // 1000 - 1)
    assert plan.due(b.clock.ticks_ms(), b) == 0 and plan.next_due_ms(b.clock.ticks_ms(), b) == 1000
    b.clock.hal.advance(1)
    assert plan.due(b.clock.ticks_ms(), b) == sync.DUE_RESERVATION and plan.next_due_ms(b.clock.ticks_ms(), b) == 0
    plan.failed(b.clock.ticks_ms())
    backoff = plan.next_try_ms - b.clock.ticks_ms()
    assert plan.next_due_ms(b.clock.ticks_ms(), b) == backoff > 0  # a failing box sleeps out its backoff
    b.sync_wanted |= box.WANT_TRIP_END
    assert plan.next_due_ms(b.clock.ticks_ms(), b) == backoff


def test_health_reports_allow_version_and_last_reply_applied():
    root = temp_dir("sh")
    b = _box(root)
    server = LoopServer()
    server.extra = {"allow": {"version": 9, "full": True, "remove": [], "add": []}}
    seen = []
    c = _client(b)

    def health(csq):
        h = b.health("0.1.0", csq, 12000, 1, c.rx)
        seen.append(h)
        return h

    assert _run(c.run_once(LoopModem(server), health, "bench", 5000))
    assert _run(c.run_once(LoopModem(server), health, "bench", 5000))
    assert seen[0]["allow"] == 0 and seen[0]["rx"] == 0
    assert seen[1]["allow"] == 9 and seen[1]["rx"] == 1
    assert _client(b).rx == 2  # persisted with the counter


def test_a_release_command_sent_again_is_acted_on_once():
    b = _box(temp_dir("sd"))
    b.fix(Fix(t=T, speed_mms=0))
    assert b.imm.output == 1
    b.apply_response({"commands": [{"cmd": codes.CMD_RELEASE, "arg": 31}]})
    assert b.imm.output == 0
    b.tap(b"\x09\x09\x09\x09")  # nobody's badge: the trip stays open
    b.set_ignition(False)
    b.clock.hal.advance(b.settings.start_window_s + 1)
    b.tick()
    assert b.imm.output == 1  # never started: re-armed
    b.apply_response({"commands": [{"cmd": codes.CMD_RELEASE, "arg": 31}]})  # the same reply again
    assert b.imm.output == 1
    b.apply_response({"commands": [{"cmd": codes.CMD_RELEASE, "arg": 32}]})
    assert b.imm.output == 0


def _backlog(b, records, per_frame):
    """`records` ignition events in the journal, and frames of at most `per_frame` records."""
    for i in range(records):
        b.journal.append({"type": "event", "t": T + i, "code": codes.EV_IGNITION, "value": i % 2})
    b.settings.apply({"max_records": per_frame})


def test_more_records_than_one_frame_holds_asks_for_another_sync_at_once():
    b = _box(temp_dir("sm"))
    _backlog(b, 300, 100)
    server = LoopServer()
    c = _client(b)
    assert _run(c.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "bench", 5000))
    assert c.sent == 100 and b.sync_wanted & box.WANT_DEMAND
    while b.journal.backlog():
        b.sync_wanted = 0
        assert _run(c.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "bench", 5000))
    assert not b.sync_wanted & box.WANT_DEMAND and len(server.seen) >= 300


def test_a_disabled_box_asks_again_once_a_day():
    b = _box(temp_dir("sx"))
    plan = sync.SyncPlan(b.settings, lambda n: 0)
    assert plan.failed(0, errors.ERR_BOX_DISABLED) == 86400 * 1000
    assert plan.due(86400 * 1000 - 1, b) == 0 and plan.due(86400 * 1000, b) == sync.DUE_BOOT


def test_a_badge_in_that_opens_a_trip_syncs_one_short_frame_soon_after():
    b = _box(temp_dir("st"))
    server = LoopServer()
    c = _client(b)
    plan = sync.SyncPlan(b.settings, lambda n: 0)
    uid = b"\x04\x11\x22\x33"
    b.apply_response({"allow": {"version": 1, "full": True, "remove": [], "add": [
        {"id": 1, "badge": keys.badge_hash(KEY, uid), "kind": codes.KIND_RESERVATION, "start": T,
         "end": T + 3600, "reservation": 41}]}})
    assert _run(c.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "", 5000))
    plan.succeeded(b.clock.ticks_ms(), sync.DUE_BOOT, b)
    assert b.sync_wanted == 0 and b.journal.backlog() == 0
    assert b.tap(uid).granted
    delay_ms = b.settings.sync_after_start_s * 1000
    now = b.clock.ticks_ms()
    assert plan.due(now, b) == 0 and plan.next_due_ms(now, b) == delay_ms  # not during the cranking
    b.clock.hal.advance(b.settings.sync_after_start_s)
    assert plan.due(b.clock.ticks_ms(), b) == sync.DUE_TRIP_START
    b.sync_wanted = 0  # what sync_task does when it starts the session
    before = len(server.seen)
    assert _run(c.run_once(LoopModem(server), lambda csq: b.health("0.1.0", csq), "", 5000))
    sent = [server.seen[s] for s in sorted(server.seen)][before:]  # (MicroPython dicts are unordered)
    # the badge-in and the trip it opened: one short frame the server reads as "the car is out"
    assert [r["type"] for r in sent] == ["badge", "trip_start"]
    assert sent[-1]["reservation"] == 41


def test_a_trip_start_sync_does_not_hide_a_demand_or_a_trip_end():
    b = _box(temp_dir("su"))
    plan = sync.SyncPlan(b.settings, lambda n: 0)
    plan.succeeded(b.clock.ticks_ms(), sync.DUE_BOOT, b)
    b.start_sync_ms = b.clock.ticks_ms() + 60000
    b.sync_wanted = box.WANT_TRIP_START
    assert plan.due(b.clock.ticks_ms(), b) == 0
    b.sync_wanted |= box.WANT_DEMAND
    assert plan.due(b.clock.ticks_ms(), b) == sync.DUE_DEMAND
    b.sync_wanted = box.WANT_TRIP_START | box.WANT_TRIP_END
    assert plan.due(b.clock.ticks_ms(), b) == sync.DUE_TRIP_END


def test_an_answer_becomes_an_outcome_and_only_the_box_applies_it():
    b = _box(temp_dir("so"))
    _backlog(b, 30, 10)
    server = LoopServer()
    server.last_counter = 40  # the box believes it is at 3: the server answers ERR_STALE
    b.fs.open(sync.COUNTER_FILE, "wb").write(b"[3, 0]")
    c = _client(b)
    request, counter = c.build(b.health("0.1.0"))
    before = b.journal.backlog()
    outcome = c.handle(server.answer(request), counter)
    # what happened, by name; the box untouched until it applies it
    assert not outcome.ok and outcome.error == errors.ERR_STALE
    assert outcome.events == [(codes.EV_COUNTER_RESYNC, 41)] and outcome.again == [sync.AGAIN_COUNTER_REPAIRED]
    assert b.sync_wanted == 0 and b.journal.backlog() == before
    b.apply_sync(outcome)
    assert b.sync_wanted & box.WANT_DEMAND and b.journal.backlog() == before + 1
    b.sync_wanted = 0
    # the repaired counter goes through; ten records of forty-one fit: more records, sync again
    request, counter = c.build(b.health("0.1.0"))
    outcome = c.handle(server.answer(request), counter)
    assert outcome.ok and outcome.again == [sync.AGAIN_MORE_RECORDS] and outcome.events == []
    assert outcome.response["ack"] == 10  # seq 1..10 (the boot event first)
    assert b.journal.backlog() == before + 1 and b.sync_wanted == 0
    b.apply_sync(outcome)
    c.received(counter)
    assert b.journal.backlog() == before + 1 - 10 and b.sync_wanted & box.WANT_DEMAND and c.rx == counter
