"""« Boîte à idées / retours »: every agent writes (subject, text, optionally a car and one of their trips)
and reads the answers (`/boite-a-idees`); the fleet managers in scope answer from their inbox
(`/admin/boite-a-idees`), the answer is e-mailed back. Separate from the per-car problem reports."""

import time

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from server import forms, timeutil
from server.auth import login_required, role_required, scope_department
from server.db import get_db, write
from server.mail import events, messages
from server.queries import feedback as feedback_q
from server.queries import mail as mail_q
from server.queries import org, trips

bp = Blueprint("feedback", __name__)


@bp.route("/boite-a-idees", methods=("GET", "POST"))
@login_required
def mine():
    db = get_db()
    my_trips = trips.for_agent(db, g.user["id"], limit=20)
    cars = {v["id"]: "%s (%s)" % (v["plate"], v["model"]) for v in org.vehicles(db)}
    errors, values = {}, {}
    if request.method == "POST":
        f = request.form
        values = {k: f.get(k, "") for k in ("subject", "text", "vehicle_id", "trip_id")}
        subject = forms.text(f, "subject", errors, "Objet", required=True, max_len=120)
        text = forms.text(f, "text", errors, "Message", required=True, max_len=4000)
        vehicle_id = forms.integer(f, "vehicle_id", errors, "Véhicule", minimum=1, required=False)
        trip_id = forms.integer(f, "trip_id", errors, "Trajet", minimum=1, required=False)
        if vehicle_id is not None and vehicle_id not in cars:
            errors["vehicle_id"] = "Véhicule : choisissez un véhicule de la liste."
        trip = next((t for t in my_trips if t["id"] == trip_id), None)
        if trip_id is not None and trip is None:
            errors["trip_id"] = "Trajet : choisissez un de vos trajets."
        elif trip is not None and vehicle_id is None:
            vehicle_id = trip["vehicle_id"]
        elif trip is not None and vehicle_id != trip["vehicle_id"]:
            errors["vehicle_id"] = "Véhicule : ce n'est pas le véhicule de ce trajet."
        if not errors:
            now = int(time.time())
            with write(db):
                fid = feedback_q.create(db, g.user["id"], g.user["department_id"], subject, text, now,
                                        vehicle_id=vehicle_id, trip_id=trip_id)
                fb = feedback_q.get(db, fid)
                managers = mail_q.managers(db, [fb["department_id"], fb["vehicle_department_id"]])
                events.send(db, now, "feedback_new", messages.feedback_new(fb, managers), ref_id=fid)
            flash("Merci : votre message est transmis aux gestionnaires de flotte. Leur réponse s'affichera ici et "
                  "vous sera envoyée par e-mail.")
            return redirect(url_for("feedback.mine"))
    return render_template("feedback/mine.html", messages=feedback_q.for_agent(db, g.user["id"]), errors=errors,
                           values=values, cars=[("", "—")] + sorted(cars.items(), key=lambda kv: kv[1]),
                           trips=[("", "—")] + [(t["id"], "%s, %s" % (t["plate"], timeutil.fmt(t["start"])))
                                                 for t in my_trips],
                           labels=feedback_q.STATUSES), (400 if errors else 200)


@bp.get("/admin/boite-a-idees")
@role_required("manager", "admin")
def inbox():
    status = request.args.get("etat") or None
    if status is not None and status not in feedback_q.STATUSES:
        abort(400, description="État inconnu.")
    return render_template("feedback/inbox.html", messages=feedback_q.inbox(get_db(), scope_department(), status),
                           status=status, labels=feedback_q.STATUSES)


@bp.route("/admin/boite-a-idees/<int:feedback_id>", methods=("GET", "POST"))
@role_required("manager", "admin")
def detail(feedback_id):
    db = get_db()
    fb = feedback_q.get(db, feedback_id, scope_department())
    if fb is None:
        abort(404)
    errors = {}
    if request.method == "POST":
        action = request.form.get("action")
        if action == "answer":
            text = forms.text(request.form, "answer", errors, "Réponse", required=True, max_len=4000)
            if not errors:
                now = int(time.time())
                with write(db):
                    feedback_q.answer(db, feedback_id, g.user["id"], text, now)
                    events.send(db, now, "feedback_answer", messages.feedback_answer(feedback_q.get(db, feedback_id)),
                                ref_id=feedback_id)
                flash("Réponse enregistrée et envoyée par e-mail à %s." % fb["agent_name"])
                return redirect(url_for("feedback.detail", feedback_id=feedback_id))
        elif action in ("close", "reopen"):
            with write(db):
                feedback_q.set_status(db, feedback_id, "closed" if action == "close" else (
                    "answered" if fb["answer"] else "open"))
            flash("Message clos." if action == "close" else "Message rouvert.")
            return redirect(url_for("feedback.detail", feedback_id=feedback_id))
        else:
            abort(400)
    return render_template("feedback/detail.html", fb=fb, errors=errors, labels=feedback_q.STATUSES,
                           values=request.form), (400 if errors else 200)
