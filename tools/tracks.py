"""Synthetic car routes and the NMEA a GPS receiver would send while driving them (CPython, floats).

Used by the odometer and NMEA benchmarks, the GPS emulator of the bench (hil_tests/emulators/gps.py) and
the demo. Everything is deterministic for a given seed.

    points = generate_route(seed=1, kind="urban", duration_s=1800)   # 1 Hz true points
    true_length_m(points)                                             # what a perfect odometer reads
    for second in nmea_stream(points, seed=1):                        # list of NMEA lines (bytes, CRLF)
        ...

Kinds: "urban" (stop-and-go, lights, 90 degree turns, 30-50 km/h), "mixed" (town, country road,
motorway, town), "highway" (110-130 km/h, gentle curves, a slowdown now and then), "parked" (speed 0).
Routes start near a French prefecture (Lyon by default: the Rhône prefecture, rue Pierre Corneille).

The true position is integrated at 10 Hz on the WGS84 ellipsoid; `true_length_m` is the integrated path
length (arc, not the 1 Hz chord polyline) when the route carries it, else the sum of 1 Hz geodesic steps.

Noise model (`nmea_stream`, presets "none", "realistic", "harsh", overridable key by key):
- position wander: a first-order Gauss-Markov process per axis (sigma `wander_m`, time constant `tau_s`),
  which is how receiver errors behave (slow, correlated), so a parked car drifts +-3-5 m;
- white position noise `white_m` on top;
- multipath jumps: `multipath_per_h` episodes, offsets of 10-60 m lasting 2-10 s, HDOP sometimes raised;
- Doppler speed noise `speed_sigma_mps` (more during multipath);
- tunnels: `tunnels` = list of (start_s, duration_s) or `tunnels_per_h` random ones of 5-90 s, placed where
  the car drives a roughly straight road (tunnels and underpasses are not street corners), plus
  `canyon_per_h` short losses of 2-6 s anywhere the car moves (urban canyons, bridges);
  during a tunnel the receiver keeps its clock and sends no-fix sentences (RMC status V, GGA quality 0);
- `status_v_with_position`: fraction of seconds (around weak signal) where RMC says V but still carries a
  position;
- `garbage`: probability per line of corruption: a flipped character (checksum failure), a line spliced into
  the next one (`$GPGGA,0301$GPGLL,...`), a missing CR, bytes above 0x7F, a very long line of junk.
"""

import math
import random
from collections import namedtuple

# WGS84
A = 6378137.0
F = 1 / 298.257223563
E2 = F * (2 - F)

TruePoint = namedtuple("TruePoint", "t lat lon speed_mps course_deg")

# (name, lat, lon): prefectures; Lyon first (default start).
PREFECTURES = (
    ("Lyon", 45.75935, 4.84260),
    ("Grenoble", 45.18720, 5.72570),
    ("Saint-Etienne", 45.43980, 4.38720),
    ("Bourg-en-Bresse", 46.20560, 5.22550),
    ("Valence", 44.93310, 4.89120),
    ("Clermont-Ferrand", 45.77730, 3.08600),
)

START_EPOCH = 1772436600  # 2026-03-02 07:30:00 UTC, a Monday morning

KINDS = ("urban", "mixed", "highway", "parked")


class Route(list):
    """A list of TruePoint that also knows its integrated (arc) length in metres."""

    length_m = None


def radii(lat_deg):
    """Meridional radius M and prime-vertical radius N (metres) at a latitude."""
    s = math.sin(math.radians(lat_deg))
    w = 1 - E2 * s * s
    n = A / math.sqrt(w)
    m = A * (1 - E2) / (w * math.sqrt(w))
    return m, n


def step_m(lat1, lon1, lat2, lon2):
    """Distance between two close points (< a few km) on the ellipsoid, local tangent plane at mid-latitude."""
    mid = (lat1 + lat2) / 2
    m, n = radii(mid)
    dy = math.radians(lat2 - lat1) * m
    dx = math.radians(lon2 - lon1) * n * math.cos(math.radians(mid))
    return math.hypot(dx, dy)


