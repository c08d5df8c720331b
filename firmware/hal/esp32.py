# The box on an ESP32: machine.UART/Pin/WDT/RTC, the littlefs root, board profiles.
# Nothing else in the firmware imports machine.
import os
import time

import machine

from hal.fsdir import DirFS
from hal.stream import LineStream

import asyncio

_sleep_ms = asyncio.sleep_ms  # type: ignore[attr-defined]  # MicroPython asyncio

CONFIG = "/config.json"
DATA = "/data"
EPOCH_MIN = 1704067200  # below this the RTC was never set since power-on: time unknown

# Board profiles: UART (id, tx, rx, baud) and pin numbers. The default is a LilyGO T-Call SIM800 style
# board: the modem is wired on UART1 (tx 27, rx 26) with its PWKEY on 4, RST on 5 and the supply
# switch on 23; the GPS gets UART2; the badge reader takes UART0 on free pins (the production box
# has no REPL on the USB UART). Relay, LED and buzzer are outputs; ignition sense is an input-only
# pin behind a 12 V divider and an opto-coupler.
PROFILES = {  # type: dict
    "tcall_sim800": {
        "uarts": {"modem": (1, 27, 26, 115200), "gps": (2, 33, 32, 9600), "reader": (0, 19, 18, 115200)},
        "out": {"relay": 14, "led": 13, "buzzer": 15, "modem_power": 23},
        "in": {"ignition": 34, "reader_wake": 35},
        "modem_pwkey": 4,
        "modem_rst": 5,
    },
    "tcall_sim7000": {
        "uarts": {"modem": (1, 27, 26, 115200), "gps": (2, 33, 32, 9600), "reader": (0, 19, 18, 115200)},
        "out": {"relay": 14, "led": 12, "buzzer": 15, "modem_power": 4},
        "in": {"ignition": 34, "reader_wake": 35},
        "modem_pwkey": 4,
        "modem_rst": 5,
    },
}
# LilyGO T-A7670E (ESP32-WROVER-E + A7670E, LilyGO's pin map): modem UART1 on tx 26 / rx 27, PWRKEY 4,
# modem supply enable (BOARD_POWERON) 12, reset 5 (DTR 25, RI 33 and the battery ADC on 35 are left
# alone; 16/17 are the WROVER's PSRAM). GPS, reader, relay, LED, buzzer and ignition take free header pins.
PROFILES["lilygo_t_a7670e"] = {
    "uarts": {"modem": (1, 26, 27, 115200), "gps": (2, 21, 22, 9600), "reader": (0, 19, 18, 115200)},
    "out": {"relay": 14, "led": 13, "buzzer": 15, "modem_power": 12},
    "in": {"ignition": 34, "reader_wake": 39},
    "modem_pwkey": 4,
    "modem_rst": 5,
}
# LilyGO T-SIM7080G (ESP32-S3 + SIM7080G, LilyGO's pin map): modem UART1 on tx 5 / rx 4, PWRKEY 41. The
# modem's supply comes from the AXP2101 PMU (DC3, I2C on 15/7), set up once at boot, so no supply pin. The
# board has no modem reset line: DTR (42) stands in, held high, its idle level (no slow clock, AT+CSCLK=0).
# The SIM7080G's own GNSS is not a NMEA UART: an external receiver takes UART2. Other pins: free header pins.
PROFILES["lilygo_t_sim7080g"] = {
    "uarts": {"modem": (1, 5, 4, 115200), "gps": (2, 17, 18, 9600), "reader": (0, 43, 44, 115200)},
    "out": {"relay": 11, "led": 12, "buzzer": 13},
    "in": {"ignition": 2, "reader_wake": 1},
    "modem_pwkey": 41,
    "modem_rst": 42,
}
READER_BAUD = {"pn532": 115200, "rdm6300": 9600}


