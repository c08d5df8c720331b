# The blocking-call check (issue 15): every call into the HAL (hal/esp32.py's Board, the LineStreams over its
# UARTs, the machine.Pin objects it hands out) is timed in real time; one that holds the caller, the event
# loop, more than LIMIT_MS is reported on the control line as `BLOCK <call> <ms>` (and on stdout), so a bench
# test can name it. Only the outermost HAL call is timed (a LineStream reading its UART is one call).
# Board.doze is not checked: the parked box sleeping with every task idle is its job. MicroPython only.
import time

LIMIT_MS = 20
EXEMPT = ("doze",)

_depth = [0]


def _timed(name, fn, report):
    def call(*args, **kwargs):
        _depth[0] += 1
        start = time.ticks_us()
        try:
            return fn(*args, **kwargs)
        finally:
            _depth[0] -= 1
            if not _depth[0]:
                held = time.ticks_diff(time.ticks_us(), start) // 1000
                if held > LIMIT_MS:
                    report("BLOCK %s %d" % (name, held))

    return call


def install(cls, report, prefix=None):
    """Time every public method of `cls` (a class of the HAL) from now on."""
    prefix = prefix or cls.__name__
    for name in dir(cls):
        if name.startswith("_") or name in EXEMPT:
            continue
        fn = getattr(cls, name)
        if callable(fn) and not isinstance(fn, type):
            setattr(cls, name, _timed(prefix + "." + name, fn, report))
