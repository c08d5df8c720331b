"""The booking calendar as a timeline: cars as rows, time slots as columns, bookings as bars.

Pure functions (no Flask, no database): the pages give the cars, the bookings and `now`; the result is
a table a template renders with colspans (no inline style, no script). A day shows hourly slots from
DAY_FIRST_HOUR to DAY_LAST_HOUR; a week shows a morning and an afternoon per day.
"""

import datetime

from server import timeutil

DAY_FIRST_HOUR = 7
DAY_LAST_HOUR = 20  # the last slot ends here
WEEK_PERIODS = (("matin", "07:00", "13:00"), ("après-midi", "13:00", "20:00"))


def _at(day, hhmm):
    return timeutil.parse_local(day.isoformat(), hhmm)


def day_slots(day):
    """[(start, end, label)] of the hourly slots of a local date."""
    return [(_at(day, "%02d:00" % h), _at(day, "%02d:00" % (h + 1)), "%02d h" % h)
            for h in range(DAY_FIRST_HOUR, DAY_LAST_HOUR)]


def week_slots(first):
    """[(start, end, label)]: a morning and an afternoon for each of the 7 days from `first`."""
    out = []
    for i in range(7):
        day = first + datetime.timedelta(days=i)
        for label, start, end in WEEK_PERIODS:
            out.append((_at(day, start), _at(day, end), label))
    return out


def rows(cars, bookings, slots, now):
    """One row per car: {"car", "cells": [{"span", "state", "bookings", "start", "end"}]}.

    A cell groups consecutive slots in the same state: `busy` (the bookings overlapping them, the same
    ones) or `past`; a `free` slot (not over yet, nothing booked) stays a cell of its own, to be picked.
    Bookings are dicts with id, vehicle_id, start, end.
    """
    by_car = {}
    for b in bookings:
        by_car.setdefault(b["vehicle_id"], []).append(b)
    out = []
    for car in cars:
        mine = by_car.get(car["id"], [])
        cells = []
        for start, end, _label in slots:
            over = [b for b in mine if b["start"] < end and b["end"] > start]
            state = "busy" if over else ("past" if end <= now else "free")
            key = (state, tuple(b["id"] for b in over))
            if state != "free" and cells and cells[-1]["key"] == key and cells[-1]["end"] == start:
                cells[-1]["span"] += 1
                cells[-1]["end"] = end
            else:
                cells.append({"key": key, "span": 1, "state": state, "bookings": over, "start": max(start, now)
                              if state == "free" else start, "end": end})
        out.append({"car": car, "cells": cells})
    return out


def on_road_bars(out_now, now, margin_s):
    """Cars on the road (trips.out_now rows) as bars from the trip's start to `now + margin_s` (or its
    booking's end when later): the car is not free then, whatever its bookings say."""
    return [{"id": -t["id"], "vehicle_id": t["vehicle_id"], "agent_id": t["agent_id"], "agent_name": t["agent_name"],
             "start": t["start"], "end": max(now + margin_s, t["due"] or 0), "on_road": True} for t in out_now]


def headers(slots, week):
    """Column headers: for a week, one per day (spanning its periods) over the periods' labels."""
    if not week:
        return [], [label for _s, _e, label in slots]
    days = [(timeutil.fmt_day(slots[i][0]), len(WEEK_PERIODS)) for i in range(0, len(slots), len(WEEK_PERIODS))]
    return days, [label for _s, _e, label in slots]


def search_args(cell):
    """The booking search for a free cell: its slot (the start, if now is inside it, rounded up to the next
    quarter hour), at least one hour long."""
    start = cell["start"] + (-cell["start"]) % 900
    end = max(cell["end"], start + 3600)
    s, e = timeutil.local(start), timeutil.local(end)
    return {"date": s.date().isoformat(), "start": s.strftime("%H:%M"), "end_date": e.date().isoformat(),
            "end": e.strftime("%H:%M")}


class Period:
    """What a calendar page shows: a day or a week from `first` (a local date), its slots and neighbours."""

    def __init__(self, first, week):
        self.first = first
        self.week = week
        step = datetime.timedelta(days=7 if week else 1)
        self.prev = (first - step).isoformat()
        self.next = (first + step).isoformat()
        self.slots = week_slots(first) if week else day_slots(first)
        self.start = self.slots[0][0]
        self.end = self.slots[-1][1]
        self.view = "semaine" if week else "jour"


def period(args, now, default_view="jour"):
    """The Period of a query string (`vue`: jour | semaine, `jour`: YYYY-MM-DD, today by default);
    ValueError with a French message on a bad value."""
    view = args.get("vue") or default_view
    if view not in ("jour", "semaine"):
        raise ValueError("Vue : « jour » ou « semaine ».")
    text = (args.get("jour") or "").strip()
    try:
        first = datetime.date.fromisoformat(text) if text else timeutil.local(now).date()
    except ValueError:
        raise ValueError("Jour : date invalide (AAAA-MM-JJ).") from None
    if not 2000 <= first.year <= 2100:
        raise ValueError("Jour : date invalide (AAAA-MM-JJ).")
    return Period(first, view == "semaine")


def pool_filter(args, cars):
    """The `pool` of a query string applied to the cars a calendar may show: (the pools among those cars as
    [(id, name)], the chosen pool id or None, the cars shown). ValueError with a French message on a pool
    that is not one of them (a number is not a right: the choices are the caller's cars)."""
    pools = sorted({(c["pool_id"], c["pool_name"]) for c in cars}, key=lambda p: p[1])
    text = (args.get("pool") or "").strip()
    if not text:
        return pools, None, cars
    if not (text.isascii() and text.isdigit()) or int(text) not in {pid for pid, _name in pools}:
        raise ValueError("Pool : choisissez un pool de la liste.")
    chosen = int(text)
    return pools, chosen, [c for c in cars if c["pool_id"] == chosen]
