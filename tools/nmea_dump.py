"""Run the firmware NMEA parser over a file (or stdin) and print one JSON line per accepted position.

Usage: python3 tools/nmea_dump.py [--all] [--stats] [FILE|-]      (also: micropython tools/nmea_dump.py ...)

Each line: {"t": epoch, "lat": deg, "lon": deg, "speed": m/s, "course": deg, "quality": n, "hdop": x}
(null where the receiver did not report the value). Only valid fixes are printed unless --all is given
(then "valid" is added). --stats prints the parser's counters on stderr at the end. Runs unchanged under
CPython and MicroPython: the decimals are written from the firmware's integers, without floats.
Exit status: 0, or 2 on a usage error or an unreadable file.
"""

import sys

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."
sys.path.insert(0, _HERE + "/../firmware")

from drivers.nmea import NmeaParser  # noqa: E402

USAGE = """usage: nmea_dump.py [--all] [--stats] [FILE|-]
Prints one JSON line per valid position the firmware NMEA parser accepts (--all: invalid ones too, with
"valid"); --stats: parser counters on stderr."""


def decimal(value, places):
    """Integer `value` scaled by 10**places -> JSON decimal text, e.g. (-457597000, 7) -> "-45.7597000"."""
    sign = "-" if value < 0 else ""
    value = -value if value < 0 else value
    scale = 10 ** places
    frac = str(value % scale)
    return "%s%d.%s" % (sign, value // scale, "0" * (places - len(frac)) + frac)


def fix_json(fix, with_valid=False):
    def opt(value, places):
        return "null" if value < 0 else decimal(value, places)

    text = '{"t": %d, "lat": %s, "lon": %s, "speed": %s, "course": %s, "quality": %d, "hdop": %s' % (
        fix.t, decimal(fix.lat, 7), decimal(fix.lon, 7), opt(fix.speed_mms, 3), opt(fix.course_cdeg, 2),
        fix.quality, opt(fix.hdop_c, 2))
    if with_valid:
        text += ', "valid": %s' % ("true" if fix.valid else "false")
    return text + "}"


def open_input(path):
    if path is None or path == "-":
        return getattr(sys.stdin, "buffer", sys.stdin)
    return open(path, "rb")


def parse_args(argv, flags):
    """Tiny argv parser (argparse does not exist on MicroPython): returns (set of flags, path or None)."""
    seen = set()
    path = None
    for arg in argv:
        if arg in ("-h", "--help"):
            print(USAGE)
            raise SystemExit(0)
        if arg in flags:
            seen.add(arg)
        elif arg.startswith("--") or path is not None:
            print(USAGE, file=sys.stderr)
            raise SystemExit(2)
        else:
            path = arg
    return seen, path


def main(argv):
    flags, path = parse_args(argv, ("--all", "--stats"))
    try:
        stream = open_input(path)
    except OSError as exc:
        print("cannot read %s: %s" % (path, exc), file=sys.stderr)
        return 2
    parser = NmeaParser()
    show_all = "--all" in flags
    while True:
        line = stream.readline()
        if not line:
            break
        fix = parser.feed(line)
        if fix is not None and (fix.valid or show_all):
            print(fix_json(fix, show_all))
    fix = parser.flush()
    if fix is not None and (fix.valid or show_all):
        print(fix_json(fix, show_all))
    if "--stats" in flags:
        print("sentences: %d crc_fails: %d rejected: %d ignored: %d" % (
            parser.sentences, parser.crc_fails, parser.rejected, parser.ignored), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
