# Wall-clock time on a box that loses it at every power cut.
#
# The HAL clock gives epoch seconds, or 0 while unknown (after a power loss, before a GPS fix or a server
# answer). This wrapper adds:
# - a persisted floor: the last time known for sure, saved at every set and every hour; after a reboot
#   "now" is at least floor + uptime. That lower bound stamps records made while the time is unknown
#   (and the EV_CLOCK_SET event journaled when the time comes back carries the correction, so the server
#   can move those records), and the access rule for an unknown clock uses it (see app/access.py);
# - a plausibility check: a time before 2024 or far behind the floor is refused.
from app import store

EPOCH_MIN = 1704067200  # 2024-01-01T00:00:00Z: anything earlier is a receiver or server fault
BACKWARD_S = 86400  # a new time this far before the floor is refused
FLOOR_EVERY_MS = 3600 * 1000
FILE = "clock"


class Clock:
    def __init__(self, hal_clock, fs):
        self.hal = hal_clock
        self.fs = fs
        self.floor = 0
        self.boot_ms = 0
        self._saved_ms = 0

    def start(self):
        value = store.read(self.fs, FILE, 0)
        self.floor = value if isinstance(value, int) and value > 0 else 0
        self.boot_ms = self.hal.ticks_ms()
        self._saved_ms = self.boot_ms

    def ticks_ms(self):
        return self.hal.ticks_ms()

    def uptime_s(self):
        return (self.hal.ticks_ms() - self.boot_ms) // 1000

    def known(self):
        return self.hal.time() >= EPOCH_MIN

    def now(self):
        """Epoch seconds, or 0 when unknown."""
        t = self.hal.time()
        return t if t >= EPOCH_MIN else 0

    def lower_bound(self):
        """A time now is surely not before: now if known, else floor + uptime (0 if never known)."""
        t = self.now()
        if t:
            return t
        return self.floor + self.uptime_s() if self.floor else 0

    def stamp(self):
        """Time for a journal record: the real time, else the lower bound, else the uptime."""
        return self.lower_bound() or self.uptime_s()

    def set(self, epoch):
        """Take a time from GPS or the server; returns the correction in seconds, or None if refused."""
        if not isinstance(epoch, int) or epoch < EPOCH_MIN or epoch < self.floor - BACKWARD_S:
            return None
        before = self.stamp()
        self.hal.set_time(epoch)
        self.save()
        return epoch - before

    def save(self):
        t = self.now()
        if t:
            self.floor = t
            self._saved_ms = self.hal.ticks_ms()
            store.write(self.fs, FILE, t)

    def tick(self):
        """Save the floor now and then (an hour of ticks) so a power cut loses little of it."""
        if self.known() and self.hal.ticks_ms() - self._saved_ms >= FLOOR_EVERY_MS:
            self.save()
