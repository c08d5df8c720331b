"""Working hours (Europe/Paris) during which a trip's positions may be kept (CNIL deliberation 2015-165).

An employer may geolocate service cars for working purposes only: outside the working hours of the driver's
department no position is stored (the trip keeps its kilometres), unless the administrator documented a
reason for that department or that vehicle (an on-call service, for instance). Working days are Monday to
Friday except French public holidays (the national list; Alsace-Moselle's two extra days are not in it).
"""

import datetime

from server.timeutil import TZ

DEFAULT_START_MIN = 7 * 60
DEFAULT_END_MIN = 20 * 60
DEFAULT_DAYS = "12345"  # ISO weekdays, 1 = Monday


def _easter(year):
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    ell = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * ell) // 433
    month = (h + ell - 7 * m + 90) // 25
    day = (h + ell - 7 * m + 33 * month + 19) % 32
    return datetime.date(year, month, day)


def public_holidays(year):
    """France's national public holidays of `year`."""
    easter = _easter(year)
    fixed = [(1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25)]
    days = {datetime.date(year, m, d) for m, d in fixed}
    days.update(easter + datetime.timedelta(days=n) for n in (1, 39, 50))  # Easter Monday, Ascension, Whit Monday
    return days


class Policy:
    """A department's working hours: minutes from local midnight, ISO weekdays as a string of digits."""

    def __init__(self, start_min=DEFAULT_START_MIN, end_min=DEFAULT_END_MIN, days=DEFAULT_DAYS):
        self.start_min = DEFAULT_START_MIN if start_min is None else int(start_min)
        self.end_min = DEFAULT_END_MIN if end_min is None else int(end_min)
        self.days = DEFAULT_DAYS if days is None else str(days)

    def working_day(self, day):
        return str(day.isoweekday()) in self.days and day not in public_holidays(day.year)

    def windows(self, t_min, t_max):
        """The working periods [(start, end)] (epoch s, end excluded) that meet [t_min, t_max]."""
        out = []
        day = datetime.datetime.fromtimestamp(t_min, TZ).date()
        last = datetime.datetime.fromtimestamp(t_max, TZ).date()
        while day <= last:
            if self.working_day(day):
                midnight = datetime.datetime(day.year, day.month, day.day)
                start = _epoch(midnight + datetime.timedelta(minutes=self.start_min))
                end = _epoch(midnight + datetime.timedelta(minutes=self.end_min))
                if end > start:
                    out.append((start, end))
            day += datetime.timedelta(days=1)
        return out


def _epoch(naive_local):
    return int(naive_local.replace(tzinfo=TZ).timestamp())


def within(windows, t):
    for start, end in windows:
        if start <= t < end:
            return True
    return False


def parse_hhmm(text):
    """'07:30' -> 450 minutes, None when malformed."""
    hours, sep, minutes = (text or "").strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        return None
    value = int(hours) * 60 + int(minutes)
    return value if 0 <= int(minutes) < 60 and 0 <= value <= 24 * 60 else None


def fmt_hhmm(minutes):
    return "%02d:%02d" % (minutes // 60, minutes % 60)
