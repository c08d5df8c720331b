# Stand-in for MicroPython's `esp32` module, for the bench only: the wake sources of machine.lightsleep()
# (docs.micropython.org, library/esp32.html). They act on the bench's pins (wiring.py). MicroPython only.
from machine import Pin
from wiring import chip

WAKEUP_ALL_LOW = False
WAKEUP_ANY_HIGH = True


def _gpio(pin):
    if not isinstance(pin, Pin):
        raise TypeError("expecting a Pin")
    return pin.id


def wake_on_ext0(pin, level):
    chip.wake_ext0 = None if pin is None else (_gpio(pin), level)


def wake_on_gpio(pins, level):
    chip.wake_gpio = None if not pins else (tuple(_gpio(p) for p in pins), level)


def wake_on_ext1(pins, level):
    wake_on_gpio(pins, level)
