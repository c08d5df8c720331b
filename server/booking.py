"""Agents' pages: find and book a car, my bookings (extend, cancel), problem reports, my trips,
shared equipment, and the iCal feed of one's bookings (secret URL)."""

import time

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for

from server import forms, ics, timeline, timeutil
from server.auth import login_required
from server.db import get_db
from server.queries import agents as agents_q
from server.queries import equipment as equipment_q
from server.queries import positions, problems, reservations, trips
from server.queries.common import RuleError, Rules

bp = Blueprint("booking", __name__)


def _rules():
    return Rules.from_config(current_app.config)


def _defaults(now):
    """Next round quarter hour, for one hour."""
    d = timeutil.local(now + 900 - now % 900)
    e = timeutil.local(now + 900 - now % 900 + 3600)
    return {"date": d.date().isoformat(), "start": d.strftime("%H:%M"), "end_date": e.date().isoformat(),
            "end": e.strftime("%H:%M")}


def _values(form, now):
    """Form values to show again: what was sent, defaults for the rest (the end date follows the start)."""
    values = dict(_defaults(now), **{k: v for k, v in form.items() if k != "csrf_token"})
    if "date" in form and not form.get("end_date"):
        values["end_date"] = values["date"]
    return values


def _slot(form, errors, now, minimum=True):
    """The slot of a search form, checked against the booking rules before anything is listed: a slot in
    the past, too long or beyond the horizon gets the rule's message (in `errors`) and no list."""
    start, end = forms.slot(form, errors)
    if not errors:
        try:
            _rules().check_slot(start, end, now, minimum=minimum)
        except RuleError as exc:
            errors["end" if exc.code in ("too_short", "too_long") else "date"] = exc.message
    return start, end


@bp.get("/")
@login_required
def index():
    return redirect(url_for("booking.search"))


@bp.route("/reserver", methods=("GET", "POST"))
@login_required
def search():
    db = get_db()
    now = int(time.time())
    form = request.form if request.method == "POST" else request.args
    values = _values(form, now)
    errors, cars, searched = {}, None, False
    if "date" in form:
        start, end = _slot(form, errors, now)
        if not errors:
            searched = True
            cars = reservations.available(db, g.user, start, end, now)
            if request.method == "GET":
                reservations.log_search(db, g.user["id"], now, start, end, len(cars))
            if request.method == "POST":
                purpose = forms.text(form, "purpose", errors, "Motif", max_len=200)
                destination = forms.text(form, "destination", errors, "Destination", max_len=200)
                vehicle_id = forms.integer(form, "vehicle_id", errors, "Véhicule", minimum=1)
                if not errors:
                    try:
                        reservations.create(db, g.user["id"], vehicle_id, start, end, now, _rules(),
                                            purpose=purpose, destination=destination)
                    except RuleError as exc:
                        errors["vehicle_id"] = exc.message
                    else:
                        flash("Réservation enregistrée : %s → %s." % (timeutil.fmt(start), timeutil.fmt(end)))
                        return redirect(url_for("booking.my_reservations"))
    elif request.method == "POST":
        errors["date"] = "Date de début : champ obligatoire."
    status = 400 if errors else 200
    return render_template("booking/search.html", values=values, errors=errors, cars=cars, searched=searched), status


def timeline_page(template, cars, now, default_view="jour", more=None, **context):
    """A calendar page (agents' and managers'): the period asked for, the cars' bookings and the cars on
    the road as bars over its slots. `more(period)` -> extra template values for that period."""
    try:
        p = timeline.period(request.args, now, default_view)
        pools, pool, cars = timeline.pool_filter(request.args, cars)
    except ValueError as exc:
        abort(400, description=str(exc))
    db = get_db()
    shown = {c["id"] for c in cars}
    booked = reservations.timeline(db, p.start, p.end, shown) + [
        b for b in timeline.on_road_bars(trips.out_now(db, now), now, reservations.ON_ROAD_MARGIN_S)
        if b["vehicle_id"] in shown]
    context.update(more(p) if more else {})
    return render_template(template, p=p, rows=timeline.rows(cars, booked, p.slots, now),
                           headers=timeline.headers(p.slots, p.week), search_args=timeline.search_args,
                           pools=pools, keep={"pool": pool} if pool else {}, **context)


@bp.get("/calendrier")
@login_required
def calendar():
    """The agent's timeline: the cars they may book, booked slots as bars, free slots to pick."""
    cars = reservations.bookable_vehicles(get_db(), g.user)
    return timeline_page("booking/calendar.html", cars, int(time.time()), staff=False)


@bp.get("/mes-reservations")
@login_required
def my_reservations():
    db = get_db()
    now = int(time.time())
    notes = agents_q.notifications(db, g.user["id"])
    page = render_template("booking/mine.html", upcoming=reservations.for_agent(db, g.user["id"], now),
                           past=reservations.for_agent(db, g.user["id"], now, upcoming=False, limit=20),
                           gear=equipment_q.for_agent(db, g.user["id"], now), notes=notes, now=now)
    if notes:
        agents_q.mark_notifications_seen(db, g.user["id"])
    return page


@bp.post("/reservations/<int:reservation_id>/annuler")
@login_required
def cancel(reservation_id):
    try:
        reservations.cancel(get_db(), reservation_id, g.user["id"], int(time.time()))
    except RuleError as exc:
        flash(exc.message)
    else:
        flash("Réservation annulée.")
    return redirect(url_for("booking.my_reservations"))


