"""Shared equipment under /admin (administrator): the items with who holds each now, adding, editing and
retiring one. Routes of the admin blueprint."""

import time

from flask import abort, flash, redirect, render_template, request, url_for

from server import forms
from server.admin import bp
from server.auth import role_required
from server.db import get_db
from server.queries import equipment


def _checked(form, errors, except_id=0):
    """(name, kind) of the item form, or errors."""
    name = forms.text(form, "name", errors, "Nom", required=True, max_len=80)
    kind = forms.choice(form, "kind", errors, "Type", equipment.KINDS)
    if name and equipment.name_taken(get_db(), name, except_id):
        errors["name"] = "Nom : ce matériel existe déjà."
    return name, kind


@bp.route("/materiel", methods=("GET", "POST"))
@role_required("admin")
def equipment_page():
    db = get_db()
    errors = {}
    if request.method == "POST":
        name, kind = _checked(request.form, errors)
        if not errors:
            equipment.create(db, name, kind)
            flash("Matériel ajouté.")
            return redirect(url_for("admin.equipment_page"))
    return render_template("admin/equipment.html", items=equipment.with_holders(db, int(time.time())),
                           kinds=list(equipment.KINDS.items()), labels=equipment.KINDS, errors=errors,
                           values=request.form), (400 if errors else 200)


@bp.route("/materiel/<int:equipment_id>", methods=("GET", "POST"))
@role_required("admin")
def equipment_item(equipment_id):
    db = get_db()
    item = equipment.get(db, equipment_id)
    if item is None:
        abort(404)
    errors = {}
    values = dict(item)
    if request.method == "POST":
        if request.form.get("action") == "active":
            equipment.set_active(db, equipment_id, not item["active"])
            flash("%s %s." % (item["name"], "retiré : il n'est plus proposé à la réservation" if item["active"]
                              else "remis à disposition"))
            return redirect(url_for("admin.equipment_page"))
        values = dict(request.form)
        name, kind = _checked(request.form, errors, except_id=equipment_id)
        if not errors:
            equipment.update(db, equipment_id, name, kind)
            flash("Matériel modifié.")
            return redirect(url_for("admin.equipment_page"))
    return render_template("admin/equipment_item.html", item=item, values=values, errors=errors,
                           kinds=list(equipment.KINDS.items())), (400 if errors else 200)