def vincenty_m(lat1, lon1, lat2, lon2):
    """Geodesic distance on WGS84 (Vincenty inverse), the float reference for the integer odometer."""
    if lat1 == lat2 and lon1 == lon2:
        return 0.0
    b = A * (1 - F)
    u1 = math.atan((1 - F) * math.tan(math.radians(lat1)))
    u2 = math.atan((1 - F) * math.tan(math.radians(lat2)))
    lam = ll = math.radians(lon2 - lon1)
    su1, cu1, su2, cu2 = math.sin(u1), math.cos(u1), math.sin(u2), math.cos(u2)
    for _ in range(200):
        sl, cl = math.sin(lam), math.cos(lam)
        ss = math.sqrt((cu2 * sl) ** 2 + (cu1 * su2 - su1 * cu2 * cl) ** 2)
        if ss == 0:
            return 0.0
        cs = su1 * su2 + cu1 * cu2 * cl
        sig = math.atan2(ss, cs)
        sa = cu1 * cu2 * sl / ss
        c2a = 1 - sa * sa
        c2sm = cs - 2 * su1 * su2 / c2a if c2a else 0.0
        c = F / 16 * c2a * (4 + F * (4 - 3 * c2a))
        prev = lam
        lam = ll + (1 - c) * F * sa * (sig + c * ss * (c2sm + c * cs * (-1 + 2 * c2sm * c2sm)))
        if abs(lam - prev) < 1e-12:
            break
    u_sq = c2a * (A * A - b * b) / (b * b)
    ka = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
    kb = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
    ds = kb * ss * (c2sm + kb / 4 * (cs * (-1 + 2 * c2sm * c2sm) - kb / 6 * c2sm * (-3 + 4 * ss * ss)
                                     * (-3 + 4 * c2sm * c2sm)))
    return b * ka * (sig - ds)


def true_length_m(points):
    """Length actually driven: the route's integrated arc length if known, else the sum of 1 Hz steps."""
    length = getattr(points, "length_m", None)
    if length is not None:
        return length
    total = 0.0
    for a, b in zip(points, points[1:]):
        total += step_m(a[1], a[2], b[1], b[2])
    return total


# ---------------------------------------------------------------------------------------------------------
# Route generation: a driver following road segments.


class _Segment:
    """Drive `length` metres at up to `vmax` m/s with `curvature` (rad/m), then do `end`."""

    def __init__(self, length, vmax, curvature=0.0, end=None, end_speed=0.0, dwell=0.0):
        self.length = length
        self.vmax = vmax
        self.curvature = curvature
        self.end = end  # None (keep going), "stop" (stop for dwell s) or "slow" (reach end_speed)
        self.end_speed = end_speed
        self.dwell = dwell


def _urban_segments(rng):
    while True:
        vmax = rng.choice((8.3, 11.1, 13.9, 13.9))
        if rng.random() < 0.1:
            vmax = rng.uniform(1.5, 4.0)  # queue creeping
        length = rng.uniform(60, 320)
        r = rng.random()
        if r < 0.35:
            yield _Segment(length, vmax, end="stop", dwell=rng.choice((3, 8, 15, 25, 40, 55)))
        elif r < 0.75:
            yield _Segment(length, vmax, end="slow", end_speed=rng.uniform(3.5, 6.0))
            radius = rng.uniform(9, 18)
            angle = rng.choice((-1, 1)) * math.pi / 2 * rng.uniform(0.7, 1.1)
            yield _Segment(abs(angle) * radius, rng.uniform(3.5, 6.0), curvature=angle / (abs(angle) * radius))
        else:
            yield _Segment(length, vmax, curvature=rng.uniform(-1, 1) / 400)


def _road_segments(rng):
    while True:
        radius = rng.uniform(150, 900)
        yield _Segment(rng.uniform(200, 1500), rng.uniform(20, 25), curvature=rng.choice((-1, 1)) / radius)
        if rng.random() < 0.15:  # roundabout
            yield _Segment(rng.uniform(100, 300), 22, end="slow", end_speed=7)
            yield _Segment(math.pi * 20 * 0.5, 7, curvature=rng.choice((-1, 1)) / 20)


