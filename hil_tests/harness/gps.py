"""GPS feed of a box: NMEA from tools/tracks.py on the box's GPS line, in simulated time.

Parked, it sends one epoch at a fixed place (with the receiver's drift) about every `parked_period_s`
real seconds; `drive(route)` plays a route second by second at the simulated clock's pace (a route of
20 simulated minutes takes 20 real seconds at factor 60); `off()` silences the receiver (no antenna).
The route's own timestamps are replaced by simulated time, so box, server and GPS agree on the date.
"""

import threading
import time

import serial

from tools import tracks

TICK_S = 0.05


class GpsFeed:
    def __init__(self, url, clock, position=(tracks.PREFECTURES[0][1], tracks.PREFECTURES[0][2]), seed=0,
                 noise="realistic", parked_period_s=0.5, baudrate=9600):
        self.url = url
        self.clock = clock
        self.position = position
        self.seed = seed
        self.noise = noise
        self.parked_period_s = parked_period_s
        self.enabled = True
        self.epochs_sent = 0
        self._serial = serial.serial_for_url(url, baudrate=baudrate, timeout=0.1)
        self._lock = threading.Lock()
        self._route = None  # (list of per-second line lists, sim start, done event)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gps", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2)
        try:
            self._serial.close()
        except Exception:
            pass

    close = stop

    def off(self):
        self.enabled = False

    def on(self):
        self.enabled = True

    def drive(self, route, seed=None, noise=None, wait=True):
        """Play `route` (tracks.generate_route points) from now on; return the event set when it ends."""
        seed = self.seed if seed is None else seed
        start = int(self.clock.now()) + 1
        route = retimed(route, start)
        batches = list(tracks.nmea_stream(route, seed=seed, noise=noise or self.noise))
        done = threading.Event()
        with self._lock:
            self._route = (batches, start, done, route)
        if wait:
            done.wait()
        return done

    def _write(self, lines):
        try:
            self._serial.write(b"".join(lines))
        except (serial.SerialException, OSError):
            pass

    def _parked_lines(self, t):
        lat, lon = self.position
        return tracks.epoch_sentences("GP", int(t), lat, lon, 0.0, 0.0, fix=True, hdop=1.0)

    def _run(self):
        next_parked = 0.0
        sent_index = 0
        while not self._stop.is_set():
            now_real = time.monotonic()
            with self._lock:
                route = self._route
            if route is not None:
                batches, sim_start, done, points = route
                elapsed = int(self.clock.now() - sim_start)
                upto = min(len(batches), elapsed + 1)
                while sent_index < upto:
                    if self.enabled:
                        self._write(batches[sent_index])
                        self.epochs_sent += 1
                    sent_index += 1
                if sent_index >= len(batches):
                    last = points[-1]
                    self.position = (last.lat, last.lon)
                    with self._lock:
                        if self._route is route:
                            self._route = None
                    sent_index = 0
                    done.set()
            elif now_real >= next_parked:
                next_parked = now_real + self.parked_period_s
                if self.enabled:
                    self._write(self._parked_lines(self.clock.now()))
                    self.epochs_sent += 1
            time.sleep(TICK_S)


def retimed(route, start_epoch):
    """The same route with its timestamps moved to start at `start_epoch` (simulated time)."""
    out = tracks.Route(p._replace(t=int(start_epoch) + i) for i, p in enumerate(route))
    if hasattr(route, "length_m"):
        out.length_m = route.length_m
    return out


def route(seed, kind="urban", duration_s=900, start=None):
    """A generated route (its timestamps are replaced when it is driven)."""
    return tracks.generate_route(seed, kind=kind, duration_s=duration_s, start=start)


def open_gps(url, clock, **kwargs):
    return GpsFeed(url, clock, **kwargs).start()
