"""NMEA parser throughput: the firmware parser under micropython and CPython, and pynmea2, on the same input.

Usage: python -m tools.bench nmea [--seconds N] [--repeat N]

Input: a generated mixed route (tools/tracks.py), "realistic" noise (garbage lines included), u-blox order
RMC, VTG, GGA, GSA, written to a temporary file. Each figure is the best of --repeat passes.
- micropython_sentences_per_s: `micropython` (the Unix port next to this interpreter) running
  firmware/drivers/nmea.py over the file's lines;
- cpython_sentences_per_s: the same parser under this CPython;
- pynmea2_sentences_per_s: pynmea2.parse(line, check=True) plus reading the fields the firmware keeps
  (pynmea2 converts fields lazily, so this is the same work); pynmea2_parse_only_sentences_per_s: without
  reading any field, for reference;
- ratio_vs_pynmea2: cpython_sentences_per_s / pynmea2_sentences_per_s.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIRMWARE = os.path.join(ROOT, "firmware")

MP_SCRIPT = """
import sys, time
sys.path.insert(0, %r)
from drivers.nmea import NmeaParser
f = open(%r, "rb")
lines = []
while True:
    line = f.readline()
    if not line:
        break
    lines.append(line)
f.close()
best = 0
for _ in range(%d):
    p = NmeaParser()
    t0 = time.ticks_us()
    for line in lines:
        p.feed(line)
    dt = time.ticks_diff(time.ticks_us(), t0)
    rate = len(lines) * 1000000 // max(dt, 1)
    if rate > best:
        best = rate
print("rate %%d" %% best)
"""


def micropython_binary():
    candidate = os.path.join(os.path.dirname(sys.executable), "micropython")
    return candidate if os.path.exists(candidate) else "micropython"


def make_input(seconds):
    from tools import tracks

    points = tracks.generate_route(1, "mixed", seconds)
    return [line for second in tracks.nmea_stream(points, 1, "realistic") for line in second]


def bench_firmware(lines, repeat):
    sys.path.insert(0, FIRMWARE)
    from drivers.nmea import NmeaParser

    best = 0.0
    for _ in range(repeat):
        parser = NmeaParser()
        feed = parser.feed
        t0 = time.perf_counter()
        for line in lines:
            feed(line)
        best = max(best, len(lines) / (time.perf_counter() - t0))
    return best, parser


def _pynmea2_fields(msg):
    kind = msg.sentence_type
    if kind == "RMC":
        return (msg.latitude, msg.longitude, msg.spd_over_grnd, msg.true_course, msg.datestamp, msg.timestamp,
                msg.status)
    if kind == "GGA":
        return msg.latitude, msg.longitude, msg.gps_qual, msg.num_sats, msg.horizontal_dil, msg.timestamp
    if kind == "VTG":
        return msg.true_track, msg.spd_over_grnd_kts, msg.spd_over_grnd_kmph
    if kind == "GSA":
        return msg.mode_fix_type, msg.hdop
    return None


def bench_pynmea2(lines, repeat, fields):
    import pynmea2

    texts = [line.decode("latin-1") for line in lines]
    parse = pynmea2.parse
    best = 0.0
    for _ in range(repeat):
        t0 = time.perf_counter()
        for text in texts:
            try:
                msg = parse(text, check=True)
                if fields:
                    _pynmea2_fields(msg)
            except (pynmea2.ParseError, ValueError, AttributeError, TypeError):
                pass
        best = max(best, len(texts) / (time.perf_counter() - t0))
    return best


def bench_micropython(path, repeat):
    code = MP_SCRIPT % (FIRMWARE, path, repeat)
    try:
        out = subprocess.run([micropython_binary(), "-c", code], capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print("micropython failed: %s" % exc, file=sys.stderr)
        return None
    for line in out.stdout.splitlines():
        if line.startswith("rate "):
            return int(line.split()[1])
    print("micropython failed: %s" % (out.stderr or out.stdout).strip(), file=sys.stderr)
    return None


def main(argv):
    ap = argparse.ArgumentParser(prog="python -m tools.bench nmea", description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=1800, help="route length in seconds (4 sentences each)")
    ap.add_argument("--repeat", type=int, default=3, help="passes per parser; the best is kept")
    args = ap.parse_args(argv)
    lines = make_input(args.seconds)
    fd, path = tempfile.mkstemp(prefix="bench-nmea-", suffix=".nmea")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(b"".join(lines))
        mp_rate = bench_micropython(path, args.repeat)
    finally:
        os.unlink(path)
    cp_rate, parser = bench_firmware(lines, args.repeat)
    py_rate = bench_pynmea2(lines, args.repeat, fields=True)
    py_parse_rate = bench_pynmea2(lines, args.repeat, fields=False)
    print("input_lines: %d" % len(lines))
    print("input_rejected_or_crc: %d" % (parser.rejected + parser.crc_fails))
    print("micropython_sentences_per_s: %s" % (mp_rate if mp_rate is not None else "n/a"))
    print("cpython_sentences_per_s: %d" % cp_rate)
    print("pynmea2_sentences_per_s: %d" % py_rate)
    print("pynmea2_parse_only_sentences_per_s: %d" % py_parse_rate)
    print("ratio_vs_pynmea2: %.2f" % (cp_rate / py_rate))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