def _highway_segments(rng):
    while True:
        radius = rng.uniform(1000, 4000)
        yield _Segment(rng.uniform(800, 4000), rng.uniform(30, 36), curvature=rng.choice((-1, 1, 0)) / radius)
        if rng.random() < 0.1:  # slowdown
            yield _Segment(rng.uniform(300, 1000), rng.uniform(8, 20))


def _parked_segments(rng):
    while True:
        yield _Segment(0.0, 0.0, end="stop", dwell=1e9)


def _mixed_segments(rng, duration_s):
    urban, road, highway = _urban_segments(rng), _road_segments(rng), _highway_segments(rng)
    # Rough time shares: town 25 %, country road 25 %, motorway 35 %, town 15 %; cut by elapsed time.
    plan = ((urban, 0.25), (road, 0.25), (highway, 0.35), (urban, 1.0))
    t_holder = yield
    for gen, share in plan:
        while t_holder[0] < share * duration_s:
            t_holder = yield next(gen)
    while True:
        yield next(urban)


def generate_route(seed, kind="urban", duration_s=1800, start=None):
    """1 Hz true points for `duration_s` seconds of driving `kind`; returns a Route (list of TruePoint)."""
    if kind not in KINDS:
        raise ValueError("kind must be one of %s" % (KINDS,))
    rng = random.Random("route-%s-%s" % (seed, kind))
    if start is None:
        _name, lat0, lon0 = PREFECTURES[0] if seed == 0 else PREFECTURES[seed % len(PREFECTURES)]
        lat0 += rng.uniform(-0.01, 0.01)
        lon0 += rng.uniform(-0.01, 0.01)
    else:
        lat0, lon0 = start
    t0 = START_EPOCH + (seed % 97) * 3600
    heading = rng.uniform(0, 2 * math.pi)

    clock = [0.0]
    if kind == "urban":
        segs = _urban_segments(rng)
    elif kind == "highway":
        segs = _highway_segments(rng)
    elif kind == "parked":
        segs = _parked_segments(rng)
    else:
        segs = _mixed_segments(rng, duration_s)
        next(segs)

    def next_segment():
        return segs.send(clock) if kind == "mixed" else next(segs)

    dt = 0.1
    accel, brake = rng.uniform(1.2, 2.0), rng.uniform(1.8, 2.6)
    lat, lon, v = lat0, lon0, 0.0
    odo = 0.0
    route = Route()
    seg = next_segment()
    done_in_seg = 0.0
    dwell_left = None
    substeps = int(round(1 / dt))
    for second in range(duration_s + 1):
        course = math.degrees(heading) % 360
        route.append(TruePoint(t0 + second, lat, lon, v, course))
        if second == duration_s:
            break
        for _ in range(substeps):
            clock[0] = second
            if dwell_left is not None:
                dwell_left -= dt
                if dwell_left <= 0:
                    dwell_left = None
                    seg, done_in_seg = next_segment(), 0.0
                continue
            remaining = seg.length - done_in_seg
            target = seg.vmax
            if seg.end == "stop":
                target = min(target, math.sqrt(max(0.0, 2 * brake * (remaining - 0.3))))
            elif seg.end == "slow":
                target = min(target, math.sqrt(seg.end_speed ** 2 + 2 * brake * max(0.0, remaining)))
            if v < target:
                v = min(target, v + accel * dt)
            else:
                v = max(target, v - brake * dt)
            ds = v * dt
            if seg.end == "stop" and (remaining <= 0.3 or (v < 0.05 and remaining < 2.0)):
                ds = max(0.0, min(ds, remaining))
                v = 0.0
                dwell_left = seg.dwell
            m, n = radii(lat)
            mid_heading = heading + seg.curvature * ds / 2
            lat += math.degrees(ds * math.cos(mid_heading) / m)
            lon += math.degrees(ds * math.sin(mid_heading) / (n * math.cos(math.radians(lat))))
            heading += seg.curvature * ds
            odo += ds
            done_in_seg += ds
            if dwell_left is None and done_in_seg >= seg.length:
                seg, done_in_seg = next_segment(), 0.0
    route.length_m = odo
    return route


