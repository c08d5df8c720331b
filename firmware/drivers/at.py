# AT command engine for the SIMCom families (SIM800, A7670, SIM7080): one reader task, many waiters.
# The reader owns the stream and routes every line either to the command in flight or to the URC table
# (docs/modem.md gives the routing rules and the exact conversations). Commands are serialised by a
# lock; every wait is an await, so a slow or dead modem never blocks the other tasks.
import asyncio

from drivers.aio import TimeoutError, sleep_ms, ticks_add, ticks_diff, ticks_ms, wait_for_ms

MAX_LINE = 600  # longer lines are garbage (a real reply line is far shorter): dropped and counted

# Unsolicited result codes every family shares: (prefix, name, exact). `exact` lines must match whole
# (RING vs RINGING...). A family adds its own in front (drivers/modem.py, Family.urcs).
URCS = (
    ("RING", "ring", True),
    ("+CMTI:", "sms", False),
    ("CLOSED", "closed", True),
    ("+PDP: DEACT", "pdp_deact", False),
    ("UNDER-VOLTAGE", "undervoltage", False),
    ("OVER-VOLTAGE", "overvoltage", False),
    ("NORMAL POWER DOWN", "power_down", True),
    ("RDY", "rdy", True),
    ("Call Ready", "call_ready", True),
    ("SMS Ready", "sms_ready", True),
    ("+CPIN:", "cpin", False),
    ("+CFUN:", "cfun", False),
    ("+CIPRXGET: 1", "rx_ready", False),
    ("*PSUTTZ", "time", False),
    ("DST:", "time", False),
    ("+CTZV:", "time", False),
)

ERRORS = ("ERROR", "+CME ERROR:", "+CMS ERROR:")
# A restart or power-down of the modem ends whatever command was in flight.
FATAL_URCS = ("rdy", "power_down")


class ModemError(Exception):
    """The modem refused: `command` (str) and `reply` (list of lines, or a str for driver-level causes)."""

    def __init__(self, command, reply):
        super().__init__(command, reply)
        self.command = command
        self.reply = reply


class ModemTimeout(Exception):
    """No final answer to `command` within `ms` milliseconds."""

    def __init__(self, command, ms):
        super().__init__(command, ms)
        self.command = command
        self.ms = ms


def _info_prefix(cmd):
    # "AT+CSQ" -> "+CSQ:", "AT+CPIN?" -> "+CPIN:", "AT+CIPRXGET=2,1024" -> "+CIPRXGET:"; "ATE0" -> None.
    if not cmd.startswith("AT+"):
        return None
    end = 3
    while end < len(cmd) and cmd[end] not in "=?":
        end += 1
    return cmd[2:end] + ":"


def _match(line, prefixes):
    for p in prefixes:
        if line.startswith(p):
            return True
    return False


class _Pending:
    __slots__ = ("cmd", "info", "ok", "fail", "lines", "done", "error", "prompt", "prompted", "first_line", "ev")

    def __init__(self, cmd, ok, fail, prompt, first_line):
        self.cmd = cmd
        self.info = _info_prefix(cmd)
        self.ok = ok
        self.fail = fail
        self.prompt = prompt
        self.prompted = False
        self.first_line = first_line
        self.lines = []
        self.done = False
        self.error = False
        self.ev = asyncio.Event()


