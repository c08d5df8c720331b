"""A vehicle's own pages under /admin: its whole story (state, bookings, trips, month figures, problems,
box health, terms) and the actions on it (edit, out of service). Routes of the admin blueprint."""

import time

from flask import abort, flash, g, redirect, render_template, request, url_for

from server import forms, timeutil
from server.admin import STAFF, _dept_options, bp
from server.auth import role_required, scope_department
from server.db import get_db
from server.queries import boxes, org, problems, reports, reservations, trips
from server.queries.common import RuleError

BOX_SILENT_S = 86400  # a box not heard of for this long is "silent" (as on the dashboard)
MONTHS_SHOWN = 6


def _vehicle_in_scope(db, vehicle_id):
    v = org.vehicle(db, vehicle_id)
    if v is None:
        abort(404)
    dept = scope_department()
    if dept is not None and v["department_id"] != dept:
        abort(403)
    return v


def _state(db, v, now):
    """(key, French sentence) of what the car is doing now."""
    out = trips.out_now(db, now, vehicle_id=v["id"])
    if out:
        t = out[0]
        driver = t["agent_name"] or "un conducteur inconnu"
        text = "Sur la route avec %s depuis le %s" % (driver, timeutil.fmt(t["start"]))
        if t["late"]:
            text += " — en retard (retour prévu le %s)" % timeutil.fmt(t["due"])
        return "out", text
    if not v["active"]:
        return "off", "Hors service : ne peut pas être réservé"
    for r in reservations.for_vehicle(db, v["id"], now, limit=1):
        if r["status"] == "booked" and r["start"] <= now:
            return "booked", "Réservé par %s jusqu'au %s (pas encore parti)" % (r["agent_name"], timeutil.fmt(r["end"]))
    return "free", "Libre"


def _months(db, vehicle_id, now):
    """[(label, row of reports.monthly for the car or None)] for the last MONTHS_SHOWN months, newest first."""
    out = []
    d = timeutil.local(now)
    year, month = d.year, d.month
    for _ in range(MONTHS_SHOWN):
        start, end = timeutil.month_bounds(year, month)
        found = [v for v in reports.monthly(db, start, end)["vehicles"] if v["id"] == vehicle_id]
        out.append(("%04d-%02d" % (year, month), timeutil.month_label(year, month), found[0] if found else None))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out


@bp.get("/vehicules/<int:vehicle_id>")
@role_required(*STAFF)
def vehicle(vehicle_id):
    db = get_db()
    v = _vehicle_in_scope(db, vehicle_id)
    now = int(time.time())
    box = boxes.get(db, v["box_id"]) if v["box_id"] else None
    state, state_text = _state(db, v, now)
    return render_template(
        "admin/vehicle.html", v=v, box=box, now=now, state=state, state_text=state_text,
        box_silent=box is not None and (not box["last_seen"] or box["last_seen"] < now - BOX_SILENT_S),
        bookings=reservations.for_vehicle(db, vehicle_id, now - 7 * 86400),
        trips=trips.search(db, now - 92 * 86400, now + 1, vehicle_id=vehicle_id, limit=30),
        months=_months(db, vehicle_id, now), problems=problems.list_reports(db, vehicle_id=vehicle_id, limit=30),
        terms=org.terms_history(db, vehicle_id), kinds=problems.KINDS)


@bp.post("/vehicules/<int:vehicle_id>/service")
@role_required("admin")
def vehicle_service(vehicle_id):
    db = get_db()
    v = _vehicle_in_scope(db, vehicle_id)
    org.set_vehicle_active(db, vehicle_id, not v["active"])
    flash("Véhicule %s %s." % (v["plate"], "mis hors service" if v["active"] else "remis en service"))
    return redirect(url_for("admin.vehicle", vehicle_id=vehicle_id))


def _month_options(now):
    """The months a change may apply from: this one and the next two (never a past month)."""
    options, t = [], timeutil.month_start(now)
    for _ in range(3):
        d = timeutil.local(t)
        options.append((str(t), "à partir de " + timeutil.month_label(d.year, d.month).lower()))
        t = timeutil.next_month_start(t)
    return options


@bp.route("/vehicules/<int:vehicle_id>/modifier", methods=("GET", "POST"))
@role_required("admin")
def vehicle_edit(vehicle_id):
    db = get_db()
    v = _vehicle_in_scope(db, vehicle_id)
    now = int(time.time())
    months = _month_options(now)
    errors = {}
    values = dict(v, valid_from=months[0][0])
    if request.method == "POST":
        f = request.form
        values = dict(f)
        model = forms.text(f, "model", errors, "Modèle", required=True, max_len=80)
        pool_id = forms.integer(f, "pool_id", errors, "Pool", minimum=1)
        seats = forms.integer(f, "seats", errors, "Places", minimum=1, maximum=9)
        dept_id = forms.integer(f, "department_id", errors, "Direction propriétaire", minimum=1)
        rate = forms.integer(f, "cost_per_km_cents", errors, "Coût au km (centimes)", minimum=0, maximum=10000)
        fixed = forms.integer(f, "monthly_fixed_cents", errors, "Coût fixe mensuel (centimes)", minimum=0,
                              maximum=10_000_000)
        valid_from = forms.choice(f, "valid_from", errors, "Date d'effet", dict(months))
        if pool_id and not org.pool(db, pool_id):
            errors["pool_id"] = "Pool : choisissez un pool de la liste."
        if dept_id and dept_id not in {d["id"] for d in org.departments(db)}:
            errors["department_id"] = "Direction : choisissez une direction de la liste."
        if not errors:
            org.update_vehicle(db, vehicle_id, model, pool_id, seats)
            terms = (dept_id, rate, fixed)
            if terms != (v["department_id"], v["cost_per_km_cents"], v["monthly_fixed_cents"]):
                try:
                    org.change_terms(db, vehicle_id, int(valid_from), dept_id, rate, fixed, now, g.user["id"])
                except RuleError as exc:
                    errors["valid_from"] = exc.message
            if not errors:
                flash("Véhicule %s modifié." % v["plate"])
                return redirect(url_for("admin.vehicle", vehicle_id=vehicle_id))
    return render_template("admin/vehicle_edit.html", v=v, values=values, errors=errors, months=months,
                           pools=[(p["id"], p["name"]) for p in org.pools(db)],
                           departments=_dept_options(db)), (
        400 if errors else 200)


@bp.post("/reservations/<int:reservation_id>/liberer")
@role_required(*STAFF)
def release_flagged(reservation_id):
    """Release a booking the no-show rule kept because the car's box was silent (the manager checked)."""
    if reservations.release_flagged(get_db(), reservation_id, scope_department()):
        flash("Réservation libérée : le véhicule est de nouveau proposé.")
    else:
        flash("Cette réservation ne peut pas être libérée (commencée, déjà libérée ou hors de votre périmètre).")
    return redirect(url_for("admin.index"))
