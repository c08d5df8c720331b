"""Helpers shared by the data layer."""

import time

# Longest span any reservation row may cover (booked or unplanned). The availability query uses it to
# bound its index range scan: an overlapping reservation must start after `slot_start - MAX_SPAN_S`.
MAX_SPAN_S = 31 * 24 * 3600


class RuleError(Exception):
    """A business rule refused a write. `code` is stable for tests and the API; `message` is French."""

    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


def now():
    return int(time.time())


class Rules:
    """Booking limits, from the app config (seconds)."""

    def __init__(self, min_duration_s=15 * 60, max_duration_s=3 * 24 * 3600, horizon_s=90 * 24 * 3600,
                 no_show_delay_s=30 * 60, late_warning_window_s=4 * 3600):
        self.min_duration_s = min_duration_s
        self.max_duration_s = max_duration_s
        self.horizon_s = horizon_s
        self.no_show_delay_s = no_show_delay_s
        self.late_warning_window_s = late_warning_window_s

    def check_slot(self, start, end, now, minimum=True):
        """Raise RuleError (`order`, `past`, `too_short`, `too_long`, `horizon`) when [start, end) may not be
        booked; a search runs it before listing anything (cars and equipment alike)."""
        if end <= start:
            raise RuleError("order", "La fin doit être après le début.")
        if start < now - 5 * 60:
            raise RuleError("past", "Le début de la réservation est déjà passé.")
        if minimum and end - start < self.min_duration_s:
            raise RuleError("too_short", "Une réservation dure au moins %d minutes." % (self.min_duration_s // 60))
        if end - start > self.max_duration_s:
            raise RuleError("too_long", "Une réservation dure au plus %d heures." % (self.max_duration_s // 3600))
        if start > now + self.horizon_s:
            raise RuleError("horizon", "On ne peut pas réserver plus de %d jours à l'avance."
                            % (self.horizon_s // 86400))

    @classmethod
    def from_config(cls, config):
        return cls(
            min_duration_s=int(config.get("BOOKING_MIN_MINUTES", 15)) * 60,
            # never above MAX_SPAN_S: the availability query relies on that bound
            max_duration_s=min(int(config.get("BOOKING_MAX_HOURS", 72)) * 3600, MAX_SPAN_S),
            horizon_s=int(config.get("BOOKING_HORIZON_DAYS", 90)) * 86400,
            no_show_delay_s=int(config.get("NO_SHOW_DELAY_MINUTES", 30)) * 60,
            late_warning_window_s=int(config.get("LATE_WARNING_HOURS", 4)) * 3600,
        )
