"""The GPS emulator on a real pseudo-terminal: what the box's GPS UART would receive, read back from the
master side and decoded with the firmware's own NMEA parser (and odometer)."""

import os
import select
import sys
import time

from hil_tests.emulators.gps import GpsEmulator

from tools import tracks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from app.odometer import Odometer  # noqa: E402
from drivers.nmea import NmeaParser  # noqa: E402


class PtyReader:
    """The master side of a pty pair: the emulator opens the slave by path, as it would a serial port."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        self.path = os.ttyname(self.slave)
        self.buffer = b""

    def lines(self, timeout, until=None):
        """Complete lines arriving within `timeout` s. Stops 0.3 s after `until()` turns true, or (without
        `until`) after a quiet 0.5 s once something arrived. Reads while the emulator writes: a pty buffers
        only a few KB."""
        out = []
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if until is not None and until():
                end = min(end, time.monotonic() + 0.3)
                until = None
            ready, _, _ = select.select([self.master], [], [], 0.1 if until else 0.5)
            if not ready:
                if until is None and out:
                    break
                continue
            self.buffer += os.read(self.master, 4096)
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                out.append(line + b"\n")
        return out

    def close(self):
        os.close(self.master)
        os.close(self.slave)


def decode(lines):
    parser = NmeaParser()
    odo = Odometer()
    fixes = []
    for line in lines:
        fix = parser.feed(line)
        if fix is not None:
            fixes.append(fix)
            odo.update(fix)
    return parser, fixes, odo


def test_replays_a_route_faster_than_real_time_and_the_firmware_measures_it():
    pty = PtyReader()
    points = tracks.generate_route(3, "urban", 120)
    gps = GpsEmulator(pty.path, rate=100)
    gps.load(points, seed=3, noise="realistic", garbage=0.0, tunnels_per_h=0.0, canyon_per_h=0.0)
    try:
        gps.start()
        lines = pty.lines(timeout=20, until=lambda: gps.wait_done(0))
        assert gps.wait_done(0)
    finally:
        gps.stop()
        pty.close()
    parser, fixes, odo = decode(lines)
    assert parser.crc_fails == 0 and parser.rejected == 0
    assert len(fixes) >= len(points) - 2
    assert fixes[0].t == points[0].t and fixes[0].valid
    true_m = tracks.true_length_m(points)
    assert abs(odo.total_m - true_m) <= max(5.0, true_m * 0.01)


def test_fix_loss_and_garbage_are_injected_on_demand():
    pty = PtyReader()
    gps = GpsEmulator(pty.path, rate=50, position=(45.7597, 4.8426))
    try:
        gps.start()
        pty.lines(timeout=0.5)  # parked epochs
        gps.fix_loss(10)
        gps.garbage(10)
        start = gps.epochs_sent
        lines = pty.lines(timeout=5, until=lambda: gps.epochs_sent >= start + 30)
    finally:
        gps.stop()
        pty.close()
    parser, fixes, _odo = decode(lines)
    invalid = [f for f in fixes if not f.valid]
    assert parser.crc_fails + parser.rejected >= 10  # one corrupted line per line of 10 epochs, at least
    assert len(fixes) > 0 and all(abs(f.lat - 457597000) < 1000 for f in fixes if f.valid)
    # a no-fix epoch has no position: the parser emits nothing for it, so valid fixes resume after a hole
    assert not invalid
    assert gps.epochs_sent >= 20


def test_next_epoch_without_a_line_sends_a_parked_receiver_and_retimes_routes():
    gps = GpsEmulator("loop://", position=(45.7597, 4.8426))
    parser = NmeaParser()
    lines = gps.next_epoch() + gps.next_epoch()
    fixes = [f for f in (parser.feed(line) for line in lines) if f is not None]
    assert fixes and fixes[0].valid and abs(fixes[0].lat - 457597000) < 1000
    points = tracks.generate_route(1, "highway", 5)
    gps.time_offset_s = 86400
    gps.load(points, noise="none")
    parser = NmeaParser()
    got = []
    for _ in range(6):
        for line in gps.next_epoch():
            fix = parser.feed(line)
            if fix is not None:
                got.append(fix)
    assert parser.crc_fails == 0 and got[0].t == points[0].t + 86400
    assert gps.wait_done(0)
