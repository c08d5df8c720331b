"""hal/esp32.py itself on the bench: the machine/esp32 stand-in (hil_tests/esp32_bench) keeps to MicroPython's
documented API, and no call into the HAL holds the event loop more than 20 ms while a scenario runs through it
(the blocking-call check, issue 15: `BLOCK <call> <ms>` on the control line names the culprit)."""

import os
import subprocess
import time


from hil_tests.harness import gps
from hil_tests.harness.control import GRANTED
from hil_tests.harness.firmware import ROOT, micropython_binary
from hil_tests.harness.seed import BADGES

STANDIN = os.path.join(ROOT, "hil_tests", "esp32_bench")
HOUR = 3600


def run_standin(code, tmp_path):
    """Run `code` under micropython with the stand-in folder and the firmware sources on the path."""
    setup = "import sys\nsys.path[:0] = [%r, %r, %r]\n" % (STANDIN, os.path.join(ROOT, "firmware"), ROOT)
    result = subprocess.run([micropython_binary(), "-c", setup + code], cwd=str(tmp_path), capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.split()


def test_the_blocking_check_names_the_call_that_holds_the_loop(tmp_path):
    out = run_standin("""
import time, blockcheck
class Board:
    def quick(self):
        return 1
    def pulse(self):
        time.sleep_ms(60)
    def nested(self):
        self.quick()
        self.pulse()
blockcheck.install(Board, lambda line: print(line.replace(' ', ':')))
b = Board()
b.quick(); b.pulse(); b.nested()
""", tmp_path)
    assert [line.rsplit(":", 1)[0] for line in out] == ["BLOCK:Board.pulse", "BLOCK:Board.nested"]
    assert all(int(line.rsplit(":", 1)[1]) >= 50 for line in out)  # held about 60 ms


def test_standin_keeps_to_the_documented_machine_api(tmp_path):
    out = run_standin("""
import machine, esp32
def refused(fn, *a, **k):
    try:
        fn(*a, **k)
    except (ValueError, TypeError, OSError):
        return 'refused'
    return 'accepted'
print(refused(machine.Pin, 34, machine.Pin.OUT))        # GPIO 34..39 are inputs only
print(refused(machine.Pin, 20))                         # no GPIO 20 on an ESP32
print(refused(machine.WDT, timeout=500))                # the ESP32's minimum is 1 s
print(refused(machine.UART, 3))                         # UART0..2 only
print(refused(machine.UART, 1, 9600, baud=9600))         # not an argument of machine.UART
print(refused(machine.Pin, 14, machine.Pin.OUT, value=0))
print(machine.reset_cause() == machine.PWRON_RESET)
rtc = machine.RTC()
print(rtc.datetime()[0])                                # power-on: 2000-01-01
rtc.datetime((2026, 12, 7, 0, 10, 30, 0, 0))
print(rtc.datetime()[:3] == (2026, 12, 7))
print(refused(esp32.wake_on_ext0, 34, esp32.WAKEUP_ANY_HIGH))  # a Pin, not a number
""", tmp_path)
    assert out == ["refused", "refused", "refused", "refused", "refused", "accepted", "True", "2000", "True",
                   "refused"]


def _hal_blocks(box):
    return [line for line in box.control.lines() if line.startswith("BLOCK ")]


def test_no_hal_call_holds_the_event_loop_over_20_ms_through_a_trip(make_bench):
    bench = make_bench(factor=120, board="esp32")
    box = bench.box(5, start=False)
    now = bench.clock.now()
    bench.fleet.reserve(5, "alice", now - 600, now + 3 * HOUR)
    box.start()
    assert bench.wait_sync(5, timeout=30), "the box never synced:\n" + bench.diagnostics()
    since = box.control.mark()
    box.reader.tap(BADGES["alice"])
    assert box.control.wait_pin("relay", 0, 5, since=since) is not None, bench.diagnostics()
    box.control.set_ignition(1)
    box.reader.remove()
    assert box.feedback(since) == GRANTED
    box.gps.drive(gps.route(seed=5, kind="urban", duration_s=300, start=box.gps.position))
    box.control.set_ignition(0)
    time.sleep(0.5)
    since = box.tap(BADGES["alice"])  # badge-out: a sync at trip end
    assert box.control.wait_pin("relay", 1, 5, since=since) is not None, bench.diagnostics()
    assert bench.fleet.wait(lambda: [t for t in bench.fleet.trips(5) if t["end"]], timeout=30)
    box.wait_modem_idle()
    blocks = _hal_blocks(box)
    assert not blocks, "HAL calls held the event loop over 20 ms: %s" % "; ".join(sorted(set(blocks)))
