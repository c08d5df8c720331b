from app import geo
from app.odometer import Odometer
from drivers.nmea import Fix

LAT0 = 457597000  # Lyon, 45.7597 N
LON0 = 48426000
T0 = 1772436600


class Track:
    """Builds fixes of a car moving east/north in metres from a start point (integer maths, no random)."""

    def __init__(self):
        self.ky, self.kx = geo.scales_nm(LAT0)
        self.seed = 7

    def noise_mm(self, amplitude_mm):
        self.seed = (self.seed * 1103515245 + 12345) & 0x7FFFFFFF
        return (self.seed >> 8) % (2 * amplitude_mm + 1) - amplitude_mm

    def fix(self, t, east_mm, north_mm, speed_mms, hdop_c=100, valid=True, quality=1, sats=9, ms=0):
        lat = LAT0 + north_mm * 1000000 // self.ky
        lon = LON0 + east_mm * 1000000 // self.kx
        return Fix(T0 + t, ms, lat, lon, speed_mms, 9000, quality if valid else 0, hdop_c, sats, valid)


def drive(odo, fixes):
    added = 0
    for f in fixes:
        added += odo.update(f)
    return added


def test_geo_distance_of_known_steps():
    ky, kx = geo.scales_nm(LAT0)
    # one degree north from 45.7597 N is 111156.39 m, one degree east 77797.44 m (Vincenty on WGS84)
    assert abs(geo.distance_mm(LAT0, LON0, LAT0 + 10000000, LON0) - 111156390) < 2000
    assert abs(geo.distance_mm(LAT0, LON0, LAT0, LON0 + 10000000) - 77797440) < 2000
    assert geo.distance_mm(LAT0, LON0, LAT0, LON0) == 0
    assert geo.hypot(3000, -4000) == 5000 and geo.hypot(0, 7) == 7 and geo.hypot(1, 1) == 1
    # across the antimeridian the short way round
    assert geo.distance_mm(0, 1799999999, 0, -1799999999) < 30
    assert ky > kx > 0


def test_straight_drive_counts_speed_times_time():
    tr = Track()
    odo = Odometer()
    fixes = [tr.fix(s, s * 15000 + tr.noise_mm(3000), tr.noise_mm(3000), 15000) for s in range(601)]
    added = drive(odo, fixes)
    # 600 s at 15 m/s = 9000 m; position noise of +-3 m changes nothing
    assert 8990 <= odo.total_m <= 9000 and added == odo.total_m and odo.distance_m == odo.total_m


def test_parked_with_wandering_position_and_small_speeds_stays_at_zero():
    tr = Track()
    odo = Odometer()
    added = 0
    for s in range(4 * 3600):  # one at a time: 14400 fixes do not fit an ESP32-sized heap at once
        # +-5 m wander, Doppler speed noise up to 0.4 m/s, a 40 m multipath excursion now and then
        jump = 40000 if s % 900 < 6 else 0
        added += odo.update(tr.fix(s, tr.noise_mm(5000) + jump, tr.noise_mm(5000), abs(tr.noise_mm(400))))
    assert added == 0 and odo.total_m == 0 and not odo.moving
    assert odo.jumps > 0


def test_a_single_speed_spike_while_parked_is_not_motion():
    tr = Track()
    odo = Odometer()
    speeds = [0] * 10 + [2500, 2500] + [0] * 10 + [1500] + [0] * 10
    drive(odo, [tr.fix(s, 0, 0, v) for s, v in enumerate(speeds)])
    assert odo.total_m == 0


def test_stop_and_go_loses_only_centimetres_per_start():
    tr = Track()
    odo = Odometer()
    fixes = []
    pos = 0
    t = 0
    true_mm = 0
    for _cycle in range(20):
        profile = [0, 0, 0, 500, 1500, 3000, 4500, 6000, 7500, 9000, 9000, 9000, 7000, 5000, 3000, 1000, 0]
        prev = 0
        for v in profile:
            step = (prev + v) // 2
            pos += step
            true_mm += step
            fixes.append(tr.fix(t, pos, 0, v))
            prev = v
            t += 1
    drive(odo, fixes)
    true_m = true_mm // 1000
    assert true_m - 20 <= odo.total_m <= true_m  # at most ~0.25 m lost per start (0 -> 0.5 m/s)


def test_poor_fixes_are_skipped():
    tr = Track()
    odo = Odometer()
    fixes = [tr.fix(s, s * 10000, 0, 10000) for s in range(11)]
    fixes[3] = tr.fix(3, 30000, 0, 10000, hdop_c=900)
    fixes[5] = tr.fix(5, 50000, 0, 10000, valid=False)
    fixes[7] = tr.fix(7, 70000, 0, 10000, sats=3)
    drive(odo, fixes)
    assert odo.skipped == 3
    assert 95 <= odo.total_m <= 100  # the holes are bridged: 100 m driven


