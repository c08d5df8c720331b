"""The trips list under /admin: filters (car, department, driver, dates, in progress) and the same list as
CSV, in the format of the monthly report CSVs. Routes of the admin blueprint."""

import datetime
import time

from flask import abort, g, render_template, request

from server import csv_export, forms, timeutil
from server.admin import STAFF, bp
from server.auth import role_required, scope_department
from server.db import get_db
from server.queries import org, positions, trips

CSV_HEADER = ["depart", "retour", "immatriculation", "modele", "conducteur", "direction", "km", "heures", "type"]


def _filters(args, now):
    """The filters of the query string, checked (400 with a French message on a bad value)."""
    errors = {}
    f = {"vehicule": args.get("vehicule", ""), "direction": args.get("direction", ""),
         "agent": (args.get("agent") or "").strip()[:80], "en_cours": args.get("en_cours") == "1"}
    if args.get("mois"):  # a month at once (links from the reports)
        try:
            year, month = timeutil.parse_month(args["mois"], now)
        except ValueError:
            abort(400, description="Mois invalide : format AAAA-MM attendu.")
        start, end = timeutil.month_bounds(year, month)
        f["du"] = timeutil.local(start).date().isoformat()
        f["au"] = (timeutil.local(end).date() - datetime.timedelta(days=1)).isoformat()
    else:
        today = timeutil.local(now).date()
        f["du"] = forms.date(args, "du", errors, "Du", required=False) or today.replace(day=1).isoformat()
        f["au"] = forms.date(args, "au", errors, "Au", required=False) or today.isoformat()
    vehicle_id = forms.integer(args, "vehicule", errors, "Véhicule", minimum=1, required=False)
    dept_id = forms.integer(args, "direction", errors, "Direction", minimum=1, required=False)
    if errors:
        abort(400, description=" ".join(errors.values()))
    start = timeutil.parse_local(f["du"], "00:00")
    next_day = datetime.date.fromisoformat(f["au"]) + datetime.timedelta(days=1)
    end = timeutil.parse_local(next_day.isoformat(), "00:00")
    if end <= start:
        abort(400, description="La date de fin doit être après la date de début.")
    found = trips.search(get_db(), start, end, scope_department(), vehicle_id, dept_id, f["agent"], f["en_cours"])
    return f, found


@bp.get("/trajets")
@role_required(*STAFF)
def trips_page():
    now = int(time.time())
    f, found = _filters(request.args, now)
    db = get_db()
    dept = scope_department()
    return render_template("admin/trips.html", trips=found, f=f, now=now,
                           vehicles=[(v["id"], v["plate"]) for v in org.vehicles(db, dept)],
                           departments=[(d["id"], d["code"]) for d in org.departments(db)],
                           query=request.query_string.decode("ascii", "replace"))


def _csv_line(t):
    hours = round(((t["end"] or t["start"]) - t["start"]) / 3600, 2)
    km = round(t["distance_m"] / 1000, 1)
    return [timeutil.fmt(t["start"]), timeutil.fmt(t["end"]) if t["end"] else "en cours", t["plate"], t["model"],
            t["agent_name"] or "inconnu", t["department_code"] or "", csv_export.decimal(km),
            csv_export.decimal(hours), "sans reservation" if t["unplanned"] else "reservation"]


@bp.get("/trajets.csv")
@role_required(*STAFF)
def trips_csv():
    f, found = _filters(request.args, int(time.time()))
    lines = [_csv_line(t) for t in found]
    return csv_export.response("autopartage-trajets-%s-%s.csv" % (f["du"], f["au"]), CSV_HEADER, lines)


@bp.get("/carte")
@role_required(*STAFF)
def fleet_map():
    """The fleet's last known positions (end of each car's latest trip still holding positions); logged."""
    cars = positions.last_known(get_db(), g.user["id"], int(time.time()), request.remote_addr, scope_department())
    data = {"cars": [{"lat": c["lat"] / 1e7, "lon": c["lon"] / 1e7, "on_road": bool(c["on_road"]),
                      "label": "%s%s" % (c["plate"], " (sur la route)" if c["on_road"] else "")} for c in cars]}
    return render_template("admin/fleet_map.html", cars=cars, data=data)
