# The bench's loom between the stand-in ESP32 (machine.py, esp32.py here) and the bench: which pty each UART
# id is wired to, which control-line name each GPIO carries, the chip's clock and the chip state that
# survives a reset (the reset cause). run.py fills it from the box's config.json and the board profile of
# hal/esp32.py before the firmware builds its board. MicroPython only.
#
# Reused from the Unix HAL: its control-line parser (Control: SET/PING/MEM in, PIN/BOOT/WATCHDOG out), its
# fast clock (the box's time runs `clock_factor` times faster on the bench), its raw pty opener and its
# watchdog thread: the same bench protocol (docs/bench.md) whichever HAL the firmware runs through.
import os
import time

import select

from hal.unix import Control, FastClock, Watchdog, _pid, _proc_stat

PWRON_RESET = 1  # machine.*_RESET numbering on the ESP32
WDT_RESET = 3
SOFT_RESET = 5
CAUSE_FILE = ".esp32-reset"  # in the box's directory, next to config.json (not on its flash)


class Chip:
    """What the stand-in modules share: the control line, the UART and pin wiring, the clock, sleep and
    reset state. One per process (`chip`, below)."""

    def __init__(self):
        self.control = None
        self.clock = FastClock(1)
        self.uart_paths = {}  # UART id -> pty path
        self.out_names = {}  # GPIO -> control-line name of an output (PIN <name> 0|1)
        self.in_names = {}  # GPIO -> input: "ignition" (control line) or "reader_wake" (reader activity)
        self.reader_uart = None  # the UART id whose bytes pull the reader's wake line low (P70_IRQ, RDM6300 TX)
        self.uarts = {}  # UART id -> the open UART (machine.UART)
        self.state_dir = "."
        self.wake_ext0 = None  # (gpio, level)
        self.wake_gpio = None  # (gpios, level)
        self.asleep_us = 0
        self.sleeps = 0
        self._cause = None
        self._cpu0 = _proc_stat()

    def setup(self, config, state_dir, profile):
        self.state_dir = state_dir
        self.clock = FastClock(config.get("clock_factor", 1))
        self.control = Control(config.get("control") or "", self)
        paths = config.get("uarts") or {}
        for name, spec in profile["uarts"].items():
            if paths.get(name):
                self.uart_paths[spec[0]] = paths[name]
                if name == "reader":
                    self.reader_uart = spec[0]
        for name, gpio in profile["out"].items():
            self.out_names[gpio] = name
        for name in ("modem_pwkey", "modem_rst"):
            self.out_names.setdefault(profile[name], name)
        for name, gpio in profile["in"].items():
            self.in_names[gpio] = name

    # --- pins ------------------------------------------------------------------------------------
    def output(self, gpio, level):
        name = self.out_names.get(gpio)
        if name is not None and self.control is not None:
            self.control.send("PIN %s %d" % (name, level))

    def input(self, gpio):
        name = self.in_names.get(gpio)
        if name == "reader_wake":  # active low while the reader has something to say
            uart = self.uarts.get(self.reader_uart)
            return 0 if uart is not None and uart.any() else 1
        if name is not None and self.control is not None:
            self.control.poll()
            return self.control.inputs.get(name, 0)
        return 0

    # --- sleep, reset -----------------------------------------------------------------------------
    def _woken(self):
        if self.wake_ext0 is not None and self.input(self.wake_ext0[0]) == (1 if self.wake_ext0[1] else 0):
            return True
        if self.wake_gpio is not None:
            gpios, level = self.wake_gpio
            levels = [self.input(g) for g in gpios]
            return any(levels) if level else not any(levels)
        return False

    def lightsleep(self, ms):
        """Sleep `ms` of the chip's clock (real ms / clock factor), woken earlier by a configured ext0 or
        GPIO level; the control line is read meanwhile (its inputs are the pins)."""
        start = time.ticks_us()
        real = None if ms is None else max(1, ms // self.clock.factor)
        poller = select.poll()
        for f in self._wake_files():
            poller.register(f, select.POLLIN)
        while not self._woken():
            left = -1 if real is None else real - time.ticks_diff(time.ticks_us(), start) // 1000
            if real is not None and left <= 0:
                break
            poller.poll(left if real is not None else 1000)
        self.asleep_us += time.ticks_diff(time.ticks_us(), start)
        self.sleeps += 1

    def _wake_files(self):
        files = []
        if self.control is not None and self.control.uart is not None:
            files.append(self.control.uart.f)
        uart = self.uarts.get(self.reader_uart)
        if uart is not None:
            files.append(uart.f)
        return files

    def reset_cause(self):
        if self._cause is None:
            path = self.state_dir + "/" + CAUSE_FILE
            try:
                with open(path) as f:
                    self._cause = int(f.read())
                os.remove(path)
            except (OSError, ValueError):
                self._cause = PWRON_RESET  # nothing recorded: the power was cut (or this is the first boot)
        return self._cause

    def reset(self, cause, line):
        """The chip resets: record why for the next boot, tell the bench, end the process at once."""
        try:
            with open(self.state_dir + "/" + CAUSE_FILE, "w") as f:
                f.write(str(cause))
        except OSError:
            pass
        if self.control is not None:
            self.control.send(line)
        os.system("kill -9 %d" % _pid())

    def watchdog(self, timeout_ms):
        return Watchdog(timeout_ms, self)

    def watchdog_fired(self):  # hal.unix.Watchdog's callback
        self.reset(WDT_RESET, "WATCHDOG")

    # --- control-line answers (hal.unix.Control asks its board for these) ------------------------
    def mem_line(self):
        import gc

        gc.collect()
        return "MEM %d %d" % (gc.mem_free(), gc.mem_alloc())

    def duty_line(self):
        real = self.clock.real_ms()
        cpu = (_proc_stat() - self._cpu0) * 10
        return "DUTY %d %d %d %d %d" % (cpu, real, real * self.clock.factor, self.asleep_us // 1000, self.sleeps)


chip = Chip()