# ---------------------------------------------------------------------------------------------------------
# NMEA generation.

PRESETS = {
    "none": dict(wander_m=0.0, tau_s=60.0, white_m=0.0, multipath_per_h=0.0, speed_sigma_mps=0.0,
                 tunnels=(), tunnels_per_h=0.0, canyon_per_h=0.0,
                 status_v_with_position=0.0, garbage=0.0, hdop=0.9),
    "realistic": dict(wander_m=3.0, tau_s=60.0, white_m=0.3, multipath_per_h=12.0, speed_sigma_mps=0.07,
                      tunnels=(), tunnels_per_h=2.0, canyon_per_h=6.0,
                      status_v_with_position=0.002, garbage=0.002, hdop=1.0),
    "harsh": dict(wander_m=4.5, tau_s=40.0, white_m=0.6, multipath_per_h=40.0, speed_sigma_mps=0.12,
                  tunnels=(), tunnels_per_h=6.0, canyon_per_h=20.0,
                  status_v_with_position=0.01, garbage=0.02, hdop=1.6),
}


def noise_settings(noise="realistic", **overrides):
    """The settings dict for a preset name (or a dict merged over "realistic") plus keyword overrides."""
    if isinstance(noise, dict):
        base = dict(PRESETS["realistic"])
        base.update(noise)
    else:
        base = dict(PRESETS[noise])
    base.update(overrides)
    return base


def checksum(body):
    """XOR of the bytes between '$' and '*' (body given without them)."""
    c = 0
    for b in body:
        c ^= b
    return c


def sentence(body):
    """b"$" + body + b"*HH\\r\\n" for a body str or bytes such as "GPRMC,..."."""
    if isinstance(body, str):
        body = body.encode()
    return b"$%s*%02X\r\n" % (body, checksum(body))


def _lat_field(lat):
    hemi = "N" if lat >= 0 else "S"
    lat = abs(lat)
    deg = int(lat)
    minutes = round((lat - deg) * 60, 5)
    if minutes >= 60:
        deg, minutes = deg + 1, 0.0
    return "%02d%08.5f" % (deg, minutes), hemi


def _lon_field(lon):
    hemi = "E" if lon >= 0 else "W"
    lon = abs(lon)
    deg = int(lon)
    minutes = round((lon - deg) * 60, 5)
    if minutes >= 60:
        deg, minutes = deg + 1, 0.0
    return "%03d%08.5f" % (deg, minutes), hemi


def time_fields(t):
    days, sod = divmod(int(t), 86400)
    # civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    y += m <= 2
    hh, rem = divmod(sod, 3600)
    mm, ss = divmod(rem, 60)
    return "%02d%02d%02d.00" % (hh, mm, ss), "%02d%02d%02d" % (d, m, y % 100)


def epoch_sentences(talker, t, lat, lon, speed_mps, course_deg, fix=True, hdop=1.0, sats=9, status_v=False):
    """The four sentences of one epoch, u-blox order: RMC, VTG, GGA, GSA (bytes with CRLF)."""
    hms, dmy = time_fields(t)
    if not fix:
        return [
            sentence("%sRMC,%s,V,,,,,,,%s,,,N" % (talker, hms, dmy)),
            sentence("%sVTG,,,,,,,,,N" % talker),
            sentence("%sGGA,%s,,,,,0,00,99.99,,,,,," % (talker, hms)),
            sentence("%sGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99" % talker),
        ]
    la, ns = _lat_field(lat)
    lo, ew = _lon_field(lon)
    knots = speed_mps * 3600 / 1852
    kmh = speed_mps * 3.6
    course = "%.2f" % (course_deg % 360) if speed_mps > 0.3 else ""
    status, mode = ("V", "N") if status_v else ("A", "A")
    svs = ",".join(["%02d" % (2 + 3 * i) for i in range(min(sats, 12))] + [""] * (12 - min(sats, 12)))
    return [
        sentence("%sRMC,%s,%s,%s,%s,%s,%s,%.3f,%s,%s,,,%s" % (talker, hms, status, la, ns, lo, ew, knots, course,
                                                              dmy, mode)),
        sentence("%sVTG,%s,T,,M,%.3f,N,%.3f,K,%s" % (talker, course, knots, kmh, mode)),
        sentence("%sGGA,%s,%s,%s,%s,%s,%d,%02d,%.2f,172.4,M,47.6,M,," % (talker, hms, la, ns, lo, ew,
                                                                       0 if status_v else 1, sats, hdop)),
        sentence("%sGSA,A,3,%s,%.2f,%.2f,%.2f" % (talker, svs, hdop * 1.6, hdop, hdop * 1.3)),
    ]


