"""The smallest MicroPython heap that completes the scripted day from the .mpy build (bisection).

    python -m tools.bench heap [--low 16] [--high 512] [--step 4]

Each probe boots the real firmware with `micropython -X heapsize=<N>K`, syncs with the live server and
plays hil_tests/harness/day.py (three trips, six taps) on a fast clock; it passes when the process is
still alive at the end and the server holds every trip. Prints heap_min_kb and probes.
"""

import argparse
import os
import sys
import tempfile


def probe(heap_kb, factor=600):
    from hil_tests.harness import day
    from hil_tests.harness.bench import Bench

    with tempfile.TemporaryDirectory(prefix="bench-heap-") as workdir:
        bench = Bench(os.path.join(workdir, "b"), factor=factor)
        try:
            box = bench.box(1, start=False, heap="%dK" % heap_kb)
            day.book(bench, 1)
            try:
                box.start(boot_timeout=20)
            except RuntimeError:
                return False
            if not bench.wait_sync(1, timeout=30):
                return False
            played = day.play(bench, box)
            if not box.firmware.alive():
                return False
            trips = bench.fleet.wait(lambda: len([t for t in bench.fleet.trips(1) if t["end"]]) >= played["trips"],
                                     timeout=30)
            return bool(trips) and played["trips"] > 0 and box.firmware.alive()
        finally:
            if os.environ.get("HEAP_VERBOSE"):
                log = box.firmware.log(100000)
                errors = sorted({line.strip() for line in log.splitlines() if "Error" in line})
                print("    %dK: %s" % (heap_kb, "; ".join(errors)[:300] or "no error in the log"), flush=True)
            bench.close()


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.bench heap", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--low", type=int, default=16, help="KB known (or assumed) to fail")
    parser.add_argument("--high", type=int, default=512, help="KB expected to pass")
    parser.add_argument("--step", type=int, default=4, help="resolution in KB")
    args = parser.parse_args(argv)
    from hil_tests.harness import deps

    missing = deps.missing("server", "firmware", "modem", "reader", "tracks")
    if missing:
        print("heap: skipped (%s)" % "; ".join(missing))
        return 0
    probes = 0
    low, high = args.low, args.high
    probes += 1
    if not probe(high):
        print("heap: the scripted day fails even with %d KB" % high, file=sys.stderr)
        print("heap_min_kb: >%d" % high)
        return 1
    while high - low > args.step:
        mid = (low + high) // 2
        probes += 1
        ok = probe(mid)
        print("  heapsize=%dK: %s" % (mid, "ok" if ok else "fails"), flush=True)
        if ok:
            high = mid
        else:
            low = mid
    print("probes: %d" % probes)
    print("heap_min_kb: %d" % high)
    return 0
