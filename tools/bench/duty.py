"""Parked duty cycle over a simulated week: how long the box is awake, how long its modem is powered.

    python -m tools.bench duty [--days 7] [--factor 14400]

The box parks (ignition off, GPS parked) for `--days` simulated days on a fast clock with the live server
reachable.
- parked_modem_on_pct: the modem's powered time (`PIN modem_power` edges seen by the bench) over the simulated
  week. A modem session runs in real time (AT timeouts are real, the emulator answers at once), so the
  powered time is counted in real seconds and divided by the simulated duration; a real SIM800 needs more
  seconds per session (network registration), which scales this figure up.
- parked_awake_pct: the box's own `DUTY <cpu_ms> <real_ms> <sim_ms>` report (docs/bench.md): CPU time over
  real wall time while parked. The firmware's polling loops (reader 25 Hz, GPS 20 Hz, sync check 2 Hz,
  watchdog 1 Hz, control 1 Hz parked / 10 Hz otherwise) sleep in real milliseconds, so this is the share
  of time they keep a box awake; the modem sessions, which come `factor` times more often per real second
  than on a box, inflate it (an upper bound).
- parked_awake_sim_pct: the same CPU time over the simulated duration (the box's time base). It counts each
  modem session once per simulated sync, but the real-time polls above `factor` times too cheaply: a lower
  bound. The box's figure lies between the two.
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
    """The last `DUTY <awake_ms> <real_ms>` report (docs/bench.md) as a dict, empty when none came."""
    for line in reversed(lines):
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "DUTY":
            try:
                return {"awake_ms": int(parts[1]), "total_ms": int(parts[2]),
                        "sim_ms": int(parts[3]) if len(parts) >= 4 else None}
            except ValueError:
                continue
    return {}


def wait_duty(control, mark, count, timeout=5.0):
    """The last DUTY report once `count` of them arrived since `mark` (the parked box answers within
    its tick), empty when none came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = control.lines(mark)
        if len([1 for line in lines if line.startswith("DUTY ")]) >= count:
            break
        time.sleep(0.05)
    return parse_duty(control.lines(mark))


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
            box.control.send("DUTY")
            duty_start = wait_duty(box.control, mark, 1)
            bench.clock.sleep(args.days * DAY)
            t_end = time.monotonic()
            history = box.control.pin_history("modem_power", mark)
            box.control.send("DUTY")
            duty_end = wait_duty(box.control, mark, 2)
            syncs = bench.last_seen(1)[1]
        finally:
            bench.close()
    on_real_s = on_fraction(history, t_start, t_end, initial) * (t_end - t_start)
    sessions = len([1 for _, value in history if value == 1])
    print("parked_days: %d" % args.days)
    print("clock_factor: %d" % args.factor)
    print("modem_sessions: %d" % sessions)
    print("modem_on_s_per_session: %.2f" % (on_real_s / max(1, sessions)))
    print("parked_modem_on_pct: %.4f" % (100 * on_real_s / (args.days * DAY)))
    if duty_end and duty_start:
        # CPU time over wall time of the parked stretch (the Unix port's stand-in for time awake).
        awake = duty_end["awake_ms"] - duty_start["awake_ms"]
        total = duty_end["total_ms"] - duty_start["total_ms"]
        print("parked_awake_pct: %.2f" % (100 * awake / max(1, total)))
        if duty_end.get("sim_ms") is not None and duty_start.get("sim_ms") is not None:
            sim = duty_end["sim_ms"] - duty_start["sim_ms"]
            print("parked_awake_sim_pct: %.4f" % (100 * awake / max(1, sim)))
    else:
        print("parked_awake_pct: unknown (the box sent no DUTY report)")
    print("sync_frames: %s" % syncs)
    return 0
