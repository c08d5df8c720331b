"""GPS odometer accuracy: the firmware parser and odometer against the true length of generated routes.

Usage: python -m tools.bench odometer [--seeds N] [--duration S]

Routes from tools/tracks.py: kinds urban (stop-and-go), mixed and highway, seeds 1..N, S seconds each, NMEA
with "realistic" noise (+-3-5 m wander, multipath jumps, tunnels and short fix losses, status-V sentences,
garbage lines). Printed figures:
- route_error_pct: the worst absolute error against the true (integrated) length, over all those routes;
- route_error_mean_pct: mean absolute error; route_error_<kind>_pct: worst per kind;
- route_error_harsh_pct: worst with the "harsh" preset (more multipath, tunnels, garbage);
- route_error_no_speed_pct: worst error when the receiver reports no speed (the odometer's fallback on
  positions), same realistic input;
- naive_chord_error_pct: worst error of summing the distance between successive valid fixes (what a
  simple tracker does) on the same realistic input, for comparison;
- parked_8h_m: metres accumulated over 8 hours parked (realistic), parked_8h_harsh_m with the harsh preset,
  parked_8h_no_speed_m without speed from the receiver.
"""

import argparse
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "firmware"))

from app import geo  # noqa: E402
from app.odometer import Odometer  # noqa: E402
from drivers.nmea import NmeaParser  # noqa: E402

from tools import tracks  # noqa: E402


def run(points, seed, noise, strip_speed=False):
    """(odometer metres, naive chord-sum metres) for a route's NMEA stream; `strip_speed` plays a receiver
    that reports no speed (GGA only)."""
    parser = NmeaParser()
    odo = Odometer()
    naive_mm = 0
    prev = None
    for second in tracks.nmea_stream(points, seed, noise):
        for line in second:
            fix = parser.feed(line)
            if fix is None:
                continue
            if strip_speed:
                fix.speed_mms = -1
                fix.course_cdeg = -1
            odo.update(fix)
            if fix.valid:
                if prev is not None:
                    naive_mm += geo.distance_mm(prev.lat, prev.lon, fix.lat, fix.lon)
                prev = fix
    return odo.total_m, naive_mm // 1000


def error_pct(measured, true):
    return abs(measured - true) * 100 / true


def main(argv):
    ap = argparse.ArgumentParser(prog="python -m tools.bench odometer", description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=4, help="routes per kind")
    ap.add_argument("--duration", type=int, default=3600, help="seconds per route")
    args = ap.parse_args(argv)
    worst = {}
    errors = []
    naive = []
    harsh = []
    no_speed = []
    for kind in ("urban", "mixed", "highway"):
        for seed in range(1, args.seeds + 1):
            points = tracks.generate_route(seed, kind, args.duration)
            true = tracks.true_length_m(points)
            measured, chord = run(points, seed, "realistic")
            err = error_pct(measured, true)
            errors.append(err)
            worst[kind] = max(worst.get(kind, 0.0), err)
            naive.append(error_pct(chord, true))
            harsh.append(error_pct(run(points, seed, "harsh")[0], true))
            no_speed.append(error_pct(run(points, seed, "realistic", strip_speed=True)[0], true))
    parked = tracks.generate_route(1, "parked", 8 * 3600)
    parked_m = run(parked, 1, "realistic")[0]
    parked_harsh_m = run(parked, 2, "harsh")[0]
    parked_no_speed_m = run(parked, 3, "realistic", strip_speed=True)[0]
    print("routes: %d" % len(errors))
    print("route_error_pct: %.3f" % max(errors))
    print("route_error_mean_pct: %.3f" % (sum(errors) / len(errors)))
    for kind in ("urban", "mixed", "highway"):
        print("route_error_%s_pct: %.3f" % (kind, worst[kind]))
    print("route_error_harsh_pct: %.3f" % max(harsh))
    print("route_error_no_speed_pct: %.3f" % max(no_speed))
    print("naive_chord_error_pct: %.2f" % max(naive))
    print("parked_8h_m: %d" % parked_m)
    print("parked_8h_harsh_m: %d" % parked_harsh_m)
    print("parked_8h_no_speed_m: %d" % parked_no_speed_m)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
