"""One simulated clock shared by the bench, the server process and the emulators.

sim(t) = epoch + factor * (t - t0), with t the real wall-clock time. The server child gets it through the
environment (`AUTOPARTAGE_SIM_CLOCK=epoch,factor,t0`) and patches `time.time`; the boxes run the same
factor (`clock_factor` in config.json) and take the epoch from the server's answers and from GPS, so the
whole bench agrees on what "now" is while playing days in minutes.
"""

import os
import time

ENV = "AUTOPARTAGE_SIM_CLOCK"
_real_time = time.time


class SimClock:
    def __init__(self, factor=1, epoch=None, t0=None):
        self.factor = int(factor)
        self.t0 = _real_time() if t0 is None else t0
        self.epoch = int(self.t0) if epoch is None else int(epoch)

    def now(self):
        return self.epoch + self.factor * (_real_time() - self.t0)

    def __call__(self):
        return self.now()

    def real_seconds(self, sim_seconds):
        """How long (real seconds) `sim_seconds` of simulated time take."""
        return sim_seconds / self.factor

    def sleep(self, sim_seconds):
        time.sleep(max(0.0, sim_seconds / self.factor))

    def sleep_until(self, sim_epoch):
        self.sleep(sim_epoch - self.now())

    def env(self):
        return "%d,%d,%.6f" % (self.epoch, self.factor, self.t0)

    @classmethod
    def from_env(cls, value=None):
        value = value if value is not None else os.environ.get(ENV)
        if not value:
            return None
        epoch, factor, t0 = value.split(",")
        return cls(int(factor), int(epoch), float(t0))


def install_from_env():
    """In a child process (the server): make time.time() return the simulated time. Returns the clock."""
    clock = SimClock.from_env()
    if clock is not None and clock.factor != 1:
        time.time = clock.now
    return clock
