# The sync client: one HTTP/1.0 POST per sync through the modem driver's exchange (with its recovery ladder).
#
# The request frame carries the oldest unacknowledged journal records (as many as fit one frame) and the
# box's health. Each answer becomes an Outcome (the reply, events to journal, AGAIN_* reasons to sync
# again at once) that Box.apply_sync applies: the client never sets the box's state itself.
# The frame counter is persisted before the frame leaves, so a power cut never makes the box reuse one.
# A box that does not know its counter (first boot, reflash, file lost) sends a RESYNC first, in the same
# modem session: the authenticated answer gives the server's last accepted counter and the highest
# journal seq it holds, and the box continues above both (docs/protocol.md). A stale counter (flash
# restored from an old image) is repaired from the server's ERR_STALE error frame.
#
# When: SyncPlan.due() says why a sync is due (trip end, on demand, a trip opened a minute ago so the
# server learns of the badge-in before it calls the booking a no-show, a reservation about to start,
# periodic while parked, first sync after boot); failures back off exponentially with +-25 % jitter so
# 44 boxes that lost the network together do not come back together.
from app import store
from app.box import WANT_DEMAND, WANT_TRIP_END, WANT_TRIP_START
from protocol import codes, errors, frame

COUNTER_FILE = "counter"

DUE_BOOT = 1
DUE_TRIP_END = 2
DUE_DEMAND = 3
DUE_RESERVATION = 4
DUE_PERIODIC = 5
DUE_TRIP_START = 6


class SyncPlan:
    def __init__(self, settings, rand):
        self.settings = settings
        self.rand = rand  # rand(n) -> int in [0, n)
        self.last_ok_ms = None
        self.next_try_ms = 0
        self.failures = 0
        self.prepared_for = 0  # reservation start already synced for

    def due(self, now_ms, box):
        """Why a sync is due now (DUE_*), or 0."""
        if self.failures and now_ms < self.next_try_ms:
            return 0
        if box.sync_wanted & WANT_TRIP_END:
            return DUE_TRIP_END
        if box.sync_wanted & WANT_DEMAND:
            return DUE_DEMAND
        if box.sync_wanted & WANT_TRIP_START and now_ms >= box.start_sync_ms:
            return DUE_TRIP_START
        if self.last_ok_ms is None:
            return DUE_BOOT
        start = box.next_reservation_start()
        if start and start != self.prepared_for:
            now = box.clock.now()
            if start - now <= self.settings.get("sync_before_s"):
                return DUE_RESERVATION
        parked = box.trips is None or box.trips.current is None
        if parked and now_ms - self.last_ok_ms >= self.settings.get("sync_period_s") * 1000:
            return DUE_PERIODIC
        return 0

    def next_due_ms(self, now_ms, box):
        """Milliseconds until due() can next become true by the clock alone (0: due now, None: nothing
        scheduled): how long a parked box may sleep. A tap, the ignition or a trip end wake it anyway."""
        if self.due(now_ms, box):
            return 0
        if self.failures and now_ms < self.next_try_ms:
            return self.next_try_ms - now_ms  # the backoff ends first: whatever is wanted is looked at then
        waits = []
        if box.sync_wanted & WANT_TRIP_START:
            waits.append(box.start_sync_ms - now_ms)
        start = box.next_reservation_start()
        if start and start != self.prepared_for:
            waits.append((start - self.settings.get("sync_before_s") - box.clock.now()) * 1000)
        if box.trips is None or box.trips.current is None:
            waits.append(self.last_ok_ms + self.settings.get("sync_period_s") * 1000 - now_ms)
        if not waits:
            return None
        wait = min(waits)
        return wait if wait > 0 else 1

    def succeeded(self, now_ms, reason, box):
        self.failures = 0
        self.last_ok_ms = now_ms
        if reason == DUE_RESERVATION:
            self.prepared_for = box.next_reservation_start()

    def failed(self, now_ms, error=0):
        self.failures += 1
        if error == errors.ERR_BOX_DISABLED:
            # Revoked by an administrator: keep the records, ask again once a day.
            self.next_try_ms = now_ms + 86400 * 1000
            return 86400 * 1000
        low = self.settings.get("backoff_min_s") * 1000
        high = self.settings.get("backoff_max_s") * 1000
        delay = low
        for _ in range(self.failures - 1):
            delay *= 2
            if delay >= high:
                delay = high
                break
        spread = delay // 2  # jitter: delay * [0.75, 1.25)
        delay = delay - delay // 4 + self.rand(spread if spread > 0 else 1)
        self.next_try_ms = now_ms + delay
        return delay