def corrupt_line(rng, line, next_line):
    """One corrupted version of `line`; returns (new_line, consumed_next)."""
    kind = rng.randrange(6)
    if kind == 0:  # flipped character: checksum failure
        i = rng.randrange(1, max(2, len(line) - 5))
        ch = line[i] ^ (1 << rng.randrange(7))
        return line[:i] + bytes([ch]) + line[i + 1:], False
    if kind == 1 and next_line is not None:  # spliced: `$GPGGA,0301$GPGLL,...`
        cut = rng.randrange(3, max(4, len(line) - 4))
        return line[:cut] + next_line, True
    if kind == 2:  # missing CR
        return line.rstrip(b"\r\n") + b"\n", False
    if kind == 3:  # bytes above 0x7F
        i = rng.randrange(1, len(line) - 2)
        return line[:i] + bytes([rng.randrange(0x80, 0x100) for _ in range(rng.randrange(1, 4))]) + line[i:], False
    if kind == 4:  # very long line of junk
        junk = bytes(rng.randrange(0x20, 0x7F) for _ in range(rng.randrange(120, 400)))
        return b"$GP" + junk.replace(b"\n", b"") + b"\r\n", False
    # truncated line (power glitch on the UART)
    return line[: rng.randrange(1, max(2, len(line) - 2))] + b"\r\n", False


def _tunnel_at(points, start, want_s):
    """(start, end) of a tunnel entered at `start` while moving: it lasts up to `want_s` seconds and only
    while the road stays roughly straight and the car moving (tunnels and underpasses are not street
    corners); None when the spot does not fit (less than 5 s)."""
    if points[start][3] < 5:
        return None
    heading = points[start][4]
    end = start
    while end < len(points) and end - start < want_s:
        p = points[end]
        turn = abs((p[4] - heading + 180) % 360 - 180)
        if p[3] < 3 or turn > 20:
            break
        end += 1
    return (start, end) if end - start >= 5 else None


