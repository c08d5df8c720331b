"""GPS odometer: distance driven from `drivers.nmea` fixes, integers only.

Why not sum the distances between successive positions: a receiver's position wanders by metres even when
the car is parked, and at 1 Hz the sideways part of that noise adds up (GPS odometers built that way
overcount by 3-5 % and keep counting in a car park). The receiver's speed over ground comes from the
Doppler shift, is accurate to about 0.1 m/s and does not wander, so:

- between consecutive fixes (<= CONSECUTIVE_MS apart) the distance is the speed integrated over the
  interval (trapezoid), the way a wheel odometer works;
- nothing accumulates while stationary: motion starts only after `confirm` consecutive fixes at or above
  `start_mms` (the distance of those fixes is then counted, so stop-and-go loses only the first few
  centimetres), and stops below `stop_mms` (hysteresis);
- fixes that are invalid, have HDOP above `hdop_max` or fewer than `min_sats` satellites are skipped;
- a position jump impossible for a car (a multipath excursion) is not trusted: the last trusted position (the
  anchor) is only moved to a fix whose distance from it agrees with the distance driven since;
- a gap (tunnel, fix loss, skipped fixes) of up to `gap_max_s` is bridged by the straight line from the
  anchor, if the implied speed is possible (<= `max_mms`) and the car was moving on either side of the gap
  (or the line is longer than `gap_min_m`: the car was moved while the receiver was blind);
- a receiver that reports no speed (GGA only) gets the same gates with the speed taken from the distance
  between trusted positions; a position implying more than `max_accel_mms2` is a jump. Less accurate
  (position noise adds up, see the bench), but still 0 m while parked.

`update(fix)` returns the whole metres it added to `total_m`; `distance_m` counts since `reset_trip()`.
"""

from app import geo

try:
    from micropython import const
except ImportError:
    const = lambda x: x  # noqa: E731

CONSECUTIVE_MS = const(2500)


