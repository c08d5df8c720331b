# Recording fakes for the box's pins and clock (shared by the firmware tests and the property tests).


class RecordingPin:
    """A pin that keeps every value written to it."""

    def __init__(self, value=0):
        self._value = value
        self.writes = []

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0
        self.writes.append(self._value)
        return None


class ManualClock:
    """The HAL clock contract with time moved by hand: time() 0 until set, ticks_ms() never wraps."""

    def __init__(self, epoch=0):
        self.ms = 0
        self.epoch_at_zero = epoch * 1000 if epoch else 0
        self.known = bool(epoch)

    def ticks_ms(self):
        return self.ms

    def time(self):
        return (self.epoch_at_zero + self.ms) // 1000 if self.known else 0

    def set_time(self, epoch):
        self.epoch_at_zero = epoch * 1000 - self.ms
        self.known = True

    def advance(self, seconds=0, ms=0):
        self.ms += seconds * 1000 + ms

    def reboot(self):
        """A power cut: ticks restart, the time is lost."""
        self.ms = 0
        self.known = False


def Fix(t=0, speed_mms=0, lat=472186000, lon=-15536000, valid=True, course_cdeg=0):
    """The NMEA driver's own Fix (a value object), built with test defaults: 8 satellites, HDOP 1.0."""
    from drivers import nmea

    return nmea.Fix(t, 0, lat, lon, speed_mms, course_cdeg, 1 if valid else 0, 100, 8, valid)