def nmea_stream(points, seed=0, noise="realistic", talker="GP", **overrides):
    """Yield, for each true point (one per second), the list of NMEA lines the receiver sends."""
    cfg = noise_settings(noise, **overrides)
    rng = random.Random("nmea-%s" % (seed,))
    n = len(points)
    # Tunnels: explicit (start_s, duration_s) plus random ones placed where the car moves.
    outages = [(int(s), int(s) + int(d)) for s, d in cfg["tunnels"]]
    if cfg["tunnels_per_h"] and n:
        count = rng.poisson(cfg["tunnels_per_h"] * n / 3600) if hasattr(rng, "poisson") else None
        if count is None:
            lam = cfg["tunnels_per_h"] * n / 3600
            count = int(lam) + (1 if rng.random() < lam - int(lam) else 0)
        for _ in range(count):
            for _attempt in range(50):
                span = _tunnel_at(points, rng.randrange(n), rng.randrange(10, 91))
                if span:
                    outages.append(span)
                    break
    if cfg["canyon_per_h"] and n:
        lam = cfg["canyon_per_h"] * n / 3600
        for _ in range(int(lam) + (1 if rng.random() < lam - int(lam) else 0)):
            s = rng.randrange(n)
            if points[s][3] > 1:
                outages.append((s, s + rng.randrange(2, 7)))
    tau = max(cfg["tau_s"], 1.0)
    phi = math.exp(-1 / tau)
    drive = cfg["wander_m"] * math.sqrt(1 - phi * phi)
    # start the wander in its stationary distribution
    en = [rng.gauss(0, cfg["wander_m"]), rng.gauss(0, cfg["wander_m"])]
    mp_left, mp_off = 0, (0.0, 0.0)
    mp_rate = cfg["multipath_per_h"] / 3600
    for i, p in enumerate(points):
        t, lat, lon, v, course = p
        en[0] = phi * en[0] + rng.gauss(0, drive) if drive else 0.0
        en[1] = phi * en[1] + rng.gauss(0, drive) if drive else 0.0
        if mp_left <= 0 and mp_rate and rng.random() < mp_rate:
            mp_left = rng.randrange(2, 11)
            dist, ang = rng.uniform(10, 60), rng.uniform(0, 2 * math.pi)
            mp_off = (dist * math.cos(ang), dist * math.sin(ang))
        in_mp = mp_left > 0
        mp_left -= 1
        de = en[0] + rng.gauss(0, cfg["white_m"]) + (mp_off[0] if in_mp else 0)
        dn = en[1] + rng.gauss(0, cfg["white_m"]) + (mp_off[1] if in_mp else 0)
        m, nrad = radii(lat)
        mlat = lat + math.degrees(dn / m)
        mlon = lon + math.degrees(de / (nrad * math.cos(math.radians(lat))))
        # Doppler speed: true velocity vector plus noise, reported as a magnitude.
        sigma = cfg["speed_sigma_mps"] * (3 if in_mp else 1)
        ve = v * math.sin(math.radians(course)) + rng.gauss(0, sigma) if sigma else v * math.sin(math.radians(course))
        vn = v * math.cos(math.radians(course)) + rng.gauss(0, sigma) if sigma else v * math.cos(math.radians(course))
        speed = math.hypot(ve, vn)
        mcourse = math.degrees(math.atan2(ve, vn)) % 360 if speed > 0 else course
        hdop = cfg["hdop"] + abs(rng.gauss(0, 0.1)) + (rng.choice((0.0, 0.0, 1.5)) if in_mp else 0.0)
        sats = 9 if not in_mp else 6
        fix = not any(a <= i < b for a, b in outages)
        status_v = fix and cfg["status_v_with_position"] and rng.random() < cfg["status_v_with_position"]
        lines = epoch_sentences(talker, t, mlat, mlon, speed, mcourse, fix=fix, hdop=hdop, sats=sats,
                                status_v=bool(status_v))
        if cfg["garbage"]:
            out = []
            j = 0
            while j < len(lines):
                line = lines[j]
                nxt = lines[j + 1] if j + 1 < len(lines) else None
                if rng.random() < cfg["garbage"]:
                    line, consumed = corrupt_line(rng, line, nxt)
                    j += 1 if consumed else 0
                out.append(line)
                j += 1
            lines = out
        yield lines


def nmea_bytes(points, seed=0, noise="realistic", **kw):
    """The whole stream as one bytes object (for files and benchmarks)."""
    return b"".join(b"".join(lines) for lines in nmea_stream(points, seed, noise, **kw))


def _main(argv=None):
    import argparse
    import sys

    ap = argparse.ArgumentParser(description="Write a synthetic route as NMEA to stdout (or a file).")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kind", choices=KINDS, default="urban")
    ap.add_argument("--duration", type=int, default=600, help="seconds")
    ap.add_argument("--noise", choices=sorted(PRESETS), default="realistic")
    ap.add_argument("-o", "--out", help="output file (default stdout)")
    args = ap.parse_args(argv)
    pts = generate_route(args.seed, args.kind, args.duration)
    data = nmea_bytes(pts, args.seed, args.noise)
    if args.out:
        with open(args.out, "wb") as f:
            f.write(data)
    else:
        sys.stdout.buffer.write(data)
    print("true_length_m: %.1f" % true_length_m(pts), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