@bp.post("/reservations/<int:reservation_id>/prolonger")
@login_required
def extend(reservation_id):
    errors = {}
    d = forms.date(request.form, "end_date", errors, "Nouvelle date de fin")
    t = forms.time_of_day(request.form, "end", errors, "Nouvelle heure de fin")
    if errors:
        flash(" ".join(errors.values()))
        return redirect(url_for("booking.my_reservations")), 303
    try:
        reservations.extend(get_db(), reservation_id, g.user["id"], timeutil.parse_local(d, t), int(time.time()),
                            _rules())
    except RuleError as exc:
        flash(exc.message)
    else:
        flash("Fin de réservation modifiée.")
    return redirect(url_for("booking.my_reservations"))


@bp.route("/signaler", methods=("GET", "POST"))
@login_required
def report_problem():
    db = get_db()
    now = int(time.time())
    mine = reservations.for_agent(db, g.user["id"], now, upcoming=False, limit=10) + reservations.for_agent(
        db, g.user["id"], now, limit=10)
    options = {}
    for r in mine:
        options[r["vehicle_id"]] = "%s (%s)" % (r["plate"], r["model"])
    for t in trips.for_agent(db, g.user["id"], limit=10):
        options[t["vehicle_id"]] = "%s (%s)" % (t["plate"], t["model"])
    errors = {}
    trip = None
    trip_id = forms.integer(request.values, "trip_id", errors, "Trajet", minimum=1, required=False)
    if trip_id is not None:
        trip = trips.get(db, trip_id)
        if trip is None or trip["agent_id"] != g.user["id"]:
            errors["trip_id"] = "Trajet : ce trajet n'est pas le vôtre."
            trip = None
    values = {"vehicle_id": trip["vehicle_id"] if trip else request.values.get("vehicle_id", ""), "kind": "remark",
              "text": ""}
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in ("vehicle_id", "kind", "text")}
        vehicle_id = forms.integer(request.form, "vehicle_id", errors, "Véhicule", minimum=1)
        if vehicle_id is not None and vehicle_id not in options:
            errors["vehicle_id"] = "Véhicule : choisissez un véhicule que vous avez réservé ou conduit."
        if trip and vehicle_id != trip["vehicle_id"]:
            errors["vehicle_id"] = "Véhicule : ce n'est pas le véhicule de ce trajet."
        kind = forms.choice(request.form, "kind", errors, "Type de problème", problems.KINDS)
        text = forms.text(request.form, "text", errors, "Description", required=True, max_len=2000)
        if not errors:
            problems.create(db, vehicle_id, g.user["id"], kind, text, now, trip_id=trip["id"] if trip else None,
                            reservation_id=trip["reservation_id"] if trip else None)
            flash("Merci : le signalement a été transmis au gestionnaire de flotte.")
            return redirect(url_for("booking.my_reservations"))
    return render_template("booking/problem.html", options=sorted(options.items(), key=lambda kv: kv[1]),
                           kinds=list(problems.KINDS.items()), values=values, errors=errors, trip=trip), (
        400 if errors else 200)


@bp.get("/mes-trajets")
@login_required
def my_trips():
    return render_template("booking/trips.html", trips=trips.for_agent(get_db(), g.user["id"]))


@bp.get("/mes-trajets/<int:trip_id>")
@login_required
def my_trip(trip_id):
    db = get_db()
    trip = trips.get(db, trip_id)
    if trip is None or trip["agent_id"] != g.user["id"]:
        abort(404)
    points = positions.for_trip(db, trip_id, g.user["id"], int(time.time()), request.remote_addr)
    return render_template("trip.html", trip=trip, points=points, back=url_for("booking.my_trips"))


@bp.route("/materiel", methods=("GET", "POST"))
@login_required
def equipment():
    db = get_db()
    now = int(time.time())
    form = request.form if request.method == "POST" else request.args
    values = _values(form, now)
    errors, items = {}, None
    if "date" in form:
        start, end = _slot(form, errors, now, minimum=False)
        if not errors:
            items = equipment_q.available(db, start, end)
            if request.method == "POST":
                item_id = forms.integer(form, "equipment_id", errors, "Matériel", minimum=1)
                if not errors:
                    try:
                        equipment_q.book(db, item_id, g.user["id"], start, end, now, _rules())
                    except RuleError as exc:
                        errors["equipment_id"] = exc.message
                    else:
                        flash("Matériel réservé.")
                        return redirect(url_for("booking.my_reservations"))
    elif request.method == "POST":
        errors["date"] = "Date de début : champ obligatoire."
    return render_template("booking/equipment.html", values=values, errors=errors, items=items,
                           kinds=equipment_q.KINDS), (400 if errors else 200)


@bp.post("/materiel/<int:booking_id>/annuler")
@login_required
def cancel_equipment(booking_id):
    try:
        equipment_q.cancel(get_db(), booking_id, g.user["id"])
    except RuleError as exc:
        flash(exc.message)
    else:
        flash("Réservation de matériel annulée.")
    return redirect(url_for("booking.my_reservations"))


@bp.get("/agenda/<token>.ics")
def ical(token):
    """iCal feed of an agent's bookings; the URL's token is the only credential (rotatable)."""
    db = get_db()
    agent = agents_q.by_ical_token(db, token) if len(token) < 100 else None
    if agent is None:
        abort(404)
    now = int(time.time())
    host = request.host.split(":")[0] or "autopartage"
    events = []
    for r in reservations.for_agent(db, agent["id"], now - 30 * 86400, limit=500):
        if r["status"] == "booked":
            events += ics.reservation_event(r, host, now)
    return Response(ics.calendar(events, name="Mes réservations de véhicules"),
                    mimetype="text/calendar; charset=utf-8")
