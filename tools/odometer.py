"""Distance driven according to the firmware odometer, for an NMEA file (or stdin).

Usage: python3 tools/odometer.py [--verbose] [FILE|-]      (also: micropython tools/odometer.py ...)

Prints `distance_m: N` (the firmware parser feeding app.odometer.Odometer, exactly as on the box); with
--verbose also the parser's and the odometer's counters. Runs unchanged under CPython and MicroPython.
Exit status: 0, or 2 on a usage error or an unreadable file.
"""

import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _HERE + "/../firmware")

from app.odometer import Odometer  # noqa: E402
from drivers.nmea import NmeaParser  # noqa: E402

USAGE = "usage: odometer.py [--verbose] [FILE|-]   prints distance_m: N for an NMEA file"


def measure(stream, parser=None, odometer=None):
    """Feed every line of a binary stream; returns the Odometer."""
    parser = parser or NmeaParser()
    odometer = odometer or Odometer()
    while True:
        line = stream.readline()
        if not line:
            break
        fix = parser.feed(line)
        if fix is not None:
            odometer.update(fix)
    fix = parser.flush()
    if fix is not None:
        odometer.update(fix)
    return odometer


def main(argv):
    verbose = False
    path = None
    for arg in argv:
        if arg in ("-h", "--help"):
            print(USAGE)
            return 0
        if arg in ("-v", "--verbose"):
            verbose = True
        elif arg.startswith("--") or path is not None:
            print(USAGE, file=sys.stderr)
            return 2
        else:
            path = arg
    try:
        stream = getattr(sys.stdin, "buffer", sys.stdin) if path in (None, "-") else open(path, "rb")
    except OSError as exc:
        print("cannot read %s: %s" % (path, exc), file=sys.stderr)
        return 2
    parser = NmeaParser()
    odo = measure(stream, parser)
    print("distance_m: %d" % odo.total_m)
    if verbose:
        print("sentences: %d" % parser.sentences)
        print("crc_fails: %d" % parser.crc_fails)
        print("rejected: %d" % parser.rejected)
        print("skipped_fixes: %d" % odo.skipped)
        print("jumps: %d" % odo.jumps)
        print("gaps_bridged: %d" % odo.gaps_bridged)
        print("gaps_dropped: %d" % odo.gaps_dropped)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
