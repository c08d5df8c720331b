"""GPS receiver emulator for the bench: replays a route from tools/tracks.py as NMEA on a serial line.

    gps = GpsEmulator("/dev/pts/7", rate=10)         # any pyserial URL, or an open serial object
    gps.load(tracks.generate_route(1, "urban", 600), seed=1, noise="realistic")
    gps.start()                                      # one epoch (RMC, VTG, GGA, GSA) per 1/rate s
    gps.fix_loss(30)                                 # the next 30 epochs: no fix (tunnel, no antenna)
    gps.garbage(5)                                   # the next 5 epochs: every line corrupted
    gps.wait_done(timeout=120); gps.stop()

Without a route it behaves as a parked receiver at `position` (with a few metres of drift), its clock
starting at the host's time and advancing one second per epoch (so `rate` times faster than real time).
Route epochs keep the route's own timestamps; `time_offset_s` shifts them (a bench in simulated time can use
hil_tests/harness/gps.py, which follows the box's clock instead). Counters: `epochs_sent`, `lines_sent`,
`bytes_sent`. It only writes: a receiver configured by the host (UBX) is out of scope.
"""

import random
import threading
import time

from hil_tests.emulators.serial_line import SerialEmulator
from tools import tracks


class GpsEmulator(SerialEmulator):
    thread_name = "gps-emulator"
    read_timeout = 0.1
    write_timeout = 2
    join_timeout = 5

    def __init__(self, url_or_serial, rate=1.0, baudrate=9600, position=None, talker="GP", seed=0,
                 noise="realistic", loop=False):
        super().__init__(url_or_serial, baudrate)
        self.rate = float(rate)
        self.talker = talker
        self.loop = loop
        self.time_offset_s = 0
        self.epochs_sent = 0
        self.lines_sent = 0
        self.bytes_sent = 0
        if position is None:
            position = (tracks.PREFECTURES[0][1], tracks.PREFECTURES[0][2])
        self._position = position
        self._seed = seed
        self._noise = noise
        self._rng = random.Random("gps-emulator-%s" % seed)
        self._lock = threading.Lock()
        self._epochs = None  # list of per-second line lists from tracks.nmea_stream
        self._points = []
        self._parked_t = None  # the parked receiver's clock (epoch s), started at the first parked epoch
        self._index = 0
        self._no_fix_left = 0
        self._garbage_left = 0
        self._silent = False
        self._done = threading.Event()

    # -- what to send ---------------------------------------------------------------------------------

    def load(self, points, seed=None, noise=None, **noise_overrides):
        """Replay `points` (tracks.generate_route) from its first second, with tracks' noise model."""
        seed = self._seed if seed is None else seed
        noise = self._noise if noise is None else noise
        epochs = list(tracks.nmea_stream(points, seed, noise, talker=self.talker, **noise_overrides))
        with self._lock:
            self._epochs = epochs
            self._points = list(points)
            self._index = 0
            self._done.clear()
        return self

    def park(self, position=None):
        """Stop replaying; send a parked receiver's epochs at `position` (default: where the route ended)."""
        with self._lock:
            if position is None and self._epochs is not None and self._points:
                last = self._points[min(self._index, len(self._points) - 1)]
                position = (last[1], last[2])
            if position is not None:
                self._position = position
            self._epochs = None
            self._done.set()

    def fix_loss(self, epochs):
        """The next `epochs` epochs carry no fix (RMC status V, GGA quality 0): a tunnel, a lost antenna."""
        with self._lock:
            self._no_fix_left = int(epochs)

    def garbage(self, epochs):
        """Every line of the next `epochs` epochs is corrupted (flipped bits, cut lines, high bytes...)."""
        with self._lock:
            self._garbage_left = int(epochs)

    def silence(self, on=True):
        """A receiver that sends nothing at all (unplugged)."""
        self._silent = bool(on)

    def wait_done(self, timeout=None):
        """Wait until the loaded route has been sent completely."""
        return self._done.wait(timeout)

    # -- thread (start/stop/context manager: SerialEmulator) ---------------------------------------------

    def next_epoch(self):
        """The lines of the next epoch (advances the route); used by the thread, callable for tests."""
        with self._lock:
            if self._epochs is not None:
                point = self._points[self._index]
                lines = self._epochs[self._index]
                self._index += 1
                t = point[0] + self.time_offset_s
                if self.time_offset_s:
                    lines = _retime(lines, point[0], t)
                if self._index >= len(self._epochs):
                    if self.loop:
                        self._index = 0
                    else:  # the route is over: park where it ended, on with the route's clock
                        self._position = (point[1], point[2])
                        self._parked_t = point[0]
                        self._epochs = None
                        self._done.set()
            else:
                # parked: the receiver's clock runs `rate` times faster than ours, one second per epoch
                if self._parked_t is None:
                    self._parked_t = int(time.time())
                self._parked_t += 1
                t = self._parked_t + self.time_offset_s
                lines = self._parked(t)
            if self._no_fix_left > 0:
                self._no_fix_left -= 1
                lines = tracks.epoch_sentences(self.talker, t, 0.0, 0.0, 0.0, 0.0, fix=False)
            if self._garbage_left > 0:
                self._garbage_left -= 1
                lines = [self.corrupt_line(line) for line in lines]
        return lines

    def _parked(self, t):
        lat, lon = self._position
        # the receiver's drift while parked: a few metres, slowly
        jitter = 0.000003
        lat += self._rng.uniform(-jitter, jitter)
        lon += self._rng.uniform(-jitter, jitter)
        return tracks.epoch_sentences(self.talker, t, lat, lon, abs(self._rng.gauss(0, 0.05)), 0.0, fix=True,
                                      hdop=1.0)

    def corrupt_line(self, line):
        corrupted, _consumed = tracks.corrupt_line(self._rng, line, None)
        return corrupted

    def _run(self):
        period = 1.0 / self.rate
        deadline = time.monotonic()
        while not self._stop.is_set():
            lines = self.next_epoch()
            if not self._silent:
                data = b"".join(lines)
                if self._write(data):
                    self.lines_sent += len(lines)
                    self.bytes_sent += len(data)
                self.epochs_sent += 1
            deadline += period
            delay = deadline - time.monotonic()
            if delay < -1.0:
                deadline = time.monotonic()  # fell behind (a stopped reader): do not burst
            self._stop.wait(max(0.0, delay))


def _retime(lines, old_t, new_t):
    """Replace the time (and RMC date) fields of an epoch's lines, recomputing the checksums."""
    old_hms, old_dmy = tracks.time_fields(old_t)
    new_hms, new_dmy = tracks.time_fields(new_t)
    out = []
    for line in lines:
        if line.startswith(b"$") and b"*" in line:
            body = line[1:line.rindex(b"*")].decode("latin-1")
            body = body.replace(old_hms, new_hms).replace("," + old_dmy + ",", "," + new_dmy + ",")
            out.append(tracks.sentence(body.encode("latin-1")))
        else:
            out.append(line)
    return out
