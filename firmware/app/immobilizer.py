# The immobilizer: a relay in the starter circuit (relay pin 1 = cranking blocked, 0 = released).
#
# Two states, persisted (write then rename) on every change so they survive a reboot:
#   ARMED     the starter is blocked (once it is safe to block, see below);
#   RELEASED  a granted badge (or a server release) let the car start; a trip is open.
# While RELEASED an arm request may be pending (badge-out, start window or grace time over): the box
# goes to ARMED as soon as it is safe, and the trip ends at that moment (the kilometres driven until the
# engine stops belong to it).
#
# The invariant, enforced in one place (_drive): the relay output never goes from 0 (released) to 1
# (blocked) while the ignition is on or the GPS speed is above `moving_mms`. Whatever else happens (a
# reboot, a watchdog reset, a sync, a server command, bad input), the worst outcome is a relay that stays
# released a little longer. At boot the relay pin starts released (GPIO reset state) and the persisted
# state is applied through the same guard, so a reset while driving cannot stop the engine.
# An unknown speed (no GPS fix) counts as "moving" for SETTLE_MS after boot (time for the receiver to
# report, so a reset while coasting does not block), then no longer prevents blocking: the ignition
# sense alone says the engine is off.
# The same holds after the ignition goes off: a speed measured while the engine ran says nothing about
# the roll-out, so blocking waits for a fix taken after the ignition went off (or SETTLE_MS without one).
from app import store
from protocol import codes

SETTLE_MS = 15000
ARMED = "armed"
RELEASED = "released"
FILE = "imm"


class Immobilizer:
    def __init__(self, relay, settings, fs, on_change=None):
        self.relay = relay  # a pin: .value(v)
        self.settings = settings
        self.fs = fs
        self.on_change = on_change  # called with the new relay value (journal, control channel)
        self.state = ARMED
        self.pending = 0  # trip end reason of a pending arm request, 0 = none
        self.output = 0  # what the relay pin is driven to now
        self.ignition = False
        self.speed_mms = None  # None = unknown (no fix)
        self.since_ms = 0  # released at / ignition went off at (ticks)
        self.started = False  # ignition has been on since the release
        self.refused_blocks = 0
        self.now_ms = 0
        self.settle_until_ms = 0  # an unknown speed counts as moving until then
        self.fix_since_ignition_off = True  # a speed was measured after the ignition last went off

    # -- boot -------------------------------------------------------------------------------------
    def boot(self, ignition, now_ms):
        """Restore the persisted state; the relay pin is released (0) at this point."""
        self.relay.value(0)
        self.output = 0
        self.ignition = bool(ignition)
        self.speed_mms = None
        self.now_ms = now_ms
        self.settle_until_ms = now_ms + SETTLE_MS
        data = store.read(self.fs, FILE)
        if isinstance(data, dict) and data.get("state") in (ARMED, RELEASED):
            self.state = data["state"]
            pending = data.get("pending", 0)
            self.pending = pending if isinstance(pending, int) else 0
            self.started = bool(data.get("started"))
        else:
            self.state = ARMED  # first boot or unreadable state: arm (as soon as safe)
            self.pending = 0
        self.since_ms = now_ms
        self._drive()

    def _save(self):
        store.write(self.fs, FILE, {"state": self.state, "pending": self.pending, "started": self.started})

    # -- inputs -----------------------------------------------------------------------------------
    def safe_to_block(self):
        if self.ignition:
            return False
        if self.speed_mms is None or not self.fix_since_ignition_off:
            return self.now_ms >= self.settle_until_ms
        return self.speed_mms < self.settings.get("moving_mms")

    def set_ignition(self, on, now_ms):
        on = bool(on)
        self.now_ms = now_ms
        if on == self.ignition:
            return None
        self.ignition = on
        if not on:
            self.fix_since_ignition_off = False
            self.settle_until_ms = max(self.settle_until_ms, now_ms + SETTLE_MS)
        if self.state == RELEASED:
            if on and not self.started:
                self.started = True
                self._save()
            if not on:
                self.since_ms = now_ms  # the grace time runs from here
        return self.tick(now_ms)

    def set_speed(self, speed_mms, now_ms):
        self.now_ms = now_ms
        self.speed_mms = speed_mms if isinstance(speed_mms, int) and speed_mms >= 0 else None
        if self.speed_mms is not None:
            self.fix_since_ignition_off = True
        return self.tick(now_ms)

    def release(self, now_ms):
        """A granted badge (or a server release): the starter is released, a trip opens."""
        self.now_ms = now_ms
        self.state = RELEASED
        self.pending = 0
        self.started = self.ignition
        self.since_ms = now_ms
        self._save()
        self._drive()

    def request_arm(self, reason, now_ms):
        """Badge-out or timeout: arm as soon as it is safe. Returns the trip end reason if armed now."""
        if self.state != RELEASED:
            return None
        if not self.pending:
            self.pending = reason
            self._save()
        return self.tick(now_ms)

    def tick(self, now_ms):
        """Timers and pending arm. Returns the trip end reason when the box just armed, else None."""
        self.now_ms = now_ms
        if self.state == RELEASED and not self.pending and not self.ignition:
            limit = self.settings.get("grace_s") if self.started else self.settings.get("start_window_s")
            if now_ms - self.since_ms >= limit * 1000:
                self.pending = codes.END_TIMEOUT
                self._save()
        ended = None
        if self.state == RELEASED and self.pending and self.safe_to_block():
            ended = self.pending
            self.state = ARMED
            self.pending = 0
            self.started = False
            self._save()
        self._drive()
        return ended

    # -- output -----------------------------------------------------------------------------------
    def _drive(self):
        want = 1 if self.state == ARMED else 0
        if want == self.output:
            return
        if want == 1 and not self.safe_to_block():
            self.refused_blocks += 1
            return  # never stop a running or moving car; tried again at the next tick
        self.relay.value(want)
        self.output = want
        if self.on_change:
            self.on_change(want)
