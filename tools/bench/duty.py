"""Parked duty cycle over a simulated week: how long the box is awake, how long its modem is powered.

    python -m tools.bench duty [--days 7] [--factor 2000]

The box parks (ignition off, GPS parked) for `--days` simulated days on a fast clock with the live server
reachable. Parked, the firmware sleeps (`board.doze`: a light sleep on the ESP32, a blocking wait on the
Unix port during which no task runs) until the next sync is due (at most 10 s of box time), the
ignition, the reader (armed: it answers only when a card comes) or the control line wakes it; then it
gives its tasks a short round and sleeps again. Its `DUTY` report (docs/bench.md) counts the real time
spent asleep and the number of sleeps.

On a fast clock a real millisecond asleep stands for `factor` box milliseconds, while work done awake
(a round of the tasks, a modem session) takes the real time it takes, as on a box. So the box's own
time line is rebuilt from the stretch: awake = real time not asleep, asleep = real time asleep x factor:
- parked_awake_pct: awake / (awake + asleep), the share of its time a parked box is not sleeping.
- parked_modem_on_pct: the modem's powered time (`PIN modem_power` edges, real seconds: a session runs
  in real time) over the same rebuilt time line; a real SIM800 needs more seconds per session (network
  registration) than the emulator, which scales this figure up (modem_on_s_per_session is printed).
Both are per-cycle ratios: the fast clock gives fewer cycles than a real week (box time runs on while the
box is awake), but each cycle's awake/asleep split is the box's. Also printed: sleeps, the mean sleep in
box seconds, the awake milliseconds per wake-up, parked_cpu_pct (CPU time over real time, the old proxy).
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
    """The last `DUTY <cpu_ms> <real_ms> <sim_ms> <asleep_ms> <dozes>` report (docs/bench.md) as a dict,
    empty when none came."""
    for line in reversed(lines):
        parts = line.split()
        if len(parts) >= 6 and parts[0] == "DUTY":
            try:
                cpu, real, sim, asleep, dozes = (int(p) for p in parts[1:6])
            except ValueError:
                continue
            return {"cpu_ms": cpu, "real_ms": real, "sim_ms": sim, "asleep_ms": asleep, "dozes": dozes}
    return {}


def rebuilt_time(start, end, factor):
    """(awake_ms, asleep_box_ms) of the box between two DUTY reports (see the module docstring)."""
    real = end["real_ms"] - start["real_ms"]
    asleep = end["asleep_ms"] - start["asleep_ms"]
    return real - asleep, asleep * factor


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
    parser.add_argument("--factor", type=int, default=2000,
                        help="simulated seconds per real second (2000: a 10 s sleep lasts 5 ms, long enough to time)")
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
    if not (duty_start and duty_end):
        print("parked_awake_pct: unknown (the box sent no DUTY report)")
        print("parked_modem_on_pct: %.4f (over the simulated week)" % (100 * on_real_s / (args.days * DAY)))
        return 1
    awake_ms, asleep_box_ms = rebuilt_time(duty_start, duty_end, args.factor)
    total_ms = max(1, awake_ms + asleep_box_ms)
    dozes = duty_end["dozes"] - duty_start["dozes"]
    real = duty_end["real_ms"] - duty_start["real_ms"]
    print("sleeps: %d" % dozes)
    print("mean_sleep_box_s: %.1f" % (asleep_box_ms / 1000 / max(1, dozes)))
    print("awake_ms_per_wake: %.1f" % (awake_ms / max(1, dozes)))
    print("rebuilt_box_days: %.2f" % (total_ms / 1000 / DAY))
    print("parked_cpu_pct: %.2f" % (100 * (duty_end["cpu_ms"] - duty_start["cpu_ms"]) / max(1, real)))
    print("parked_awake_pct: %.3f" % (100 * awake_ms / total_ms))
    print("parked_modem_on_pct: %.4f" % (100 * on_real_s * 1000 / total_ms))
    print("sync_frames: %s" % syncs)
    return 0
