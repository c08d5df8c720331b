"""Reports: per department / vehicle / month, and the pilot's evaluation (how many cars does the site need?).

Cost of a vehicle for a month = kilometres x its rate per km, plus its monthly fixed cost shared between
the departments in proportion to the hours each used it (the owner department pays it all when the car
was not used). Usage rate = hours driven / working hours of the month (weekdays 08:00-18:00).
"""

import datetime

from server.db import rows
from server.queries import common, org
from server.timeutil import TZ, local, working_hours


def _usage(db, start, end):
    """Trips, metres and seconds per vehicle and driving department, for trips starting in [start, end)."""
    return rows(db, """
SELECT vehicle_id,
       department_id,
       count(*) AS trips,
       sum(distance_m) AS km_m,
       sum(max(0, coalesce(end, start) - start)) AS seconds
FROM trips
WHERE start >= ?
  AND start < ?
GROUP BY vehicle_id, department_id""", (start, end))


def monthly(db, start, end, department_id=None):
    """{"vehicles": [...], "departments": [...], "totals": {...}} for trips starting in [start, end).

    With `department_id`, vehicles are limited to those the department owns or drove, departments to it.
    """
    # owner and costs as they were at the month's start (org.change_terms never rewrites a past month)
    vehicles = {v["id"]: v for v in rows(db, """
SELECT v.id, v.plate, v.model, t.department_id, d.code AS department_code, t.cost_per_km_cents,
       t.monthly_fixed_cents
FROM vehicles v
JOIN vehicle_terms t ON t.id = """ + org.TERMS_AT_SQL + """
JOIN departments d ON d.id = t.department_id
WHERE v.active = 1
   OR v.id IN (SELECT vehicle_id
               FROM trips
               WHERE start >= :at
                 AND start < :end)""", {"at": start, "end": end})}
    depts = {d["id"]: d for d in rows(db, """
SELECT id, code, name
FROM departments""")}
    base_hours = max(1, working_hours(start, end))
    per_v = {vid: {"trips": 0, "km_m": 0, "seconds": 0, "by_dept": {}} for vid in vehicles}
    for u in _usage(db, start, end):
        s = per_v.get(u["vehicle_id"])
        if s is None:
            continue
        # a trip without a known driver counts for the car's owner
        d = s["by_dept"].setdefault(u["department_id"] or vehicles[u["vehicle_id"]]["department_id"],
                                    {"trips": 0, "km_m": 0, "seconds": 0})
        for key in ("trips", "km_m", "seconds"):
            s[key] += u[key]
            d[key] += u[key]
    out_v, per_d = [], {did: {"trips": 0, "km_m": 0, "seconds": 0, "km_cost": 0, "fixed_cost": 0} for did in depts}
    for vid, v in vehicles.items():
        s = per_v[vid]
        km_cost = s["km_m"] * v["cost_per_km_cents"] // 1000
        fixed = v["monthly_fixed_cents"]
        out_v.append({"id": vid, "plate": v["plate"], "model": v["model"], "department_code": v["department_code"],
                      "department_id": v["department_id"], "trips": s["trips"], "km": s["km_m"] // 1000,
                      "hours": round(s["seconds"] / 3600, 1),
                      "usage_pct": round(100 * s["seconds"] / 3600 / base_hours, 1),
                      "km_cost_cents": km_cost, "fixed_cents": fixed, "cost_cents": km_cost + fixed,
                      "departments": sorted(depts[d]["code"] for d in s["by_dept"] if d in depts)})
        if not s["by_dept"]:
            per_d[v["department_id"]]["fixed_cost"] += fixed
            continue
        total_s = sum(d["seconds"] for d in s["by_dept"].values())
        shares = {}
        for did, d in s["by_dept"].items():
            shares[did] = fixed * d["seconds"] // total_s if total_s else fixed // len(s["by_dept"])
        # rounding remainder goes to the owner (or the first user) so the shares add up to the fixed cost
        rest = fixed - sum(shares.values())
        shares[v["department_id"] if v["department_id"] in shares else next(iter(shares))] += rest
        for did, d in s["by_dept"].items():
            if did not in per_d:
                continue
            pd = per_d[did]
            pd["trips"] += d["trips"]
            pd["km_m"] += d["km_m"]
            pd["seconds"] += d["seconds"]
            pd["km_cost"] += d["km_m"] * v["cost_per_km_cents"] // 1000
            pd["fixed_cost"] += shares[did]
    out_d = []
    for did, d in per_d.items():
        out_d.append({"id": did, "code": depts[did]["code"], "name": depts[did]["name"], "trips": d["trips"],
                      "km": d["km_m"] // 1000, "hours": round(d["seconds"] / 3600, 1),
                      "km_cost_cents": d["km_cost"], "fixed_cents": d["fixed_cost"],
                      "cost_cents": d["km_cost"] + d["fixed_cost"]})
    if department_id is not None:
        code = depts.get(department_id, {}).get("code")
        out_v = [v for v in out_v if v["department_id"] == department_id or code in v["departments"]]
        out_d = [d for d in out_d if d["id"] == department_id]
    out_v.sort(key=lambda v: v["plate"])
    out_d.sort(key=lambda d: d["code"])
    totals = {k: sum(d[k] for d in out_d) for k in ("trips", "km", "km_cost_cents", "fixed_cents", "cost_cents")}
    return {"vehicles": out_v, "departments": out_d, "totals": totals, "working_hours": base_hours}


