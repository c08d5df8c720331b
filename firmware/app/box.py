# The box's behaviour without an event loop: main.py's tasks call these methods, tests call them
# directly. Every method returns quickly and never touches the modem, so a badge decision never waits
# for a sync in progress.
from app import access, immobilizer, journal, settings, store, trips
from app.clock import Clock
from protocol import codes, keys

SETTINGS_FILE = "settings"
RELEASED_FILE = "released"  # reservation ids of the last CMD_RELEASE commands acted on
GPS_STALE_MS = 10000  # no fix for this long: the speed is unknown
POWER_LOW_MV = 10500  # a 12 V battery below this is failing (or the box runs on its own reserve)
POWER_OK_MV = 11800
ODO_SAVE_SAMPLES = 10  # save the odometer every this many position samples during a trip


class Box:
    def __init__(self, fs, hal_clock, relay, key, box_id=0, odometer=None, on_relay=None):
        self.fs = fs
        self.key = key
        self.box_id = box_id
        self.settings = settings.Settings()
        self.clock = Clock(hal_clock, fs)
        self.journal = journal.Journal(fs)
        self.allow = access.AllowList()
        self.trips = trips.Trips(fs, self.journal, self.clock, self.settings)
        self.imm = immobilizer.Immobilizer(relay, self.settings, fs, self._relay_changed)
        self.odometer = odometer
        self.on_relay = on_relay  # e.g. the LED steady state
        self.ready = False
        self.sync_wanted = 0  # a reason to sync soon (bitmask of WANT_*), cleared by the sync client
        self.start_sync_ms = 0  # WANT_TRIP_START: the sync is due from this tick (the engine cranked by then)
        self.last_fix_ms = None
        self.resets = 0
        self.reset_cause = 0
        self.commands_ignored = 0
        self._samples = 0
        self.power_low = False

    # -- boot -------------------------------------------------------------------------------------
    def boot(self, ignition, reset_cause=0):
        fs = self.fs
        self.reset_cause = reset_cause
        overrides = store.read(fs, SETTINGS_FILE)
        if isinstance(overrides, dict):
            self.settings.apply(overrides)
        self.clock.start()
        self.journal.budget = self.settings.get("journal_kb") * 1024
        self.journal.open()
        self.allow.load(fs, store)
        self.trips.load()
        if self.odometer is not None and self.trips.odo_m > getattr(self.odometer, "total_m", 0):
            self.odometer.total_m = self.trips.odo_m
        self._event(codes.EV_REBOOT, reset_cause)
        if self.journal.torn_bytes:
            self._event(codes.EV_JOURNAL_DROP, self.journal.torn_bytes)
        self.imm.boot(ignition, self.clock.ticks_ms())
        if self.imm.state == immobilizer.ARMED and self.trips.current is not None:
            # Armed with a trip open: the box went down between the two; the trip ends here.
            self.trips.close(codes.END_REBOOT, self.odo_m())
        self.ready = True

    # -- helpers ----------------------------------------------------------------------------------
    def _event(self, code, value):
        self.journal.append({"type": "event", "t": self.clock.stamp(), "code": code, "value": value})

    def _relay_changed(self, value):
        self._event(codes.EV_RELAY, value)
        if self.on_relay:
            self.on_relay(value)

    def odo_m(self):
        return self.odometer.total_m if self.odometer is not None else self.trips.odo_m

    def _trip_opened(self, badge, reservation):
        """Open a trip and plan a short sync soon after: until the server hears of the badge-in it would
        take the booking for a no-show, or the car for a free one."""
        self.trips.open(badge, reservation, self.odo_m())
        self.start_sync_ms = self.clock.ticks_ms() + self.settings.get("sync_after_start_s") * 1000
        self.sync_wanted |= WANT_TRIP_START

    def _trip_ended(self, reason):
        if reason:
            self.trips.close(reason, self.odo_m())
            self.sync_wanted |= WANT_TRIP_END

    # -- inputs -----------------------------------------------------------------------------------
    def tap(self, uid):
        """A badge presented on the reader: decide, act, journal. Returns the access.Decision."""
        if not self.ready:
            return access.Decision(access.NOT_READY, codes.REASON_NOT_READY)
        badge = keys.badge_hash(self.key, bytes(uid))
        now = self.clock.now()
        decision = access.decide(self.allow, badge, now, self.clock.lower_bound(), self.settings,
                                 self.clock.offline_s())
        now_ms = self.clock.ticks_ms()
        if self.imm.state == immobilizer.RELEASED:
            driver = self.trips.badge()
            if badge == driver or (driver is None) or decision.reason == codes.REASON_ROLE:
                # Badge-out by the driver (or a fleet manager): arm as soon as the engine is off.
                decision = access.Decision(access.GRANTED, codes.REASON_END_TRIP)
                self._journal_decision(badge, decision)
                self._trip_ended(self.imm.request_arm(codes.END_BADGE, now_ms))
                return decision
            if decision.granted:
                decision = access.Decision(access.DENIED, codes.REASON_IN_USE)
            self._journal_decision(badge, decision)
            return decision
        self._journal_decision(badge, decision)
        if decision.granted:
            self.imm.release(now_ms)
            self._trip_opened(badge, decision.reservation)
            if self.odometer is not None and hasattr(self.odometer, "reset_trip"):
                self.odometer.reset_trip()
        return decision

    def _journal_decision(self, badge, decision):
        self.journal.append({"type": "badge", "t": self.clock.stamp(), "badge": badge,
                             "granted": decision.granted, "reason": decision.reason})

    def set_ignition(self, on):
        on = bool(on)
        if on != self.imm.ignition:
            self._event(codes.EV_IGNITION, 1 if on else 0)
        self._trip_ended(self.imm.set_ignition(on, self.clock.ticks_ms()))

    def supply(self, mv):
        """Supply voltage (mV, 0 = the board cannot measure): journal a loss below POWER_LOW_MV and the
        return above POWER_OK_MV (hysteresis, so a sagging battery does not fill the journal)."""
        if mv <= 0:
            return
        if not self.power_low and mv < POWER_LOW_MV:
            self.power_low = True
            self._event(codes.EV_POWER_LOSS, mv)
        elif self.power_low and mv > POWER_OK_MV:
            self.power_low = False
            self._event(codes.EV_POWER_RESTORED, mv)

    def fix(self, fix):
        """A GPS fix (drivers.nmea.Fix): time, odometer, speed for the immobilizer, trip samples."""
        now_ms = self.clock.ticks_ms()
        if fix.valid and fix.t:
            now = self.clock.now()
            if not now or abs(now - fix.t) > 5:
                correction = self.clock.from_gps(fix.t)  # refused outside the trusted window
                if correction is not None and (not now or abs(correction) > 60):
                    self._event(codes.EV_CLOCK_SET, correction)
        if not fix.valid:
            return
        self.last_fix_ms = now_ms
        if self.odometer is not None:
            self.odometer.update(fix)
        self._trip_ended(self.imm.set_speed(fix.speed_mms, now_ms))
        if self.trips.sample(fix, now_ms):
            self._samples += 1
            if self._samples % ODO_SAVE_SAMPLES == 0:
                self.trips.save(self.odo_m())  # a power cut mid-trip loses at most this many samples' km

    def tick(self):
        """Once a second or so: timers (grace time, pending arm, GPS staleness, clock floor, sync plan)."""
        now_ms = self.clock.ticks_ms()
        if self.last_fix_ms is not None and now_ms - self.last_fix_ms > GPS_STALE_MS:
            self.last_fix_ms = None
            self.imm.speed_mms = None
        self._trip_ended(self.imm.tick(now_ms))
        self.clock.tick()

    def parked(self):
        """Armed, ignition off, relay driven armed, no trip open: nothing needs a fast tick."""
        imm = self.imm
        return (imm.state == immobilizer.ARMED and not imm.ignition and not imm.pending and imm.output == 1
                and self.trips.current is None)

    # -- server answer ----------------------------------------------------------------------------
    def apply_response(self, response):
        """Apply a decoded sync answer. Nothing in it can block a running engine."""
        if not isinstance(response, dict):
            return False
        ack = response.get("ack")
        if isinstance(ack, int) and ack > 0:
            self.journal.acknowledge(ack)
        t = response.get("time")
        if isinstance(t, int) and t:
            correction = self.clock.from_server(t)  # the reference: re-anchors even when it moves nothing
            if correction is not None:
                self._event(codes.EV_CLOCK_SET, correction)
        allow = response.get("allow")
        if allow:
            if self.allow.apply(allow):
                self.allow.save(self.fs, store)
        config = response.get("config")
        if isinstance(config, dict) and config:
            self.settings.apply(config)
            self.journal.budget = self.settings.get("journal_kb") * 1024
            store.write(self.fs, SETTINGS_FILE, self.settings.overrides())
        for command in response.get("commands") or ():
            self.command(command)
        error = response.get("error")
        if error:
            self._event(codes.EV_PROTOCOL_ERROR, error if isinstance(error, int) else 0)
        return True

    def apply_sync(self, outcome):
        """Apply what one exchange with the server returned (app.sync.Outcome): journal its events, apply
        the reply, and sync again at once when it asks to (outcome.again names why)."""
        for code, value in outcome.events:
            self._event(code, value)
        if outcome.response is not None:
            self.apply_response(outcome.response)
        if outcome.again:
            self.sync_wanted |= WANT_DEMAND

    def command(self, command):
        try:
            cmd = command["cmd"]
            arg = command.get("arg", 0)
        except (KeyError, TypeError, AttributeError):
            self.commands_ignored += 1
            return
        if cmd == codes.CMD_RESYNC:
            self.sync_wanted |= WANT_DEMAND
        elif cmd == codes.CMD_RELEASE:
            if not isinstance(arg, int) or arg < 0:
                arg = 0
            done = store.read(self.fs, RELEASED_FILE, [])
            if not isinstance(done, list):
                done = []
            if arg and arg in done:
                return  # a reply sent again (its rx not confirmed): the box acts once per reservation id
            if self.imm.state == immobilizer.ARMED:
                if arg:
                    store.write(self.fs, RELEASED_FILE, (done + [arg])[-8:])
                decision = access.Decision(access.GRANTED, codes.REASON_RELEASE_COMMAND,
                                           arg if isinstance(arg, int) and arg >= 0 else 0)
                self._journal_decision(trips.NO_BADGE, decision)
                self.imm.release(self.clock.ticks_ms())
                self._trip_opened(trips.NO_BADGE, decision.reservation)
        elif cmd == codes.CMD_BLOCK:
            # Withdraw the current release: the immobilizer arms as soon as it is safe (ignition off and a
            # fresh fix showing the car stopped), never while the engine runs; no grace time.
            self._trip_ended(self.imm.request_arm(codes.END_BLOCK, self.clock.ticks_ms()))
        else:
            # CMD_FIRMWARE is for the flashing tool; CMD_REBOOT and anything unknown: nothing here may
            # touch the relay, so they are only counted.
            self.commands_ignored += 1

    # -- health -----------------------------------------------------------------------------------
    def health(self, fw, csq=99, mv=0, gps=0, rx=0):
        """The health dict of a sync request; rx = counter of the last reply applied (protocol.md)."""
        return {"fw": fw, "csq": csq if 0 <= csq <= 99 else 99, "mv": mv if mv > 0 else 0,
                "backlog": self.journal.backlog(), "gps": gps, "uptime": self.clock.uptime_s(),
                "reset": self.reset_cause if self.reset_cause > 0 else 0, "allow": self.allow.version, "rx": rx}

    def next_reservation_start(self):
        now = self.clock.now()
        return self.allow.next_start(now) if now else 0


WANT_TRIP_END = 1
WANT_DEMAND = 2
WANT_TRIP_START = 4  # due at start_sync_ms, not at once
