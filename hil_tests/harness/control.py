"""Bench side of the Unix HAL control channel (docs/architecture.md, docs/bench.md).

The box writes `BOOT <version>`, `PIN <name> 0|1` and other lines; the bench writes `SET ignition 0|1`,
`SET supply_mv N`, `PING`. A reader thread timestamps every line the box sends, keeps the current pin
levels and the whole history, so a test can wait for an edge and count buzzer pulses.
"""

import threading
import time

import serial

# Buzzer pulses of one feedback pattern follow each other within this gap (real ms); a longer silence
# ends the pattern. The firmware's pulses are short (about 100 ms at clock factor 1).
PATTERN_GAP_S = 0.8

GRANTED = 1
NO_RESERVATION = 2
DENIED = 3
NOT_READY = 4


class Event:
    __slots__ = ("t", "kind", "name", "value", "line")

    def __init__(self, t, kind, name, value, line):
        self.t = t
        self.kind = kind
        self.name = name
        self.value = value
        self.line = line

    def __repr__(self):
        return "Event(%.3f %s)" % (self.t, self.line)


class ControlClient:
    """Opens the bench end of a box's control line (a pyserial URL or path)."""

    def __init__(self, url, name="box"):
        self.name = name
        self.url = url
        self._serial = serial.serial_for_url(url, baudrate=115200, timeout=0.2)
        self._lock = threading.Condition()
        self.events = []
        self.pins = {}
        self.boots = 0
        self.version = None
        self.inputs = {}  # levels the bench holds on the box's inputs (re-sent before every boot)
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="control-" + name, daemon=True)
        self._thread.start()

    # --- reading -------------------------------------------------------------------------------
    def _run(self):
        buf = b""
        while not self._closed:
            try:
                # read(1) returns as soon as a byte comes (read(256) would wait for the timeout).
                chunk = self._serial.read(max(1, self._serial.in_waiting))
            except (serial.SerialException, OSError, TypeError):
                if self._closed:
                    return
                time.sleep(0.05)
                continue
            if not chunk:
                continue
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                self._line(raw.decode("ascii", "replace").strip())
            if len(buf) > 4096:
                buf = b""

    def _line(self, line):
        if not line:
            return
        now = time.monotonic()
        parts = line.split()
        kind = parts[0]
        name = parts[1] if len(parts) > 1 else None
        value = None
        if kind == "PIN" and len(parts) >= 3:
            try:
                value = int(parts[2])
            except ValueError:
                value = None
        elif kind == "BOOT":
            value = name
        elif len(parts) >= 3:
            value = " ".join(parts[2:])
        with self._lock:
            if kind == "PIN" and value is not None:
                self.pins[name] = value
            elif kind == "BOOT":
                self.boots += 1
                self.version = name
            self.events.append(Event(now, kind, name, value, line))
            self._lock.notify_all()

    def outputs_dead(self):
        """The box lost power: every output it drove is now 0 (recorded as `PIN <name> 0 (dead)` events)."""
        now = time.monotonic()
        with self._lock:
            for name, value in list(self.pins.items()):
                if value:
                    self.pins[name] = 0
                    self.events.append(Event(now, "PIN", name, 0, "PIN %s 0 (dead)" % name))
            self._lock.notify_all()

    def mark(self):
        """A position in the history: later waits and counts look only at what came after it."""
        with self._lock:
            return len(self.events)

    def lines(self, since=0):
        with self._lock:
            return [e.line for e in self.events[since:]]

    def wait_for(self, predicate, timeout, since=None):
        """Wait until an event after `since` satisfies predicate(event); return it, or None on timeout."""
        deadline = time.monotonic() + timeout
        index = self.mark() if since is None else since
        with self._lock:
            while True:
                while index < len(self.events):
                    event = self.events[index]
                    index += 1
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._lock.wait(remaining)

    def wait_pin(self, name, value, timeout, since=None):
        """Wait for `PIN name value` after `since`; return the event or None."""
        return self.wait_for(lambda e: e.kind == "PIN" and e.name == name and e.value == value, timeout, since)

    def wait_line(self, prefix, timeout, since=None):
        return self.wait_for(lambda e: e.line.startswith(prefix), timeout, since)

    def wait_boot(self, timeout, since=None):
        return self.wait_for(lambda e: e.kind == "BOOT", timeout, since)

    def pin(self, name, default=None):
        with self._lock:
            return self.pins.get(name, default)

    def pin_history(self, name, since=0, until=None):
        """[(t, value)] of the pin's changes between two marks."""
        with self._lock:
            return [(e.t, e.value) for e in self.events[since:until] if e.kind == "PIN" and e.name == name]

    def buzzer_pulses(self, since, gap_s=PATTERN_GAP_S, timeout=5.0):
        """Count the buzzer pulses (rising edges) of the first feedback pattern after `since`.

        Waits up to `timeout` for the first pulse, then until the buzzer has been quiet for `gap_s`.
        Returns 0 when no pulse came.
        """
        first = self.wait_pin("buzzer", 1, timeout, since)
        if first is None:
            return 0
        while True:
            with self._lock:
                rises = [e for e in self.events[since:] if e.kind == "PIN" and e.name == "buzzer" and e.value == 1]
                last_buzz = max(
                    [e.t for e in self.events[since:] if e.kind == "PIN" and e.name == "buzzer"] or [first.t]
                )
            if time.monotonic() - last_buzz >= gap_s and self.pin("buzzer", 0) == 0:
                return len(rises)
            time.sleep(0.05)

    # --- writing -------------------------------------------------------------------------------
    def send(self, line):
        self._serial.write((line + "\n").encode("ascii"))
        self._serial.flush()

    def set_ignition(self, on):
        self.inputs["ignition"] = 1 if on else 0
        self.send("SET ignition %d" % self.inputs["ignition"])

    def set_supply_mv(self, mv):
        self.inputs["supply_mv"] = int(mv)
        self.send("SET supply_mv %d" % mv)

    def resend_inputs(self):
        """Input lines are levels: a box that boots must see them at once. Sent before the process starts,
        they wait in the pty until the firmware opens its end (the Unix HAL does not flush on open)."""
        for name, value in self.inputs.items():
            self.send("SET %s %d" % (name, value))

    def ping(self, timeout=2.0):
        since = self.mark()
        self.send("PING")
        return self.wait_line("PONG", timeout, since) is not None

    def close(self):
        self._closed = True
        try:
            self._serial.close()
        except Exception:
            pass
        self._thread.join(1)
