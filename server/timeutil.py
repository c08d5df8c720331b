"""Local time (Europe/Paris) for pages; the database holds epoch seconds (UTC)."""

import datetime
import zoneinfo

TZ = zoneinfo.ZoneInfo("Europe/Paris")
DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def local(epoch):
    return datetime.datetime.fromtimestamp(int(epoch), TZ)


def fmt(epoch, with_date=True):
    """'mar. 05/03 14:30' style, or '14:30'."""
    if not epoch:
        return ""
    d = local(epoch)
    if not with_date:
        return d.strftime("%H:%M")
    return "%s %s" % (DAYS[d.weekday()][:3] + ".", d.strftime("%d/%m/%Y %H:%M"))


def fmt_day(epoch):
    """'vendredi 27/11/2026'."""
    d = local(epoch)
    return "%s %s" % (DAYS[d.weekday()], d.strftime("%d/%m/%Y"))


def fmt_date(epoch):
    return local(epoch).strftime("%d/%m/%Y") if epoch else ""


def parse_local(date_text, time_text):
    """Epoch of a local date ('2026-03-05') and time ('14:30'); ValueError when malformed."""
    d = datetime.date.fromisoformat((date_text or "").strip())
    hh, mm = (time_text or "").strip().split(":")[:2]
    dt = datetime.datetime(d.year, d.month, d.day, int(hh), int(mm), tzinfo=TZ)
    return int(dt.timestamp())


def month_bounds(year, month):
    """(start, end) epochs of a local calendar month."""
    start = datetime.datetime(year, month, 1, tzinfo=TZ)
    nxt = datetime.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=TZ)
    return int(start.timestamp()), int(nxt.timestamp())


def month_start(epoch):
    """Epoch of the first local midnight of `epoch`'s month."""
    d = local(epoch)
    return month_bounds(d.year, d.month)[0]


def next_month_start(epoch):
    d = local(epoch)
    return month_bounds(d.year, d.month)[1]


def month_label(year, month):
    return "%s %d" % (MONTHS[month - 1], year)


def parse_month(text, default_epoch):
    """(year, month) from 'YYYY-MM'; the month of `default_epoch` when empty; ValueError when malformed."""
    if not text:
        d = local(default_epoch)
        return d.year, d.month
    year, month = text.strip().split("-")
    year, month = int(year), int(month)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise ValueError(text)
    return year, month


def working_hours(start, end):
    """Working hours (weekdays 08:00-18:00 local) between two epochs: the base of the usage rate."""
    total = 0
    day = local(start).date()
    last = local(end - 1).date() if end > start else day
    while day <= last:
        if day.weekday() < 5:
            open_ = int(datetime.datetime(day.year, day.month, day.day, 8, tzinfo=TZ).timestamp())
            close = int(datetime.datetime(day.year, day.month, day.day, 18, tzinfo=TZ).timestamp())
            total += max(0, min(end, close) - max(start, open_))
        day += datetime.timedelta(days=1)
    return total // 3600
