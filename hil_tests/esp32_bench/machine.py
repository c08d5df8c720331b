# Stand-in for MicroPython's `machine` module on the ESP32, for the bench only (hil_tests/esp32_bench/run.py):
# hal/esp32.py runs unchanged on the Unix port, its UARTs on the bench's ptys and its pins, watchdog, sleep and
# reset on the bench's control line (wiring.py). Faithful to the documented API (docs.micropython.org,
# library/machine.*.html and the esp32 port's quick reference; signatures as in micropython-esp32-stubs 1.28):
# what it implements takes the documented arguments and units and nothing wider; what the firmware does not
# use is left out rather than faked. MicroPython only.
import time

import select

from hal.unix import open_raw
from wiring import PWRON_RESET, SOFT_RESET, WDT_RESET, chip  # noqa: F401  (machine.*_RESET)

HARD_RESET = 2
DEEPSLEEP_RESET = 4

# ESP32 GPIOs: 0..39 without 20, 24, 28..31; 34..39 are inputs only.
_GPIOS = tuple(n for n in range(40) if n not in (20, 24, 28, 29, 30, 31))
_INPUT_ONLY = (34, 35, 36, 37, 38, 39)
_ADC_GPIOS = (32, 33, 34, 35, 36, 37, 38, 39, 0, 2, 4, 12, 13, 14, 15, 25, 26, 27)
_UARTS = (0, 1, 2)


class Pin:
    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_DOWN = 1
    PULL_UP = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if id not in _GPIOS:
            raise ValueError("invalid pin")
        self.id = id
        self._mode = None
        self._pull = None
        self._level = 0
        self.init(mode, pull, value=value, drive=drive, hold=hold)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if mode in (Pin.OUT, Pin.OPEN_DRAIN) and self.id in _INPUT_ONLY:
            raise ValueError("pin can only be input")
        if mode != -1:
            self._mode = mode
        if pull != -1:
            self._pull = pull
        if value is not None:
            self.value(value)

    def value(self, x=None):
        if x is None:
            if self._mode in (Pin.OUT, Pin.OPEN_DRAIN):
                return self._level
            return chip.input(self.id)
        level = 1 if x else 0
        if self._mode in (Pin.OUT, Pin.OPEN_DRAIN) and level != self._level:
            chip.output(self.id, level)
        self._level = level  # an input keeps it in its output buffer (docs: Pin.value)
        return None

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def mode(self, mode=None):
        if mode is None:
            return self._mode
        self.init(mode)

    def pull(self, pull=None):
        if pull is None:
            return self._pull
        self._pull = pull


class UART:
    """A UART whose lines are the bench's pty for that UART id (wiring.chip.uart_paths). Reads never wait
    longer than `timeout` ms for the first byte (0: never)."""

    INV_TX = 1
    INV_RX = 2
    RTS = 1
    CTS = 2

    def __init__(self, id, baudrate=9600, bits=8, parity=None, stop=1, *, tx=None, rx=None, txbuf=None, rxbuf=None,
                 timeout=None, timeout_char=None, invert=None, flow=None, rts=None, cts=None):
        if id not in _UARTS:
            raise ValueError("UART(%d) does not exist" % id)
        path = chip.uart_paths.get(id)
        if path is None:
            raise OSError("UART(%d): nothing wired to it on the bench" % id)
        self.id = id
        self.f = open_raw(path)
        self._poller = select.poll()
        self._poller.register(self.f, select.POLLIN)
        self.timeout = 0
        self.init(baudrate, bits, parity, stop, tx=tx, rx=rx, txbuf=txbuf, rxbuf=rxbuf, timeout=timeout,
                  timeout_char=timeout_char, invert=invert, flow=flow, rts=rts, cts=cts)
        chip.uarts[id] = self

    def init(self, baudrate=9600, bits=8, parity=None, stop=1, *, tx=None, rx=None, txbuf=None, rxbuf=None,
             timeout=None, timeout_char=None, invert=None, flow=None, rts=None, cts=None):
        if bits not in (5, 6, 7, 8) or parity not in (None, 0, 1) or stop not in (1, 2):
            raise ValueError("invalid frame format")
        self.baudrate = baudrate
        self.tx = tx
        self.rx = rx
        self.rxbuf = rxbuf
        if timeout is not None:
            self.timeout = timeout

    def deinit(self):
        chip.uarts.pop(self.id, None)
        self.f.close()

    def any(self):
        return 1 if self._poller.poll(0) else 0

    def _ready(self):
        return bool(self._poller.poll(self.timeout)) if self.timeout else self.any() > 0

    def read(self, nbytes=None):
        if not self._ready():
            return None
        data = self.f.read(nbytes if nbytes is not None else 4096)
        return data or None

    def readinto(self, buf, nbytes=None):
        if not self._ready():
            return None
        n = self.f.readinto(memoryview(buf)[:nbytes] if nbytes is not None else buf)
        return n or None

    def readline(self):
        if not self._ready():
            return None
        line = b""
        while not line.endswith(b"\n"):
            byte = self.f.read(1)
            if not byte:
                break
            line += byte
        return line or None

    def write(self, buf):
        try:
            return self.f.write(buf)
        except OSError:
            return None

    def flush(self):
        pass

    def txdone(self):
        return True

    def sendbreak(self):
        pass


