"""Parked duty cycle over a simulated week: how long the box is awake, how long its modem is powered.

    python -m tools.bench duty [--days 7] [--factor 14400]

The box parks (ignition off, GPS parked) for `--days` simulated days on a fast clock with the live server
reachable. parked_modem_on_pct comes from the `PIN modem_power` edges the bench sees (simulated time);
parked_awake_pct from the box's own `DUTY` report on the control line (docs/bench.md) when it sends one.
"""

import argparse
import os
import sys
import tempfile
import time

DAY = 86400


def on_fraction(history, t_start, t_end, initial):
    """Fraction of [t_start, t_end] (real monotonic seconds) a 0/1 signal spent at 1."""
    on_time = 0.0
    state, since = initial, t_start
    for t, value in history:
        if t < t_start:
            state = value
            continue
        if state:
            on_time += t - since
        state, since = value, t
    if state:
        on_time += t_end - since
    return on_time / max(1e-9, t_end - t_start)


def parse_duty(lines):
    """The last `DUTY key value ...` report as a dict of ints (empty when the box sends none)."""
    for line in reversed(lines):
        parts = line.split()
        if parts and parts[0] == "DUTY":
            out = {}
            for key, value in zip(parts[1::2], parts[2::2]):
                try:
                    out[key] = int(value)
                except ValueError:
                    pass
            return out
    return {}


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.bench duty", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--factor", type=int, default=14400, help="simulated seconds per real second")
    args = parser.parse_args(argv)
    from hil_tests.harness import deps

    missing = deps.missing("server", "firmware", "modem", "reader", "tracks")
    if missing:
        print("duty: skipped (%s)" % "; ".join(missing))
        return 0
    from hil_tests.harness.bench import Bench

    with tempfile.TemporaryDirectory(prefix="bench-duty-") as workdir:
        bench = Bench(os.path.join(workdir, "b"), factor=args.factor)
        try:
            box = bench.box(1)
            if not bench.wait_sync(1, timeout=60):
                print("duty: the box never synced; firmware log:\n" + box.firmware.log(), file=sys.stderr)
                return 1
            mark = box.control.mark()
            initial = box.control.pin("modem_power", 0)
            t_start = time.monotonic()
            duty_start = parse_duty(box.control.lines())
            bench.clock.sleep(args.days * DAY)
            t_end = time.monotonic()
            history = box.control.pin_history("modem_power", mark)
            box.control.send("DUTY")  # asks for a fresh report when the HAL supports it
            time.sleep(0.5)
            duty_end = parse_duty(box.control.lines(mark))
            syncs = bench.last_seen(1)[1]
        finally:
            bench.close()
    modem_pct = 100 * on_fraction(history, t_start, t_end, initial)
    print("parked_days: %d" % args.days)
    print("parked_modem_on_pct: %.2f" % modem_pct)
    awake_key = next((k for k in ("awake_ms", "awake") if k in duty_end), None)
    total_key = next((k for k in ("total_ms", "uptime_ms", "total") if k in duty_end), None)
    if awake_key and total_key:
        awake = duty_end[awake_key] - duty_start.get(awake_key, 0)
        total = duty_end[total_key] - duty_start.get(total_key, 0)
        print("parked_awake_pct: %.2f" % (100 * awake / max(1, total)))
    else:
        print("parked_awake_pct: unknown (the box sent no DUTY report)")
    print("sync_frames: %s" % syncs)
    return 0
