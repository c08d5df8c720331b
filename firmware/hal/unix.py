# The box on the MicroPython Unix port (the bench): UARTs on pty paths, pins on a control channel,
# a data directory as the flash, a watchdog that kills the process, a clock that can run fast.
# Control channel protocol: docs/bench.md ("Control channel").
import os
import sys
import time

import select
import termios

from hal.fsdir import DirFS
from hal.stream import LineStream

try:
    import _thread
except ImportError:
    _thread = None  # type: ignore

import asyncio

# MicroPython names; the CPython fallbacks let the unit tests exercise this module under pytest too.
_sleep_ms = getattr(asyncio, "sleep_ms", None) or (lambda ms: asyncio.sleep(ms * 0.001))  # float-ok: CPython
_ticks_ms = getattr(time, "ticks_ms", None) or (lambda: time.monotonic_ns() // 1000000)  # type: ignore[attr-defined]
_ticks_diff = getattr(time, "ticks_diff", None) or (lambda a, b: a - b)
_ticks_us = getattr(time, "ticks_us", None) or (lambda: time.monotonic_ns() // 1000)  # type: ignore[attr-defined]
_sleep_ms_blocking = getattr(time, "sleep_ms", None) or (lambda ms: time.sleep(ms * 0.001))  # float-ok: CPython

# Linux termios: index of the control characters in tcgetattr()'s list, and VMIN/VTIME in it.
_CC = 6
_VTIME = 5
_VMIN = 6

OUTPUTS = ("relay", "led", "buzzer", "modem_power")
INPUTS = ("ignition",)

# reset causes, numbered as MicroPython's machine.*_RESET on the ESP32
PWRON_RESET = 1
WDT_RESET = 3


def open_raw(path):
    """Open a tty path read/write, unbuffered, raw, with VMIN=0/VTIME=0 so read(n) never blocks.

    Raw mode is set by hand (cfmakeraw's flags, Linux values) with TCSANOW: termios.setraw() here
    flushes the input queue, which would drop what the peer sent before the box opened the line."""
    f = open(path, "r+b", buffering=0)
    fd = f.fileno()
    attrs = termios.tcgetattr(fd)
    attrs[0] &= ~(0o1 | 0o2 | 0o10 | 0o40 | 0o100 | 0o200 | 0o400 | 0o2000)  # IGNBRK..IXON
    attrs[1] &= ~0o1  # OPOST
    attrs[2] = (attrs[2] & ~(0o60 | 0o400)) | 0o60  # CS8, no parity
    attrs[3] &= ~(0o10 | 0o100 | 0o2 | 0o1 | 0o100000)  # ECHO, ECHONL, ICANON, ISIG, IEXTEN
    cc = attrs[_CC]
    cc[_VMIN] = 0
    cc[_VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    return f


class PtyUart(LineStream):
    """The stream contract over a raw non-blocking pty."""

    def __init__(self, path):
        self.path = path
        self.f = open_raw(path)
        super().__init__(self.f)

    def close(self):
        self.f.close()


class Control:
    """The control line: `SET ignition 0|1`, `SET supply_mv N`, `PING`, `DUTY` in; `BOOT`, `PIN`, ... out."""

    def __init__(self, path, board):
        self.board = board
        self.uart = PtyUart(path) if path else None
        self.inputs = {"ignition": 0}
        self.supply_mv = 12600
        self.unknown = 0

    def send(self, line):
        if self.uart is not None:
            self.uart.write(line.encode() + b"\n")

    def poll(self):
        if self.uart is None:
            return
        while True:
            raw = self.uart.readline()
            if raw is None:
                return
            self._line(raw.decode("ascii", "ignore").strip() if hasattr(raw, "decode") else "")

    def _line(self, line):
        parts = line.split()
        if not parts:
            return
        try:
            if parts[0] == "PING":
                self.send("PONG")
            elif parts[0] == "SET" and len(parts) == 3 and parts[1] in INPUTS:
                self.inputs[parts[1]] = 1 if int(parts[2]) else 0
            elif parts[0] == "SET" and len(parts) == 3 and parts[1] == "supply_mv":
                self.supply_mv = int(parts[2])
            elif parts[0] == "DUTY":
                self.send(self.board.duty_line())
            elif parts[0] == "MEM":
                self.send(self.board.mem_line())
            else:
                self.unknown += 1
        except ValueError:
            self.unknown += 1


class OutPin:
    def __init__(self, name, control):
        self.name = name
        self.control = control
        self.level = 0

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        if v != self.level:
            self.level = v
            self.control.send("PIN %s %d" % (self.name, v))
        return None


class InPin:
    def __init__(self, name, control):
        self.name = name
        self.control = control

    def value(self, v=None):
        self.control.poll()
        return self.control.inputs.get(self.name, 0)


class FastClock:
    """Simulated time: ticks_ms() and time() run `factor` times faster than real time; sleeps shrink
    by the same factor. ticks_ms() never wraps (integers are unbounded here). The time is unknown (0)
    until GPS or the server sets it, as on a box after a power cut."""

    def __init__(self, factor=1):
        self.factor = factor if isinstance(factor, int) and factor >= 1 else 1
        self._last_raw = _ticks_ms()
        self._real_ms = 0
        self._epoch_ms = None  # epoch ms at ticks 0

    def real_ms(self):
        raw = _ticks_ms()
        self._real_ms += _ticks_diff(raw, self._last_raw)
        self._last_raw = raw
        return self._real_ms

    def ticks_ms(self):
        return self.real_ms() * self.factor

    def time(self):
        if self._epoch_ms is None:
            return 0
        return (self._epoch_ms + self.ticks_ms()) // 1000

    def set_time(self, epoch):
        self._epoch_ms = epoch * 1000 - self.ticks_ms()

    def sleep_ms(self, ms):
        """Awaitable: sleep `ms` simulated milliseconds."""
        real = ms // self.factor
        return _sleep_ms(real if real > 0 else (1 if ms > 0 else 0))


class Watchdog:
    """Ends the process (SIGKILL, as a hardware watchdog resets the chip) when not fed in time.
    timeout_ms is real time. A thread checks; a hung event loop cannot stop it."""

    def __init__(self, timeout_ms, board):
        self.timeout_ms = timeout_ms
        self.board = board
        self.fed = _ticks_ms()
        if _thread is not None:
            _thread.start_new_thread(self._run, ())

    def feed(self):
        self.fed = _ticks_ms()

    def _run(self):
        while True:
            _sleep_ms_blocking(200)
            if _ticks_diff(_ticks_ms(), self.fed) > self.timeout_ms:
                self.board.watchdog_fired()


_io_queue = getattr(getattr(asyncio, "core", None), "_io_queue", None)  # MicroPython asyncio's poller


def _readable(f):
    """Awaitable (MicroPython asyncio): resumes when the file has a byte to read."""
    yield _io_queue.queue_read(f)  # type: ignore[union-attr]


async def _set_when_readable(f, event):
    await _readable(f)
    event.set()


async def wait_input(uart, event, ms):
    """Up to `ms` real milliseconds; returns early when `event` is set or the line `uart` has a byte
    (the event loop's poll() wakes on it, no periodic wake-up)."""
    watcher = None
    if uart is not None and _io_queue is not None:
        watcher = asyncio.create_task(_set_when_readable(uart.f, event))
    try:
        await asyncio.wait_for_ms(event.wait(), ms)  # type: ignore[attr-defined]
    except asyncio.TimeoutError:
        pass
    finally:
        if watcher is not None:
            watcher.cancel()


def _proc_stat():
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is the state (field 3); utime and stime are fields 14 and 15 (clock ticks, 100 Hz)
        return int(fields[11]) + int(fields[12])
    except (OSError, ValueError, IndexError):
        return 0


def _pid():
    try:
        with open("/proc/self/stat") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError):
        return 0


class Board:
    name = "unix"

    def __init__(self, config):
        self.config = config
        self.control = Control(config.get("control") or "", self)
        self.clock = FastClock(config.get("clock_factor", 1))
        root = config.get("data_dir") or "data"
        _makedirs(root)
        self.fs = DirFS(root)
        self._uarts = {}
        self._pins = {}  # type: dict
        for name in OUTPUTS:
            self._pins[name] = OutPin(name, self.control)
        for name in INPUTS:
            self._pins[name] = InPin(name, self.control)
        self._cpu0 = _proc_stat()
        self._real0 = self.clock.real_ms()
        self.asleep_us = 0  # real time spent in doze(), in µs: a sleep on a fast clock lasts a few ms
        self.dozes = 0
        self._cause = self._read_cause()

    # reset cause: a marker file says whether the last run ended by the watchdog
    def _read_cause(self):
        cause = WDT_RESET if self.fs.exists(".wdt") else PWRON_RESET
        if cause == WDT_RESET:
            self.fs.remove(".wdt")
        return cause

    def reset_cause(self):
        return self._cause

    def uart(self, name):
        if name not in self._uarts:
            path = (self.config.get("uarts") or {}).get(name)
            if not path:
                return None
            self._uarts[name] = PtyUart(path)
        return self._uarts[name]

    def pin(self, name):
        return self._pins[name]

    def watchdog(self, timeout_ms):
        return Watchdog(timeout_ms, self)

    def watchdog_fired(self):
        try:
            f = self.fs.open(".wdt", "wb")
            f.write(b"1")
            f.close()
            self.control.send("WATCHDOG")
        except OSError:
            pass
        os.system("kill -9 %d" % _pid())

    def supply_mv(self):
        return self.control.supply_mv

    async def modem_power(self, on, pulse_ms=1100):
        """The modem driver's `power`: the modem_power pin (observable on the control line). Switching on
        then holds for the power-key press as the ESP32 does (box time), awaited: other tasks run meanwhile."""
        self._pins["modem_power"].value(1 if on else 0)
        if on:
            await self.clock.sleep_ms(pulse_ms)

    def poll(self):
        """Read the control line (the control task calls this often)."""
        self.control.poll()

    def wait_input(self, event, ms):
        """Awaitable: the parked control task's sleep, up to `ms` real ms, ended early by `event` (a tap)
        or by a byte on the control line (ignition, supply, PING, DUTY)."""
        return wait_input(self.control.uart, event, ms)

    def doze(self, box_ms):
        """The parked box's sleep (a light sleep on the ESP32): a blocking wait, so no task runs, for up to
        `box_ms` of the box's clock, ended by a byte on the control line (ignition, PING, DUTY) or from the
        reader (an armed PN532 answers when a card comes, an RDM6300 sends by itself). GPS lines queued
        meanwhile are stale: dropped. The time asleep is counted for the DUTY report."""
        real = max(1, box_ms // self.clock.factor)  # main.py caps box_ms inside the watchdog's timeout
        poller = select.poll()
        for uart in (self.control.uart, self._uarts.get("reader")):
            if uart is not None:
                poller.register(uart.f, select.POLLIN)
        start = _ticks_us()
        poller.poll(real)
        self.asleep_us += _ticks_diff(_ticks_us(), start)
        self.dozes += 1
        gps = self._uarts.get("gps")
        if gps is not None:
            gps.discard()

    def duty_line(self):
        """`DUTY <cpu_ms> <real_ms> <sim_ms> <asleep_ms> <dozes>`: CPU time used and wall time, real
        milliseconds since boot, the same wall time in simulated milliseconds, the real milliseconds spent
        asleep in doze() and how many times the box slept (docs/bench.md)."""
        cpu = (_proc_stat() - self._cpu0) * 10
        real = self.clock.real_ms() - self._real0
        return "DUTY %d %d %d %d %d" % (cpu, real, real * self.clock.factor, self.asleep_us // 1000, self.dozes)

    def mem_line(self):
        """`MEM <free> <allocated>`: heap bytes after a collection (for the heap bench)."""
        import gc

        gc.collect()
        free = getattr(gc, "mem_free", lambda: -1)()
        alloc = getattr(gc, "mem_alloc", lambda: -1)()
        return "MEM %d %d" % (free, alloc)

    def announce(self, version):
        self.control.send("BOOT %s" % version)


def _makedirs(path):
    parts = path.split("/")
    current = "" if not path.startswith("/") else "/"
    for part in parts:
        if not part:
            continue
        current = current + part if current.endswith("/") or not current else current + "/" + part
        try:
            os.mkdir(current)
        except OSError:
            pass


def config_path(argv=None):
    argv = sys.argv if argv is None else argv
    for i in range(len(argv) - 1):
        if argv[i] == "--config":
            return argv[i + 1]
    return "config.json"