def test_tunnel_gap_is_bridged_by_the_straight_line():
    tr = Track()
    odo = Odometer()
    fixes = [tr.fix(s, s * 20000, 0, 20000) for s in range(30)]
    fixes += [tr.fix(s, s * 20000, 0, 20000) for s in range(90, 120)]  # 60 s in a tunnel
    drive(odo, fixes)
    assert odo.gaps_bridged == 1 and 2370 <= odo.total_m <= 2380


def test_gap_while_parked_adds_nothing_and_impossible_jumps_are_dropped():
    tr = Track()
    odo = Odometer()
    drive(odo, [tr.fix(s, tr.noise_mm(4000), 0, 0) for s in range(10)])
    drive(odo, [tr.fix(s, 30000 + tr.noise_mm(4000), 0, 0) for s in range(300, 310)])  # underground car park
    assert odo.total_m == 0 and odo.gaps_dropped == 1
    # 50 km in 100 s is not a car
    drive(odo, [tr.fix(s, 50000000, 0, 20000) for s in range(410, 415)])
    assert odo.gaps_dropped == 2 and odo.total_m < 100
    # a gap longer than gap_max_s is not bridged either
    odo2 = Odometer(gap_max_s=60)
    drive(odo2, [tr.fix(s, s * 10000, 0, 10000) for s in range(5)])
    drive(odo2, [tr.fix(s, 40000 + 400000, 0, 10000) for s in range(200, 202)])
    assert odo2.gaps_dropped == 1 and odo2.total_m < 100


def test_multipath_jump_while_driving_does_not_add_distance():
    tr = Track()
    odo = Odometer()
    fixes = []
    for s in range(200):
        jump = 50000 if 100 <= s < 106 else 0
        fixes.append(tr.fix(s, s * 10000, jump, 10000))
    drive(odo, fixes)
    assert 1985 <= odo.total_m <= 1990 and odo.jumps >= 3


def test_receiver_without_speed_derives_it_from_trusted_positions():
    tr = Track()
    odo = Odometer()
    t = 0
    for s in range(1200):
        # parked: a receiver's slow +-4 m wander, +-0.5 m epoch noise, a 40 m multipath excursion every 100 s
        wander = abs(s % 240 - 120) * 66 - 4000
        jump = 40000 if s % 100 < 5 else 0
        odo.update(tr.fix(t, wander + tr.noise_mm(500) + jump, wander // 2 + tr.noise_mm(500), -1))
        t += 1
    assert odo.total_m == 0 and odo.jumps > 0
    for s in range(101):  # then 1 km east at 10 m/s, with +-1 m noise
        odo.update(tr.fix(t, s * 10000 + tr.noise_mm(1000), tr.noise_mm(1000), -1))
        t += 1
    assert 960 <= odo.total_m <= 1030


def test_trip_distance_and_initial_total():
    tr = Track()
    odo = Odometer(total_m=12345)
    drive(odo, [tr.fix(s, s * 10000, 0, 10000) for s in range(101)])
    assert odo.total_m == 12345 + 1000 and odo.distance_m == 1000
    odo.reset_trip()
    assert odo.distance_m == 0
    drive(odo, [tr.fix(s, s * 10000, 0, 10000) for s in range(101, 151)])
    assert odo.distance_m == 500 and odo.total_m == 13845


def test_duplicate_and_backwards_time_are_ignored():
    tr = Track()
    odo = Odometer()
    drive(odo, [tr.fix(s, s * 10000, 0, 10000) for s in range(11)])
    before = odo.total_m
    assert odo.update(tr.fix(10, 100000, 0, 10000)) == 0
    assert odo.update(tr.fix(5, 50000, 0, 10000)) == 0
    assert odo.total_m == before


def test_ten_hertz_fixes_use_milliseconds():
    tr = Track()
    odo = Odometer()
    fixes = []
    for i in range(1001):
        fixes.append(tr.fix(i // 10, i * 1000, 0, 10000, ms=(i % 10) * 100))
    drive(odo, fixes)
    assert 995 <= odo.total_m <= 1000


def test_midnight_and_date_less_fixes_keep_counting():
    tr = Track()
    odo = Odometer()
    fixes = []
    for s in range(120):
        tod = (86400 - 60 + s) % 86400
        f = tr.fix(s, s * 10000, 0, 10000)
        f.t = 0  # no date known (GGA-only receiver): intervals come from the time of day
        f.tod_ms = tod * 1000
        fixes.append(f)
    drive(odo, fixes)
    assert 1185 <= odo.total_m <= 1190


def test_restoring_the_saved_total_keeps_the_trip_distance():
    tr = Track()
    odo = Odometer()
    drive(odo, [tr.fix(s, s * 10000, 0, 10000) for s in range(11)])
    odo.total_m = 50000
    assert odo.total_m == 50000 and odo.distance_m == 100