class Odometer:
    def __init__(self, total_m=0, hdop_max=500, min_sats=4, start_mms=1000, stop_mms=300, confirm=3,
                 gap_max_s=600, gap_min_m=200, max_mms=70000, max_accel_mms2=5000, jump_slack_m=30, start_pos_mms=2500,
                 stop_pos_mms=1500):
        self._total_mm = total_m * 1000
        self._trip_mm = self._total_mm
        self.hdop_max = hdop_max
        self.min_sats = min_sats
        self.start_mms = start_mms
        self.stop_mms = stop_mms
        self.confirm = confirm
        self.gap_max_s = gap_max_s
        self.gap_min_m = gap_min_m
        self.max_mms = max_mms
        self.max_accel_mms2 = max_accel_mms2
        # speeds derived from positions carry their noise (~0.5 m/s): wider gates
        self.start_pos_mms = start_pos_mms
        self.stop_pos_mms = stop_pos_mms
        self.jump_slack_m = jump_slack_m
        # counters (health and tests)
        self.skipped = 0  # invalid or poor fixes
        self.jumps = 0  # positions not trusted
        self.gaps_bridged = 0
        self.gaps_dropped = 0
        self.moving = False
        self._last_ms = -1  # time of the last accepted fix (ms)
        self._last_speed = -1
        self._started = False
        self._alat = 0  # the anchor: last trusted position
        self._alon = 0
        self._anchor_ms = 0
        self._v_est = 0  # speed between the last two trusted positions (receivers without speed)
        self._since_anchor_mm = 0  # distance counted since the anchor
        self._run = 0  # consecutive fixes above start_mms while stationary
        self._pending_mm = 0  # distance of those fixes, counted once motion is confirmed

    @property
    def total_m(self):
        return self._total_mm // 1000

    @total_m.setter
    def total_m(self, metres):
        """Restore the odometer (the box saves it with its trips); the trip distance is kept."""
        delta = metres * 1000 - self._total_mm
        self._total_mm += delta
        self._trip_mm += delta

    @property
    def distance_m(self):
        return (self._total_mm - self._trip_mm) // 1000

    def reset_trip(self):
        self._trip_mm = self._total_mm

    def _usable(self, fix):
        if not fix.valid or fix.quality <= 0:
            return False
        if fix.hdop_c > self.hdop_max:
            return False
        if 0 <= fix.sats < self.min_sats:
            return False
        return True

    def update(self, fix):
        """Feed one Fix; returns the whole metres added to total_m (0 most of the time while parked)."""
        if not self._usable(fix):
            self.skipped += 1
            return 0
        # intervals from the time of day, which every fix has (t needs a date); midnight wraps
        now = fix.tod_ms
        before = self._total_mm // 1000
        if not self._started:
            self._start(fix, now)
            return 0
        dt = now - self._last_ms
        if dt < -43200000:
            dt += 86400000
        if dt <= 0:
            return 0  # duplicate or time going backwards: ignore
        if dt <= CONSECUTIVE_MS and (fix.speed_mms >= 0 or self._last_speed >= 0):
            self._consecutive(fix, dt)
        elif dt <= CONSECUTIVE_MS:
            self._by_position(fix, now)
        else:
            self._gap(fix, dt)
        self._last_ms = now
        self._last_speed = fix.speed_mms
        return self._total_mm // 1000 - before

    def _start(self, fix, now):
        self._started = True
        self._alat = fix.lat
        self._alon = fix.lon
        self._anchor_ms = now
        self._since_anchor_mm = 0
        self._last_ms = now
        self._last_speed = fix.speed_mms
        self.moving = False
        self._run = 0
        self._pending_mm = 0

    def _add(self, mm):
        self._total_mm += mm
        self._since_anchor_mm += mm

    def _consecutive(self, fix, dt):
        v0 = self._last_speed
        v1 = fix.speed_mms
        if v1 < 0:
            v1 = v0
        elif v0 < 0:
            v0 = v1
        step = (v0 + v1) * dt // 2000
        if self.moving:
            self._add(step)
            if v1 < self.stop_mms:
                self.moving = False
                self._run = 0
                self._pending_mm = 0
        elif v1 >= self.start_mms:
            self._run += 1
            self._pending_mm += step
            if self._run >= self.confirm:
                self.moving = True
                self._add(self._pending_mm)
                self._pending_mm = 0
        else:
            self._run = 0
            self._pending_mm = 0
        self._trust(fix)

    def _trust(self, fix):
        """Move the anchor to this fix if its distance from the anchor agrees with what was driven."""
        chord = geo.distance_mm(self._alat, self._alon, fix.lat, fix.lon)
        if chord <= self._since_anchor_mm + self._pending_mm + self.jump_slack_m * 1000:
            self._alat = fix.lat
            self._alon = fix.lon
            self._anchor_ms = fix.tod_ms
            self._since_anchor_mm = 0
        else:
            self.jumps += 1

    def _by_position(self, fix, now):
        # No speed from the receiver: the speed is the distance from the anchor over the time since, and the
        # same gates apply. A position implying an acceleration no car has is a jump and is not trusted.
        dta = now - self._anchor_ms
        if dta < -43200000:
            dta += 86400000
        if dta <= 0:
            return
        chord = geo.distance_mm(self._alat, self._alon, fix.lat, fix.lon)
        v = chord * 1000 // dta
        if v > self._v_est + self.max_accel_mms2 * dta // 1000 + self.jump_slack_m * 100:
            self.jumps += 1
            return
        if self.moving:
            self._total_mm += chord
            if v < self.stop_pos_mms:
                self.moving = False
                self._run = 0
                self._pending_mm = 0
        elif v >= self.start_pos_mms:
            self._run += 1
            self._pending_mm += chord
            if self._run >= self.confirm:
                self.moving = True
                self._total_mm += self._pending_mm
                self._pending_mm = 0
        else:
            self._run = 0
            self._pending_mm = 0
        self._v_est = v
        self._alat = fix.lat
        self._alon = fix.lon
        self._anchor_ms = now
        self._since_anchor_mm = 0

    def _gap(self, fix, dt):
        chord = geo.distance_mm(self._alat, self._alon, fix.lat, fix.lon) - self._since_anchor_mm
        if chord < 0:
            chord = 0
        plausible = dt <= self.gap_max_s * 1000 and chord * 1000 <= self.max_mms * dt
        moving_edge = self.moving or fix.speed_mms >= self.start_mms or chord >= self.gap_min_m * 1000
        if plausible and moving_edge:
            self.gaps_bridged += 1
            self._total_mm += chord
            self.moving = fix.speed_mms < 0 or fix.speed_mms >= self.stop_mms
        else:
            self.gaps_dropped += 1
            self.moving = False
        self._alat = fix.lat
        self._alon = fix.lon
        self._anchor_ms = fix.tod_ms
        self._v_est = fix.speed_mms if fix.speed_mms >= 0 else 0
        self._since_anchor_mm = 0
        self._run = 0
        self._pending_mm = 0