def http_post(host, path, body):
    head = "POST %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
    return (head % (path, host, len(body))).encode() + body


def http_body(raw):
    """(status, body) of an HTTP/1.x answer; status 0 when the answer is not HTTP at all."""
    end = raw.find(b"\r\n\r\n")
    if end < 0 or not raw.startswith(b"HTTP/1."):
        return 0, b""
    head = raw[:end].split(b"\r\n")
    parts = head[0].split()
    try:
        status = int(parts[1])
    except (IndexError, ValueError):
        return 0, b""
    body = raw[end + 4:]
    for line in head[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                return 0, b""
            if length > len(body):
                return 0, b""  # the connection closed early
            body = body[:length]
    return status, body


# Why an exchange asks the box to sync again at once (Outcome.again).
AGAIN_COUNTER_REPAIRED = "counter repaired"  # an ERR_STALE/ERR_REPLAY frame gave the server's counter
AGAIN_MORE_RECORDS = "more records"  # the backlog did not fit one frame
AGAIN_FULL_LIST = "full allow-list"  # first reply after a RESYNC brought no list: the next request gets it


class Outcome:
    """What one exchange with the server did, for Box.apply_sync: `response` (the decoded reply to apply,
    or None), `events` ((code, value) pairs to journal), `again` (AGAIN_* names: sync again at once),
    `ok` (the server took the request) and `error` (as last_error)."""

    def __init__(self, ok=False, error=0, response=None):
        self.ok = ok
        self.error = error
        self.response = response
        self.events = []
        self.again = []


class SyncClient:
    """The box's side of a sync session: counter, frame building, the server's answers turned into
    Outcomes. It reads the journal and settings, and hands each Outcome to Box.apply_sync."""

    def __init__(self, box, config, key, urandom=None):
        self.box = box
        self.urandom = urandom  # urandom(n) -> n random bytes (hal: os.urandom); the RESYNC nonce
        self.box_id = config["box_id"]  # config: app.config.check()'s, every field present
        self.host = config["server_host"]
        self.port = config["server_port"]
        self.path = config["server_path"]
        self.key = key
        self.counter = 0
        self.known = False  # the counter was read from its file (else: RESYNC before any sync frame)
        self.resyncs = 0
        self.after_resync = False  # the next reply is the first since a RESYNC
        # figures for health and the bench
        self.ok = 0
        self.failed = 0
        self.last_error = 0
        self.last_exception = None
        self.retry_now = False  # the last failure was a repaired counter: go again without backoff
        self.rx = 0  # counter of the last reply applied (health "rx": the server resends what was lost)
        self.sent = 0  # records in the last frame
        self.offered = 0  # unacknowledged records when it was built
        self.held_allow = 0  # allow-list version the box reported in the last frame

    def load(self):
        value = store.read(self.box.fs, COUNTER_FILE, None)
        self.known = False
        if isinstance(value, list) and len(value) == 2:
            self.counter, self.rx = value
            self.known = True
        elif isinstance(value, int):
            self.counter = value
            self.known = True
        if not isinstance(self.counter, int) or self.counter < 0:
            self.counter = 0
            self.known = False
        if not isinstance(self.rx, int) or self.rx < 0:
            self.rx = 0

    def _save(self):
        store.write(self.box.fs, COUNTER_FILE, [self.counter, self.rx])

    def _next_counter(self):
        self.counter += 1
        self._save()
        return self.counter

    def build(self, health):
        """The HTTP request of the next sync and its counter."""
        box = self.box
        limit = box.settings.get("max_records")
        counter = self._next_counter()
        data, n = frame.pack_request(self.box_id, counter, box.journal.iter_pending(limit), health, self.key)
        self.sent = n
        self.offered = health.get("backlog", n)
        self.held_allow = health.get("allow", 0)
        return http_post(self.host, self.path, data), counter

    def _nonce(self):
        if self.urandom is not None:
            nonce = bytes(self.urandom(frame.NONCE_BYTES))
            if len(nonce) == frame.NONCE_BYTES:
                return nonce
        import random  # no hal source (tests): never used on a box, main.py passes the board's urandom

        return bytes([random.getrandbits(8) for _ in range(frame.NONCE_BYTES)])

    def build_resync(self):
        """The HTTP request of a RESYNC exchange and its nonce."""
        nonce = self._nonce()
        return http_post(self.host, self.path, frame.encode_resync(self.box_id, nonce, self.key)), nonce

    def _open(self, raw, decode, expected):
        """HTTP answer -> (the decoded reply frame (decode(body, box_id, expected, key)), 0), or (None, the
        error: negative for an HTTP status or -1 for no answer, positive for a protocol error code)."""
        status, body = http_body(raw or b"")
        if status != 200 or not body:
            return None, (-status if status else -1)
        try:
            return decode(body, self.box_id, expected, self.key), 0
        except errors.ProtocolError as exc:
            return None, exc.code

    def handle_resync(self, raw, nonce):
        """The answer to a RESYNC request -> Outcome (ok: counter and journal numbering adopted)."""
        reply, error = self._open(raw, frame.decode_resync_reply, nonce)
        if reply is None:
            return Outcome(False, error)
        error = reply.get("error") or 0
        if error:  # e.g. ERR_BOX_DISABLED: authenticated, nothing adopted
            outcome = Outcome(False, error)
            outcome.events.append((codes.EV_PROTOCOL_ERROR, error))
            return outcome
        last_seq = reply.get("last_seq") or 0
        # The journal's numbering first: a power cut before the counter file is written only means
        # another RESYNC at the next boot, and raise_seq does nothing the second time.
        if 0 < last_seq < 0xFFFFFFFF:
            self.box.journal.raise_seq(last_seq + 1)
        last = reply.get("last_counter") or 0
        if last > self.counter:
            self.counter = last  # the next frame goes out with last + 1
        self.known = True
        self._save()
        self.resyncs += 1
        self.after_resync = True
        outcome = Outcome(True, 0, {"time": reply.get("time") or 0})
        outcome.events.append((codes.EV_COUNTER_RESYNC, self.counter + 1))
        return outcome

    def handle(self, raw, counter):
        """The HTTP answer to request `counter` -> Outcome (ok: the server took the request). Call
        received(counter) once the box applied it."""
        response, error = self._open(raw, frame.decode_response, counter)
        if response is None:
            return Outcome(False, error)
        error = response.get("error") or 0
        if error:
            # The error frame is authenticated: its time may still set an unknown clock.
            outcome = Outcome(False, error, {"time": response.get("time") or 0})
            last = response.get("last_counter") or 0
            if error in (errors.ERR_STALE, errors.ERR_REPLAY) and last >= self.counter:
                self.counter = last
                self._save()
                outcome.events.append((codes.EV_COUNTER_RESYNC, self.counter + 1))
                outcome.again.append(AGAIN_COUNTER_REPAIRED)
            else:
                outcome.events.append((codes.EV_PROTOCOL_ERROR, error))
            return outcome
        outcome = Outcome(True, 0, response)
        if self.after_resync:
            self.after_resync = False
            if not self.held_allow and not response.get("allow"):
                # A reflashed box reports allow 0 and rx 0, which the server reads as "an older box holding
                # what it was last sent": now that rx is set, the next request gets the full list.
                outcome.again.append(AGAIN_FULL_LIST)
        if self.sent < self.offered:
            outcome.again.append(AGAIN_MORE_RECORDS)
        return outcome

    def received(self, counter):
        """The box applied the reply to `counter`: report it in the next health's rx (after, never before,
        so a power cut in between makes the server resend what that reply carried)."""
        self.rx = counter
        self._save()

    def _apply(self, outcome):
        self.last_error = outcome.error
        self.retry_now = AGAIN_COUNTER_REPAIRED in outcome.again
        self.box.apply_sync(outcome)
        return outcome.ok

    async def run_once(self, modem, health_fn, apn, timeout_ms):
        """Power the modem, attach, exchange one request/answer, power it off. True on success.
        health_fn(csq) -> the health dict (csq: the modem's signal quality, 99 unknown)."""
        self.retry_now = False
        try:
            await modem.start()
            await modem.attach(apn)
            try:
                csq = await modem.signal_quality()
            except Exception:
                csq = 99
            ok = True
            if not self.known:  # RESYNC first: never an encrypted frame under a counter that may be reused
                request, nonce = self.build_resync()
                raw = await modem.exchange(self.host, self.port, request, timeout_ms)
                ok = self._apply(self.handle_resync(raw, nonce))  # its events go out in the frame below
            if ok:
                request, counter = self.build(health_fn(csq))
                raw = await modem.exchange(self.host, self.port, request, timeout_ms)
                ok = self._apply(self.handle(raw, counter))
                if ok:
                    self.received(counter)
        except Exception as exc:  # ModemError, ModemTimeout, OSError: all mean "try later"
            self.last_error = -2
            self.last_exception = exc
            ok = False
        try:
            await modem.power_off()
        except Exception:
            pass
        stop = getattr(modem, "stop", None)
        if stop is not None:
            stop()  # parked: no reader task polling a powered-off modem (start() restarts it)
        if ok:
            self.ok += 1
        else:
            self.failed += 1
        return ok