class ATEngine:
    """`on_urc(name, line)` is called for every unsolicited line; `rx` collects TCP payload bytes
    (`+IPD`, `+CIPRXGET: 2` and `+CARECV:` framing) and `net` is set whenever payload or a URC arrives.
    `table` is the URC table in use; `rxget_link` True reads `+CIPRXGET: 2,<link>,<len>,<rest>` (A76XX)
    instead of `+CIPRXGET: 2,<len>,<rest>` (SIM800/SIM7000)."""

    def __init__(self, stream, on_urc=None, poll_ms=10):
        self.stream = stream
        self.on_urc = on_urc
        self.poll_ms = poll_ms
        self.table = URCS  # type: tuple
        self.rxget_link = False
        self.rx = bytearray()
        self.net = asyncio.Event()
        self.urcs = {}
        self.stray_lines = 0
        self.bad_lines = 0
        self.timeouts = 0
        self._buf = b""
        self._raw_left = 0
        self._pending = None
        self._lock = asyncio.Lock()
        self._task = None

    # ---------------------------------------------------------------- reader task
    def start(self):
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    def stop(self):
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self):
        while True:
            data = self.stream.read(256)
            if data:
                self.feed(data)
                await sleep_ms(0)
            else:
                await sleep_ms(self.poll_ms)

    def feed(self, data):
        """Route received bytes (pure: no I/O, so tests can drive it directly)."""
        buf = self._buf + bytes(data)
        while buf:
            if self._raw_left:
                take = buf[: self._raw_left]
                self.rx.extend(take)
                self._raw_left -= len(take)
                buf = buf[len(take):]
                if not self._raw_left:
                    self.net.set()
                continue
            if buf.startswith(b"+IPD,"):
                colon = buf.find(b":")
                newline = buf.find(b"\n")
                if colon < 0 or (0 <= newline < colon):
                    if newline < 0 and len(buf) < 16:
                        break  # header not complete yet
                    self.bad_lines += 1
                    buf = buf[newline + 1:] if newline >= 0 else b""
                    continue
                try:
                    self._raw_left = int(buf[5:colon])
                except ValueError:
                    self._raw_left = 0
                    self.bad_lines += 1
                buf = buf[colon + 1:]
                continue
            if buf.startswith(b"+CARECV: "):
                # SIM7080: "+CARECV: <len>,<len bytes>" (data on the same line); "+CARECV: 0" alone.
                comma = buf.find(b",")
                newline = buf.find(b"\n")
                if comma < 0 and newline < 0:
                    if len(buf) < 16:
                        break  # header not complete yet
                    self.bad_lines += 1
                    buf = b""
                    continue
                if comma >= 0 and (newline < 0 or comma < newline):
                    try:
                        self._raw_left = int(buf[9:comma])
                    except ValueError:
                        self._raw_left = 0
                        self.bad_lines += 1
                    self._line(buf[:comma].decode())
                    buf = buf[comma + 1:]
                    continue
            p = self._pending
            if p is not None and p.prompt and not p.prompted and not p.done and buf.startswith(b">"):
                p.prompted = True
                buf = buf[2:] if buf.startswith(b"> ") else buf[1:]
                p.ev.set()
                continue
            newline = buf.find(b"\n")
            if newline < 0:
                if len(buf) > MAX_LINE:
                    self.bad_lines += 1
                    buf = b""
                break
            raw = buf[:newline]
            buf = buf[newline + 1:]
            if len(raw) > MAX_LINE:
                self.bad_lines += 1
                continue
            try:
                line = raw.decode().strip()
            except ValueError:  # UnicodeError: line noise
                self.bad_lines += 1
                continue
            if line:
                self._line(line)
        self._buf = buf

    def _line(self, line):
        p = self._pending
        if p is not None and p.done:
            p = None  # finished; its task has not resumed yet: later lines are not part of its reply
        if p is not None:
            if line == p.cmd:
                return  # echo (ATE1)
            if p.info is not None and line.startswith(p.info) and not line.startswith("+CIPRXGET: 1"):
                p.lines.append(line)
                if line.startswith("+CIPRXGET: 2,"):
                    self._raw_left = _rxget_length(line, self.rxget_link)
                return
            if _match(line, p.ok):
                self._finish(p, line, False)
                return
            if _match(line, ERRORS) or _match(line, p.fail):
                self._finish(p, line, True)
                return
        for prefix, name, exact in self.table:
            if line == prefix if exact else line.startswith(prefix):
                self.urcs[name] = self.urcs.get(name, 0) + 1
                if self.on_urc is not None:
                    self.on_urc(name, line)
                self.net.set()
                if p is not None and name in FATAL_URCS:
                    self._finish(p, line, True)
                return
        if p is not None:
            if p.first_line:
                self._finish(p, line, False)
            else:
                p.lines.append(line)
            return
        self.stray_lines += 1

    def _finish(self, p, line, error):
        p.lines.append(line)
        p.done = True
        p.error = error
        p.ev.set()

    # ---------------------------------------------------------------- commands
    async def command(self, cmd, timeout_ms=1000, ok=("OK",), fail=(), prompt=False, payload=None,
                      first_line=False):
        """Send `cmd` and return its reply lines (the terminator last).
        prompt/payload: wait for `>` then write `payload` (CIPSEND, CMGS) before the final answer.
        first_line: the first line that is neither echo nor URC is the answer (AT+CIFSR)."""
        async with self._lock:
            p = _Pending(cmd, ok, fail, prompt, first_line)
            self._pending = p
            try:
                self.stream.write(cmd.encode() + b"\r")
                deadline = ticks_add(ticks_ms(), timeout_ms)
                if prompt:
                    await self._wait(p, deadline, timeout_ms, True)
                    if not p.done:
                        self.stream.write(payload)
                await self._wait(p, deadline, timeout_ms, False)
            finally:
                self._pending = None
            if p.error:
                raise ModemError(cmd, p.lines)
            return p.lines

    async def _wait(self, p, deadline, timeout_ms, for_prompt):
        while not (p.done or (for_prompt and p.prompted)):
            left = ticks_diff(deadline, ticks_ms())
            if left <= 0:
                self.timeouts += 1
                raise ModemTimeout(p.cmd, timeout_ms)
            p.ev.clear()
            try:
                await wait_for_ms(p.ev.wait(), left)
            except TimeoutError:
                pass

    def take_rx(self):
        data = bytes(self.rx)
        self.rx = bytearray()
        return data

    def reset_input(self):
        """Forget partial input (after a power cycle the line starts afresh)."""
        self._buf = b""
        self._raw_left = 0


def _rxget_length(line, link):
    # "+CIPRXGET: 2,<len>,<remaining>" (A76XX: "2,<link>,<len>,<remaining>") -> len (0 when malformed:
    # nothing raw follows)
    parts = line[13:].split(",")
    try:
        return int(parts[1 if link else 0])
    except (ValueError, IndexError):
        return 0
