# Wall-clock time on a box that loses it at every power cut, and whose GPS time anyone can forge.
#
# The HAL clock gives epoch seconds, or 0 while unknown (after a power loss, before a GPS fix or a server
# answer). Two sources set it:
# - the server's time, from an authenticated answer bound to this box's request (its counter, or the
#   RESYNC nonce): the reference. It is always taken, backwards too, so it repairs whatever a GPS time did;
# - the GPS time: NOT authenticated (a cheap spoofer or a wire on the GPS line forges it). It only refines
#   the clock inside a window around the trusted time (below) and never moves the persisted floor.
#
# The trusted time: the last server time plus the ticks elapsed since (ticks are the box's own, nobody
# outside can move them); after a reboot without a server answer yet, the persisted floor plus the uptime.
# The GPS time is taken when it lies in:
# - [trusted - GPS_SLACK_S - drift, trusted + GPS_SLACK_S + drift] when a server time came since boot
#   (drift: 1 % of the time since that answer, for the tick source's own error);
# - [trusted - GPS_SLACK_S, trusted + REBOOT_AHEAD_S] after a reboot (the box may have been off a while,
#   the floor is saved hourly): further ahead, the box waits for the server (the unknown-clock rule of
#   app/access.py applies meanwhile);
# - anywhere after EPOCH_MIN on a box that never received a server time (fresh from flashing, the bench):
#   such a box holds no allow-list (it only comes in an answer, with the time), so the GPS time only stamps
#   its journal until the first answer, which then sets the clock and journals the correction.
#
# The persisted floor (file "clock": [floor, synced]) is the trusted time, saved at every server time and
# every hour; `synced` is the last server time, so the box knows how long it has been out of touch even
# across reboots (app/access.py expires role and on-the-spot entries after `offline_days`). The floor
# stamps records made while the time is unknown (EV_CLOCK_SET carries the correction when it comes back).
from app import store

EPOCH_MIN = 1704067200  # 2024-01-01T00:00:00Z: anything earlier is a receiver or server fault
GPS_SLACK_S = 300  # how far a GPS time may move the clock from the trusted time
DRIFT_DIV = 100  # plus 1 % of the time since the last server answer (tick drift while dozing)
REBOOT_AHEAD_S = 3 * 3600  # after a reboot, a GPS time up to this far ahead of floor + uptime is taken
SERVER_SLACK_S = 30  # a server time this close to the clock leaves it alone (GPS refined it)
FLOOR_EVERY_MS = 3600 * 1000
FILE = "clock"


class Clock:
    def __init__(self, hal_clock, fs):
        self.hal = hal_clock
        self.fs = fs
        self.floor = 0  # trusted time last saved (persisted)
        self.synced = 0  # last server time (persisted), 0 = never
        self.boot_floor = 0  # the floor read at start
        self.boot_ms = 0
        self.anchor_t = 0  # last server time since boot, 0 = none yet
        self.anchor_ms = 0  # ticks when it came
        self.gps_refused = 0
        self._saved_ms = 0

    def start(self):
        value = store.read(self.fs, FILE, 0)
        if isinstance(value, int):  # the format before the server/GPS split: take it as both
            value = [value, value]
        floor, synced = value if isinstance(value, list) and len(value) == 2 else (0, 0)
        self.floor = floor if isinstance(floor, int) and floor > 0 else 0
        self.synced = synced if isinstance(synced, int) and 0 < synced <= self.floor else 0
        self.boot_floor = self.floor
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

    def trusted(self):
        """The time from the last server answer and the box's own ticks, 0 if no server time ever."""
        if self.anchor_t:
            return self.anchor_t + (self.hal.ticks_ms() - self.anchor_ms) // 1000
        return self.boot_floor + self.uptime_s() if self.boot_floor else 0

    def lower_bound(self):
        """A time now is surely not before: now if known, else floor + uptime (0 if never known)."""
        return self.now() or self.trusted()

    def stamp(self):
        """Time for a journal record: the real time, else the lower bound, else the uptime."""
        return self.lower_bound() or self.uptime_s()

    def offline_s(self):
        """Seconds since the last server time (a lower bound across reboots), or None if never."""
        if not self.synced:
            return None
        age = self.trusted() - self.synced
        return age if age > 0 else 0

    def gps_window(self):
        """(low, high) epochs a GPS time must lie in; (0, 0) when no server time was ever received."""
        ref = self.trusted()
        if not ref:
            return 0, 0
        if self.anchor_t:
            slack = GPS_SLACK_S + (self.hal.ticks_ms() - self.anchor_ms) // 1000 // DRIFT_DIV
            return ref - slack, ref + slack
        return ref - GPS_SLACK_S, ref + REBOOT_AHEAD_S

    def from_server(self, epoch):
        """An authenticated server time: always the reference. Returns the correction made to the clock
        in seconds, or None when none was needed (within SERVER_SLACK_S) or the time is implausible."""
        if not isinstance(epoch, int) or epoch < EPOCH_MIN:
            return None
        self.anchor_t = epoch
        self.anchor_ms = self.hal.ticks_ms()
        self.synced = epoch
        now = self.now()
        correction = None
        if not now or abs(now - epoch) > SERVER_SLACK_S:
            correction = epoch - self.stamp()
            self.hal.set_time(epoch)
        self.save()
        return correction

    def from_gps(self, epoch):
        """A GPS time: taken inside gps_window() only, never saved as the floor. Returns the correction
        in seconds, or None if refused."""
        if not isinstance(epoch, int) or epoch < EPOCH_MIN:
            return None
        low, high = self.gps_window()
        if low and not low <= epoch <= high:
            self.gps_refused += 1
            return None
        before = self.stamp()
        self.hal.set_time(epoch)
        return epoch - before

    def save(self):
        t = self.trusted()
        if t:
            self.floor = t
            self._saved_ms = self.hal.ticks_ms()
            store.write(self.fs, FILE, [t, self.synced])

    def tick(self):
        """Save the floor now and then (an hour of ticks) so a power cut loses little of it."""
        if self.hal.ticks_ms() - self._saved_ms >= FLOOR_EVERY_MS:
            self.save()
