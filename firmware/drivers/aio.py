# The few asyncio/time calls the drivers need, identical on MicroPython and CPython.
# MicroPython's asyncio has sleep_ms/wait_for_ms and time has ticks_ms; CPython has neither, so the
# CPython fallbacks below convert milliseconds to the seconds its asyncio wants (the only floats here).
import asyncio
import time

TimeoutError = asyncio.TimeoutError

_sleep_ms = getattr(asyncio, "sleep_ms", None)
_wait_for_ms = getattr(asyncio, "wait_for_ms", None)
_ticks_ms = getattr(time, "ticks_ms", None)
_monotonic_ns = getattr(time, "monotonic_ns", time.time)


def sleep_ms(ms):
    if _sleep_ms is not None:
        return _sleep_ms(ms)
    return asyncio.sleep(ms * 0.001)  # float-ok: CPython asyncio takes seconds


def wait_for_ms(awaitable, ms):
    if _wait_for_ms is not None:
        return _wait_for_ms(awaitable, ms)
    return asyncio.wait_for(awaitable, ms * 0.001)  # float-ok: CPython asyncio takes seconds


if _ticks_ms is not None:
    ticks_ms = _ticks_ms
    ticks_diff = time.ticks_diff
    ticks_add = time.ticks_add
else:

    def ticks_ms():
        return _monotonic_ns() // 1000000

    def ticks_diff(a, b):
        return a - b

    def ticks_add(a, b):
        return a + b