class ADC:
    """Reads 0 V: nothing on the bench drives an analog input (the reference board has no supply divider)."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 9
    WIDTH_10BIT = 10
    WIDTH_11BIT = 11
    WIDTH_12BIT = 12

    def __init__(self, id, *, sample_ns=None, atten=None):
        gpio = id.id if isinstance(id, Pin) else id
        if gpio not in _ADC_GPIOS:
            raise ValueError("invalid pin for ADC")
        self.gpio = gpio
        self._atten = ADC.ATTN_0DB if atten is None else atten

    def init(self, *, sample_ns=None, atten=None):
        if atten is not None:
            self._atten = atten

    def atten(self, atten):
        self._atten = atten

    def read_uv(self):
        return 0

    def read_u16(self):
        return 0


class WDT:
    """Started at construction, never stopped; not fed within `timeout` ms (real time) the chip resets with
    WDT_RESET (the bench sees `WATCHDOG` and the process ends)."""

    def __init__(self, *, id=0, timeout=5000):
        if id != 0:
            raise ValueError("WDT(%d)" % id)
        if timeout < 1000:
            raise ValueError("WDT timeout too short")  # the ESP32's minimum is one second
        self._dog = chip.watchdog(timeout)

    def feed(self):
        self._dog.feed()


_RTC_POWER_ON = 946684800  # 2000-01-01: where the ESP32's RTC starts after a power loss


class RTC:
    """The chip's real-time clock on the bench's clock (wiring.chip.clock, `clock_factor` times real time);
    at power-on it reads 2000-01-01 00:00:00. datetime tuples as documented: (year, month, day, weekday, hours,
    minutes, seconds, subseconds)."""

    _epoch_ms_at_tick0 = _RTC_POWER_ON * 1000

    def __init__(self, id=0, *, datetime=None):
        if datetime is not None:
            self.datetime(datetime)

    def init(self, datetime):
        self.datetime(datetime)

    def datetime(self, datetimetuple=None):
        if datetimetuple is None:
            t = time.gmtime(RTC.now_s())
            return (t[0], t[1], t[2], t[6], t[3], t[4], t[5], 0)
        y, mo, d, _wd, h, mi, s = datetimetuple[:7]
        epoch = time.mktime((y, mo, d, h, mi, s, 0, 0))
        RTC._epoch_ms_at_tick0 = epoch * 1000 - chip.clock.ticks_ms()
        return None

    @staticmethod
    def now_s():
        return (RTC._epoch_ms_at_tick0 + chip.clock.ticks_ms()) // 1000


def lightsleep(time_ms=None):
    chip.lightsleep(time_ms)


def reset():
    chip.reset(SOFT_RESET, "RESET")  # esp_restart(): reset_cause() reads SOFT_RESET on the ESP32


def reset_cause():
    return chip.reset_cause()
