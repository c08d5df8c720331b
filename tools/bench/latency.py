"""Badge tap to relay release, while a sync is in flight against a modem that takes 5 s to answer.

    python -m tools.bench latency [--modem sim800|a7670|sim7080] [--taps 200] [--modem-delay 5]
        [--board unix|esp32] [--interpreter mpy64|frozen32]

The box runs the real firmware (mpy-cross build) in real time (clock factor 1). The fleet manager's badge
(permanent role) is tapped in and out; each badge-out ends a trip, which starts a sync that the slow modem
keeps in flight (by default the TCP exchange answers after 5 s; --every-answer delays every AT answer).
--modem picks the emulated modem family (hil_tests/emulators); the firmware reads it from the modem.
Goal: latency_p99_ms <= 20 on each family.
taps_with_modem_session counts the releases measured while the modem was powered for a sync; taps_missed the
taps the reader took for the previous presentation (its removal 0.3 s before went unseen on a loaded machine:
no decision at all, not a slow one), after which the bench re-arms the starter and goes on.
Prints latency_p50_ms, latency_p99_ms (card on the reader -> `PIN relay 0` on the control line, as the
bench sees it), latency_max_ms and taps. `--board esp32` runs the firmware through hal/esp32.py on the bench's
machine/esp32 stand-in (hil_tests/esp32_bench; goal latency_p99_ms <= 20), `--interpreter frozen32` on the
frozen 32-bit build (`make frozen`).
"""

import argparse
import os
import sys
import tempfile
import threading
import time


def percentile(values, pct):
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


def _slow_network(modem, delay_s, stop):
    """Delay the modem's answers while the box is in a TCP exchange (from its open command to the close)."""
    while not stop.wait(0.01):
        commands = modem.commands
        last = commands[-1] if commands else ""
        modem.delay_s = delay_s if last.startswith(modem.tcp_commands) else 0.0


def _rearm(box, uid, tries=3):
    """Badge out until the starter is blocked again (a tap the reader took for the previous presentation, on a
    loaded machine, leaves the trip open). True once the relay is back at 1."""
    for _ in range(tries):
        if box.control.pin("relay") == 1:
            return True
        since = box.control.mark()
        box.tap(uid, hold_s=0.1)
        if box.control.wait_pin("relay", 1, 10, since=since) is not None:
            return True
        time.sleep(0.5)
    return box.control.pin("relay") == 1


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.bench latency", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modem", default="sim800", choices=("sim800", "a7670", "sim7080"),
                        help="the emulated modem family (default sim800)")
    parser.add_argument("--taps", type=int, default=200)
    parser.add_argument("--modem-delay", type=float, default=5.0, help="seconds before each modem answer")
    parser.add_argument("--every-answer", action="store_true",
                        help="delay every AT answer (the driver's 500 ms AT probe then fails and the modem is "
                             "power-cycled); default: delay the answers of the TCP exchange (CIPSTART, CIPSEND, "
                             "data), a sync stuck on a slow network")
    parser.add_argument("--board", choices=("unix", "esp32"), default="unix",
                        help="the HAL the firmware runs through (esp32: hal/esp32.py on the bench's stand-in)")
    parser.add_argument("--interpreter", choices=("mpy64", "frozen32"), default="mpy64",
                        help="the .mpy build on the 64-bit micropython, or the frozen 32-bit build")
    args = parser.parse_args(argv)
    from hil_tests.harness import deps

    missing = deps.missing("server", "firmware", "modem", "reader", "tracks")
    if missing:
        print("latency: skipped (%s)" % "; ".join(missing))
        return 0
    from hil_tests.harness.bench import Bench
    from hil_tests.harness.seed import BADGES

    samples = []
    in_session = []
    in_flight = 0
    missed = 0
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as workdir:
        bench = Bench(os.path.join(workdir, "b"), factor=1, modem=args.modem, board=args.board,
                      interpreter=args.interpreter)
        try:
            box = bench.box(1)
            if not bench.wait_sync(1, timeout=60):
                print("latency: the box never synced; firmware log:\n" + box.firmware.log(), file=sys.stderr)
                return 1
            stop = threading.Event()
            if args.every_answer:
                box.modem.delay_s = args.modem_delay
            else:
                threading.Thread(target=_slow_network, args=(box.modem, args.modem_delay, stop), daemon=True).start()
            uid = BADGES["max"]
            for _ in range(args.taps):
                since = box.control.mark()
                t0 = time.monotonic()
                box.reader.tap(uid)
                released = box.control.wait_pin("relay", 0, 10, since=since)
                box.reader.remove()
                if released is None:
                    # the reader took this tap for the previous presentation (its removal unseen): start again
                    missed += 1
                    if missed > 10 or not _rearm(box, uid):
                        print("latency: no release within 10 s, %d times" % missed, file=sys.stderr)
                        break
                    time.sleep(0.5)
                    continue
                samples.append((released.t - t0) * 1000)
                if box.control.pin("modem_power") == 1:
                    in_flight += 1  # the modem is up: a sync is talking to it
                    in_session.append(samples[-1])
                time.sleep(0.3)  # the reader sees the card gone
                since = box.control.mark()
                box.tap(uid, hold_s=0.1)  # badge-out: trip end -> another sync against the slow modem
                if box.control.wait_pin("relay", 1, 10, since=since) is None:
                    _rearm(box, uid)
                time.sleep(0.3)
            modem_commands = len(box.modem.commands) if box.modem is not None else 0
            stop.set()
        finally:
            bench.close()
    print("modem: %s, board: %s, interpreter: %s" % (args.modem, args.board, args.interpreter))
    print("modem_commands: %d" % modem_commands)
    print("taps: %d" % len(samples))
    print("taps_missed: %d" % missed)
    print("taps_with_modem_session: %d" % in_flight)
    print("latency_p50_ms: %.1f" % percentile(samples, 50))
    print("latency_p99_ms: %.1f" % percentile(samples, 99))
    print("latency_max_ms: %.1f" % (max(samples) if samples else 0.0))
    print("latency_in_session_p50_ms: %.1f" % percentile(in_session, 50))
    print("latency_in_session_max_ms: %.1f" % (max(in_session) if in_session else 0.0))
    return 0
