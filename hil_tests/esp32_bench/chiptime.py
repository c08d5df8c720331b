# The `time` module as hal/esp32.py sees it on the bench (run.py hands it to that module only): on the ESP32
# time.ticks_ms() and time.time() read the chip's tick counter and RTC. Here both run on the bench's clock,
# `clock_factor` times faster than real time, as the Unix HAL's FastClock does for hal/unix.py; the RTC reads
# 2000-01-01 after a power-on until the firmware sets it (machine.RTC). Blocking delays (sleep_ms: the modem's
# PWKEY pulse) stay real: the peripherals they time do not run fast. MicroPython only.
import time as _real

from machine import RTC
from wiring import chip

_PERIOD = _real.ticks_add(0, -1) + 1  # the port's ticks period: ticks_diff() below wraps with it

ticks_diff = _real.ticks_diff
ticks_add = _real.ticks_add
gmtime = _real.gmtime
localtime = _real.gmtime  # the ESP32 keeps UTC
mktime = _real.mktime
sleep = _real.sleep
sleep_ms = _real.sleep_ms
sleep_us = _real.sleep_us


def ticks_ms():
    return chip.clock.ticks_ms() % _PERIOD


def ticks_us():
    return (chip.clock.real_ms() * chip.clock.factor * 1000) % _PERIOD


def time():
    return RTC.now_s()
