"""The modem emulators by family name (what config.json "modem" and the bench's modem parameter use)."""

from hil_tests.emulators.a7670 import A7670Emulator
from hil_tests.emulators.sim7080 import Sim7080Emulator
from hil_tests.emulators.sim800 import Sim800Emulator

FAMILIES = ("sim800", "a7670", "sim7080")


def make(family, url, **kwargs):
    """An emulator of `family` ("sim800", "sim7000", "a7670", "sim7080") on the pyserial `url` (not started)."""
    if family in ("sim800", "sim7000"):
        return Sim800Emulator(url, profile=family, **kwargs)
    if family == "a7670":
        return A7670Emulator(url, **kwargs)
    if family == "sim7080":
        return Sim7080Emulator(url, **kwargs)
    raise ValueError("no emulator for modem family %r" % family)