class Clock:
    """ticks_ms() that never wraps (accumulated ticks_diff), RTC epoch or 0 when unknown."""

    def __init__(self):
        self._last = time.ticks_ms()
        self._total = 0
        self.factor = 1

    def ticks_ms(self):
        now = time.ticks_ms()
        self._total += time.ticks_diff(now, self._last)
        self._last = now
        return self._total

    def time(self):
        t = time.time()
        return t if t >= EPOCH_MIN else 0

    def set_time(self, epoch):
        tm = time.gmtime(epoch)
        # RTC.datetime: (year, month, day, weekday, hours, minutes, seconds, subseconds)
        machine.RTC().datetime((tm[0], tm[1], tm[2], tm[6], tm[3], tm[4], tm[5], 0))

    def sleep_ms(self, ms):
        return _sleep_ms(ms)


class Board:
    name = "esp32"

    def __init__(self, config):
        self.config = config
        self.profile = PROFILES.get(config.get("board") or "tcall_sim800", PROFILES["tcall_sim800"])
        self.clock = Clock()
        try:
            os.mkdir(DATA)
        except OSError:
            pass
        self.fs = DirFS(DATA)
        self._uarts = {}
        self._pins = {}  # type: dict
        for name, number in self.profile["out"].items():
            # value=0 at construction: the relay starts released, the app decides (docs/firmware.md).
            self._pins[name] = machine.Pin(number, machine.Pin.OUT, value=0)
        for name, number in self.profile["in"].items():
            self._pins[name] = machine.Pin(number, machine.Pin.IN)
        self._pwkey = machine.Pin(self.profile["modem_pwkey"], machine.Pin.OUT, value=0)
        self._rst = machine.Pin(self.profile["modem_rst"], machine.Pin.OUT, value=1)

    def uart(self, name):
        if name not in self._uarts:
            spec = self.profile["uarts"].get(name)
            if spec is None:
                return None
            uid, tx, rx, baud = spec
            if name == "reader":
                baud = READER_BAUD.get(self.config.get("reader", "pn532"), baud)
            uart = machine.UART(uid, baudrate=baud, tx=tx, rx=rx, timeout=0, rxbuf=1024)
            self._uarts[name] = LineStream(uart)  # whole lines only from readline()
        return self._uarts[name]

    def pin(self, name):
        return self._pins[name]

    async def modem_power(self, on, pulse_ms=1100):
        """The modem's supply switch and PWRKEY press (the driver's `power`; `pulse_ms` per modem family,
        from its hardware design manual). The press is awaited, so badge decisions go on meanwhile. A board
        without a supply switch (the T-SIM7080G's PMU feeds its modem) has only the key."""
        supply = self._pins.get("modem_power")
        if supply is not None:
            supply.value(1 if on else 0)
        if on:
            self._pwkey.value(1)  # through the board's transistor: the modem's PWRKEY pulled low
            await _sleep_ms(pulse_ms)
        self._pwkey.value(0)

    def watchdog(self, timeout_ms):
        return machine.WDT(timeout=timeout_ms)

    def reset_cause(self):
        return machine.reset_cause()

    def supply_mv(self):
        return 0  # no supply divider on the reference board

    def poll(self):
        pass

    def doze(self, box_ms):
        """Light sleep (RAM, state and pins kept; the modem is off while parked) for up to `box_ms`, woken
        by the ignition (ext0, high) or the reader's wake line (GPIO 35 low: PN532 P70_IRQ when its
        pending InListPassiveTarget answers, or the RDM6300's TX; docs/installation.md). GPS bytes that
        came meanwhile are stale (and the UART drops some while asleep): discarded."""
        import esp32

        esp32.wake_on_ext0(self._pins["ignition"], esp32.WAKEUP_ANY_HIGH)
        wake = self._pins.get("reader_wake")
        if wake is not None:
            esp32.wake_on_gpio((wake,), esp32.WAKEUP_ALL_LOW)
        machine.lightsleep(max(1, box_ms))  # main.py caps it well inside the watchdog's timeout
        gps = self._uarts.get("gps")
        if gps is not None:
            gps.discard()

    async def wait_input(self, event, ms):
        """The parked control task's sleep: up to `ms` ms, ended early by `event` (a tap). The ignition
        pin is read at the next tick (the relay is armed while parked)."""
        try:
            await asyncio.wait_for_ms(event.wait(), ms)  # type: ignore[attr-defined]
        except asyncio.TimeoutError:
            pass

    def announce(self, version):
        print("BOOT %s" % version)


def config_path(argv=None):
    return CONFIG