def _intervals_by_vehicle(db, start, end, now):
    """Each trip's part of [start, end); a trip still under way counts until `now`, not to the period's end."""
    return rows(db, """
SELECT vehicle_id,
       max(start, :start) AS s,
       min(coalesce(end, :now), :end) AS e
FROM trips
WHERE start < :end
  AND coalesce(end, :now) > :start""", {"start": start, "end": end, "now": max(start, min(now, end))})


def evaluation(db, start, end, now=None):
    """The pilot's evaluation over [start, end) as known at `now` (default: the clock):
    - `peak_by_day`: [(date, max cars in use at once)];
    - `peak_by_hour`: [(hour 0..23, max cars in use at once during that hour on any day)];
    - `searches`: total, with no free car, and the rate;
    - `least_used`: the 10 vehicles with the fewest hours;
    - `cross_km`: kilometres driven by a department in another department's cars.
    """
    events = []
    for iv in _intervals_by_vehicle(db, start, end, common.now() if now is None else now):
        if iv["e"] > iv["s"]:
            events.append((iv["s"], 1))
            events.append((iv["e"], -1))
    events.sort()
    peak_day, peak_hour = {}, [0] * 24
    current = 0
    # sweep: the count between consecutive events holds for every hour bucket the span touches
    for i, (t, delta) in enumerate(events):
        current += delta
        nxt = events[i + 1][0] if i + 1 < len(events) else t
        if current <= 0 or nxt <= t:
            continue
        h = t - (t % 3600)
        while h < nxt:
            d = local(max(h, t))
            key = d.date().isoformat()
            peak_day[key] = max(peak_day.get(key, 0), current)
            peak_hour[d.hour] = max(peak_hour[d.hour], current)
            h += 3600
    days = []
    day = local(start).date()
    last = local(end - 1).date()
    while day <= last:
        days.append((day.isoformat(), peak_day.get(day.isoformat(), 0)))
        day += datetime.timedelta(days=1)
    s = rows(db, """
SELECT count(*) AS total, coalesce(sum(found = 0), 0) AS none_found
FROM searches
WHERE t >= ?
  AND t < ?""", (start, end))[0]
    least = rows(db, """
SELECT v.id, v.plate, v.model, d.code AS department_code, count(t.id) AS trips,
       coalesce(sum(t.distance_m), 0) / 1000 AS km,
       round(coalesce(sum(coalesce(t.end, t.start) - t.start), 0) / 3600.0, 1) AS hours
FROM vehicles v
JOIN departments d ON d.id = v.department_id
LEFT JOIN trips t
  ON t.vehicle_id = v.id
 AND t.start >= ?
 AND t.start < ?
WHERE v.active = 1
GROUP BY v.id
ORDER BY hours, km, v.plate
LIMIT 10""", (start, end))
    cross = rows(db, """
SELECT od.code AS owner, dd.code AS driver, count(*) AS trips, sum(t.distance_m) / 1000 AS km
FROM trips t
JOIN vehicles v ON v.id = t.vehicle_id
JOIN departments od ON od.id = v.department_id
JOIN departments dd ON dd.id = t.department_id
WHERE t.start >= ?
  AND t.start < ?
  AND t.department_id != v.department_id
GROUP BY od.code, dd.code
ORDER BY km DESC""", (start, end))
    cars = rows(db, """
SELECT count(*) AS n
FROM vehicles
WHERE active = 1""")[0]["n"]
    return {"peak_by_day": days, "peak_by_hour": list(enumerate(peak_hour)),
            "peak": max([p for _d, p in days] + [0]), "cars": cars,
            "searches": {"total": s["total"], "none_found": s["none_found"],
                         "rate_pct": round(100 * s["none_found"] / s["total"], 1) if s["total"] else 0.0},
            "least_used": least, "cross_km": cross}


__all__ = ["monthly", "evaluation", "TZ"]
