# Trips: one opens when the starter is released, closes when the box re-arms (badge-out or timeout) or,
# at boot, when the box finds itself armed with a trip still open (END_REBOOT). A trip carries the
# odometer reading at both ends and the distance between them, and the reservation it belongs to
# (0 = unplanned). Position samples are journaled only while a trip is open (no tracking of a parked
# car), at most one per `pos_period_s`.
from app import store

FILE = "trip"
NO_BADGE = b"\x00" * 8  # trips opened by a server release carry no badge


def _hex(data):
    return "".join("%02x" % b for b in data)


def _unhex(text):
    return bytes(int(text[i:i + 2], 16) for i in range(0, len(text), 2))


class Trips:
    def __init__(self, fs, journal, clock, settings):
        self.fs = fs
        self.journal = journal
        self.clock = clock
        self.settings = settings
        self.next_number = 1
        self.current = None  # {"n", "badge", "res", "odo0"}
        self.odo_m = 0  # last odometer total saved (restored into the odometer at boot)
        self._last_pos_ms = None

    def load(self):
        data = store.read(self.fs, FILE)
        if not isinstance(data, dict):
            return
        try:
            self.next_number = int(data["next"])
            self.odo_m = int(data.get("odo", 0))
            cur = data.get("open")
            if cur:
                self.current = {"n": int(cur["n"]), "badge": _unhex(cur["badge"]), "res": int(cur["res"]),
                                "odo0": int(cur["odo0"])}
        except (KeyError, TypeError, ValueError):
            self.current = None

    def save(self, odo_m=None):
        if odo_m is not None:
            self.odo_m = odo_m
        cur = self.current
        if cur:
            cur = {"n": cur["n"], "badge": _hex(cur["badge"]), "res": cur["res"], "odo0": cur["odo0"]}
        store.write(self.fs, FILE, {"next": self.next_number, "odo": self.odo_m, "open": cur})

    def badge(self):
        return self.current["badge"] if self.current else None

    def open(self, badge, reservation, odo_m):
        number = self.next_number
        self.next_number += 1
        self.current = {"n": number, "badge": bytes(badge), "res": reservation, "odo0": odo_m}
        self._last_pos_ms = None
        self.save(odo_m)
        self.journal.append({"type": "trip_start", "t": self.clock.stamp(), "trip": number, "badge": bytes(badge),
                             "reservation": reservation, "odo_m": odo_m})
        return number

    def close(self, reason, odo_m):
        cur = self.current
        if cur is None:
            return None
        distance = odo_m - cur["odo0"]
        self.current = None
        self.save(odo_m)
        self.journal.append({"type": "trip_end", "t": self.clock.stamp(), "trip": cur["n"], "odo_m": odo_m,
                             "distance_m": distance if distance > 0 else 0, "reason": reason})
        return cur["n"]

    def sample(self, fix, now_ms):
        """Journal a position sample if a trip is open and the sampling period has passed."""
        if self.current is None or not fix.valid:
            return False
        period = self.settings.get("pos_period_s") * 1000
        if self._last_pos_ms is not None and now_ms - self._last_pos_ms < period:
            return False
        self._last_pos_ms = now_ms
        speed = fix.speed_mms // 10 if fix.speed_mms else 0
        course = (fix.course_cdeg // 100) % 360 if fix.course_cdeg else 0
        self.journal.append({"type": "pos", "t": fix.t or self.clock.stamp(), "lat": fix.lat, "lon": fix.lon,
                             "speed": min(speed, 0xFFFF), "course": course})
        return True
