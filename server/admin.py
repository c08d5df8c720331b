"""Administrators' and fleet managers' pages (`/admin/...`).

An administrator sees and manages everything; a fleet manager (role `manager`) sees the cars, agents,
trips and reports of their own department and manages its agents, badges and habilitations. Raw
positions are shown only here (and to the driver), and every view is logged.
"""

import logging
import secrets
import time

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from server import booking, charts, csv_export, forms, permissions, timeutil, work_hours
from server.auth import client_address, role_required, scope_department
from server.db import get_db, rows, write
from server.mail import accounts
from server.queries import account_tokens
from server.queries import agents as agents_q
from server.queries import feedback as feedback_q
from server.queries import alerts, audit, boxes, equipment, org, positions, problems, reports, reservations, trips
from server.queries.common import RuleError

bp = Blueprint("admin", __name__, url_prefix="/admin")
log = logging.getLogger(__name__)

STAFF = ("manager", "admin")
AGENTS_PER_PAGE = 50


def _audit(db, action, target, before=None, after=None):
    """Append to the audit log what the signed-in user just did (call inside the change's transaction)."""
    audit.record(db, action, actor_id=g.user["id"], address=client_address(), target=target, before=before,
                 after=after)


def _month():
    try:
        return timeutil.parse_month(request.args.get("mois", ""), int(time.time()))
    except ValueError:
        abort(400, description="Mois invalide : format AAAA-MM attendu.")


def _dept_options(db):
    return [(d["id"], "%s — %s" % (d["code"], d["name"])) for d in org.departments(db)]


@bp.get("/")
@role_required(*STAFF)
def index():
    db = get_db()
    dept = scope_department()
    now = int(time.time())
    stale = [b for b in boxes.list_boxes(db, dept) if not b["last_seen"] or b["last_seen"] < now - 86400]
    out = trips.out_now(db, now, dept)
    return render_template("admin/index.html", vehicles=len(org.vehicles(db, dept, include_inactive=False)),
                           open_problems=len(problems.list_reports(db, dept, "open")), stale=stale,
                           today=reservations.calendar(db, now - now % 86400, now - now % 86400 + 86400, dept),
                           out=out, late=[t for t in out if t["late"]],
                           box_silent=reservations.box_silent(db, now, dept))


# -- departments and pools (administrator) -------------------------------------------------------------

@bp.route("/directions", methods=("GET", "POST"))
@role_required("admin")
def departments():
    db = get_db()
    errors = {}
    if request.method == "POST":
        code = forms.text(request.form, "code", errors, "Code", required=True, max_len=12).upper()
        name = forms.text(request.form, "name", errors, "Nom", required=True, max_len=120)
        if code and not code.replace("-", "").isalnum():
            errors["code"] = "Code : lettres et chiffres uniquement."
        elif code and org.department_by_code(db, code):
            errors["code"] = "Code : cette direction existe déjà."
        if not errors:
            org.ensure_department(db, code, name)
            flash("Direction %s créée." % code)
            return redirect(url_for("admin.departments"))
    return render_template("admin/departments.html", departments=org.departments(db), errors=errors,
                           values=request.form), (400 if errors else 200)


@bp.route("/pools", methods=("GET", "POST"))
@role_required("admin")
def pools():
    db = get_db()
    errors = {}
    if request.method == "POST":
        action = request.form.get("action", "create")
        if action == "toggle":
            pool_id = forms.record_id(request.form, "pool_id")
            p = org.pool(db, pool_id)
            if p is None:
                abort(404)
            org.set_pool_on_the_spot(db, pool_id, not p["on_the_spot"])
            flash("Pool %s : usage sans réservation %s." % (p["name"], "interdit" if p["on_the_spot"] else "autorisé"))
            return redirect(url_for("admin.pools"))
        name = forms.text(request.form, "name", errors, "Nom", required=True, max_len=80)
        dept = forms.integer(request.form, "department_id", errors, "Direction", minimum=1)
        if dept and not org.department_exists(db, dept):
            errors["department_id"] = "Direction : choisissez une direction de la liste."
        if name and org.pool_name_taken(db, name):
            errors["name"] = "Nom : ce pool existe déjà."
        if not errors:
            org.ensure_pool(db, name, dept, on_the_spot=bool(request.form.get("on_the_spot")))
            flash("Pool %s créé." % name)
            return redirect(url_for("admin.pools"))
    return render_template("admin/pools.html", pools=org.pools(db), departments=_dept_options(db), errors=errors,
                           values=request.form), (400 if errors else 200)


# -- vehicles ---------------------------------------------------------------------------------------------

@bp.route("/vehicules", methods=("GET", "POST"))
@role_required(*STAFF)
def vehicles():
    db = get_db()
    dept = scope_department()
    errors = {}
    if request.method == "POST":
        if g.user["role"] != "admin":
            abort(403)
        f = request.form
        plate = forms.text(f, "plate", errors, "Immatriculation", required=True, max_len=16)
        model = forms.text(f, "model", errors, "Modèle", required=True, max_len=80)
        pool_id = forms.integer(f, "pool_id", errors, "Pool", minimum=1)
        dept_id = forms.integer(f, "department_id", errors, "Direction propriétaire", minimum=1)
        rate = forms.integer(f, "cost_per_km_cents", errors, "Coût au km (centimes)", minimum=0, maximum=10000)
        fixed = forms.integer(f, "monthly_fixed_cents", errors, "Coût fixe mensuel (centimes)", minimum=0,
                              maximum=10_000_000)
        seats = forms.integer(f, "seats", errors, "Places", minimum=1, maximum=9)
        if plate and not all(c.isalnum() or c in "- " for c in plate):
            errors["plate"] = "Immatriculation : lettres, chiffres et tirets uniquement (AB-123-CD)."
        if pool_id and not org.pool(db, pool_id):
            errors["pool_id"] = "Pool : choisissez un pool de la liste."
        if dept_id and not org.department_exists(db, dept_id):
            errors["department_id"] = "Direction : choisissez une direction de la liste."
        if not errors:
            try:
                vehicle_id = org.add_vehicle(db, plate, model, pool_id, dept_id, rate, fixed, seats)
            except RuleError as exc:
                errors["plate"] = exc.message
            else:
                flash("Véhicule %s ajouté." % org.normalize_plate(plate))
                return redirect(url_for("admin.vehicle", vehicle_id=vehicle_id))
    return render_template("admin/vehicles.html", vehicles=org.vehicles(db, dept), errors=errors, values=request.form,
                           pools=[(p["id"], p["name"]) for p in org.pools(db)], departments=_dept_options(db)), (
        400 if errors else 200)


# -- boxes (administrator) ------------------------------------------------------------------------------------

@bp.route("/boitiers", methods=("GET", "POST"))
@role_required(*STAFF)
def boxes_page():
    db = get_db()
    errors, new_key = {}, None
    if request.method == "POST":
        if g.user["role"] != "admin":
            abort(403)
        box_id = forms.integer(request.form, "box_id", errors, "Numéro de boîtier", minimum=1, maximum=(1 << 32) - 1)
        vehicle_id = forms.integer(request.form, "vehicle_id", errors, "Véhicule", minimum=1)
        if vehicle_id and not org.vehicle(db, vehicle_id):
            errors["vehicle_id"] = "Véhicule : choisissez un véhicule de la liste."
        if box_id and boxes.get(db, box_id) and not request.form.get("replace"):
            errors["box_id"] = ("Numéro de boîtier : déjà enregistré (cochez « remplacer la clé » pour le "
                                "reprovisionner).")
        if not errors:
            new_key = secrets.token_hex(16)
            with write(db):
                previous = boxes.get(db, box_id)
                boxes.register(db, box_id, vehicle_id, new_key)
                _audit(db, "box.key" if previous else "box.register", "box:%d" % box_id,
                       before={"vehicle": previous["vehicle_id"]} if previous else None, after={"vehicle": vehicle_id})
            g.no_store = True  # the page shows the key
            flash("Boîtier %d enregistré. Copiez sa clé maintenant : elle ne sera plus affichée." % box_id)
    return _boxes_list(db, errors, new_key=new_key)


def _boxes_list(db, errors, new_key=None, cmd_errors=None):
    return render_template("admin/boxes.html", boxes=boxes.list_boxes(db, scope_department()), errors=errors,
                           values=request.form, new_key=new_key, now=int(time.time()), cmd_errors=cmd_errors or {},
                           counts=boxes.command_counts(db), actions=list(boxes.ACTION_LABELS.items()),
                           vehicles=[(v["id"], "%s (%s)" % (v["plate"], v["model"])) for v in org.vehicles(db)]), (
        400 if errors or cmd_errors else 200)


def _box_in_scope(db, box_id):
    """The box (404 unknown); a fleet manager only reaches the boxes of their department's vehicles."""
    box = boxes.get(db, box_id)
    if box is None:
        abort(404)
    if g.user["role"] != "admin" and (box["department_id"] is None or box["department_id"] != g.user["department_id"]):
        abort(403)
    return box


def _queue_command(db, box_id, form, errors):
    """Validate and queue the command of a posted form; True when queued (errors filled otherwise)."""
    reservation = forms.integer(form, "reservation", errors, "Réservation", minimum=1, required=False)
    if errors:
        return False
    action = form.get("action_cmd") or ""
    try:
        with write(db):
            command_id, note = boxes.queue_command(db, box_id, action, int(time.time()), reservation_id=reservation,
                                                   version=form.get("version"), created_by=g.user["id"])
            _audit(db, "box.command", "box:%d" % box_id, after={"action": action, "command": command_id,
                                                                 "note": note})
    except boxes.CommandError as exc:
        errors["action_cmd" if exc.field == "action" else exc.field] = exc.message
        return False
    log.info("box command: box %d %s%s (command %d) queued by %s (agent %d) from %s", box_id, action,
             " " + note if note else "", command_id, g.user["email"], g.user["id"], request.remote_addr)
    flash("Commande « %s » enregistrée pour le boîtier %d : elle partira à sa prochaine synchronisation."
          % (boxes.ACTION_LABELS[action], box_id))
    return True


@bp.post("/boitiers/commande")
@role_required(*STAFF)
def box_command_from_list():
    db = get_db()
    errors = {}
    box_id = forms.integer(request.form, "box_id", errors, "Numéro de boîtier", minimum=1, maximum=(1 << 32) - 1)
    if box_id:
        _box_in_scope(db, box_id)
    if not errors and _queue_command(db, box_id, request.form, errors):
        return redirect(url_for("admin.box_detail", box_id=box_id))
    return _boxes_list(db, {}, cmd_errors=errors)


@bp.route("/boitiers/<int:box_id>", methods=("GET", "POST"))
@role_required(*STAFF)
def box_detail(box_id):
    db = get_db()
    box = _box_in_scope(db, box_id)
    errors = {}
    if request.method == "POST":
        action = request.form.get("action")
        if action == "command":
            if _queue_command(db, box_id, request.form, errors):
                return redirect(url_for("admin.box_detail", box_id=box_id))
        elif action in ("disable", "enable"):
            if g.user["role"] != "admin":
                abort(403)
            with write(db):
                boxes.set_disabled(db, box_id, action == "disable", int(time.time()))
                _audit(db, "box." + action, "box:%d" % box_id, before={"disabled": bool(box["disabled"])},
                       after={"disabled": action == "disable"})
            log.info("box %s: box %d by %s (agent %d) from %s", action, box_id, g.user["email"], g.user["id"],
                     request.remote_addr)
            flash("Boîtier %d %s." % (box_id, "désactivé : ses synchronisations sont refusées et rien de ce qu'il "
                                               "envoie n'est enregistré" if action == "disable" else "réactivé"))
            return redirect(url_for("admin.box_detail", box_id=box_id))
        else:
            abort(400)
    now = int(time.time())
    return render_template("admin/box.html", box=box, commands=boxes.commands(db, box_id), errors=errors,
                           values=request.form, now=now, actions=list(boxes.ACTION_LABELS.items()),
                           reservations=[("", "Aucune (trajet non planifié)")] + [
                               (r["id"], "n° %d — %s, %s" % (r["id"], r["agent_name"], timeutil.fmt(r["start"])))
                               for r in boxes.open_reservations(db, box_id, now)],
                           events=boxes.events(db, box_id, limit=20)), (400 if errors else 200)


# -- agents, badges ---------------------------------------------------------------------------------------------

def _agent_in_scope(db, agent_id):
    agent = agents_q.get(db, agent_id)
    if agent is None:
        abort(404)
    permissions.require(permissions.may_view_agent(g.user, agent))
    return agent


@bp.route("/agents", methods=("GET", "POST"))
@role_required(*STAFF)
def agents():
    db = get_db()
    dept = scope_department()
    errors = {}
    if request.method == "POST":
        f = request.form
        name = forms.text(f, "name", errors, "Nom", required=True, max_len=120)
        email = forms.text(f, "email", errors, "E-mail", required=True, max_len=200)
        if email and ("@" not in email or " " in email):
            errors["email"] = "E-mail : adresse invalide."
        elif email and agents_q.by_email(db, email):
            errors["email"] = "E-mail : un agent a déjà cette adresse."
        dept_id = dept if dept is not None else forms.integer(f, "department_id", errors, "Direction", minimum=1)
        if dept_id and not org.department_exists(db, dept_id):
            errors["department_id"] = "Direction : choisissez une direction de la liste."
        badge = (f.get("badge") or "").strip()
        if badge and agents_q.normalize_uid(badge) is None:
            errors["badge"] = "Badge : identifiant hexadécimal de 4 à 10 octets (ex. 04:A2:1B:C3)."
        elif badge and agents_q.badge_taken(db, agents_q.normalize_uid(badge)):
            errors["badge"] = "Badge : déjà attribué à un autre agent."
        if not errors:
            with write(db):
                agent_id = agents_q.create(db, name, email, dept_id)
                _audit(db, "agent.create", "agent:%d" % agent_id, after={"email": email, "department": dept_id})
                if badge:
                    badge_id = agents_q.add_badge(db, agent_id, badge)
                    _audit(db, "badge.add", "agent:%d" % agent_id, after={"badge": badge_id})
                accounts.send_link(db, agents_q.get(db, agent_id), "invite", int(time.time()))
            flash("Agent %s créé : une invitation à choisir son mot de passe part à %s." % (name, email))
            return redirect(url_for("admin.agent", agent_id=agent_id))
    q = (request.args.get("q") or "").strip()[:100]
    page = forms.integer(request.args, "page", {}, "Page", minimum=1, maximum=100000, required=False) or 1
    found = agents_q.list_agents(db, dept, q or None, limit=AGENTS_PER_PAGE + 1, offset=(page - 1) * AGENTS_PER_PAGE)
    return render_template("admin/agents.html", agents=found[:AGENTS_PER_PAGE], q=q, page=page,
                           more=len(found) > AGENTS_PER_PAGE, roles=agents_q.ROLE_LABELS, errors=errors,
                           values=request.form, departments=_dept_options(db)), (400 if errors else 200)


def _agent_change(db, person, form, errors):
    """Apply one posted change to an agent's account (the rights were checked by `permissions`), each with
    its audit entry in the same transaction."""
    agent_id = person["id"]
    target = "agent:%d" % agent_id
    action = form.get("action")
    if action == "badge":
        uid = agents_q.normalize_uid(form.get("badge"))
        if uid is None:
            errors["badge"] = "Badge : identifiant hexadécimal de 4 à 10 octets (ex. 04:A2:1B:C3)."
            return
        try:
            badge_id = agents_q.add_badge(db, agent_id, uid)
        except ValueError:
            errors["badge"] = "Badge : déjà attribué à un autre agent."
            return
        _audit(db, "badge.add", target, after={"badge": badge_id, "uid": "…" + uid[-4:]})
        flash("Badge ajouté.")
    elif action == "badge_off":
        badge_id = forms.integer(form, "badge_id", errors, "Badge", minimum=1)
        if not (badge_id and agents_q.badge_owner(db, badge_id) == agent_id):
            errors["badge_id"] = "Badge introuvable."
            return
        agents_q.deactivate_badge(db, badge_id)
        _audit(db, "badge.deactivate", target, before={"badge": badge_id, "active": True},
               after={"badge": badge_id, "active": False})
        flash("Badge désactivé.")
    elif action == "invite":  # nobody types a password for someone else: a link goes to the agent
        if not person["active"]:
            errors["invite"] = "Compte inactif : réactivez-le d'abord."
            return
        purpose = "reset" if person["password_hash"] else "invite"
        accounts.send_link(db, person, purpose, int(time.time()))
        flash("%s envoyé à %s." % ("Lien de nouveau mot de passe" if purpose == "reset" else "Invitation",
                                  person["email"]))
    elif action == "settings":
        role = forms.choice(form, "role", errors, "Rôle", agents_q.ROLES)
        active = bool(form.get("active"))
        if role and role != person["role"]:
            if agent_id == g.user["id"]:
                errors["role"] = "Rôle : vous ne pouvez pas changer votre propre rôle."
            elif not permissions.may_set_role(g.user, person):
                errors["role"] = "Rôle : seul un administrateur peut changer un rôle."
        if agent_id == g.user["id"] and not active:
            errors["active"] = "Vous ne pouvez pas désactiver votre propre compte."
        if errors:
            return
        if role != person["role"]:
            agents_q.update(db, agent_id, role=role)
            agents_q.end_sessions(db, agent_id)  # the new rights apply from a fresh login
            _audit(db, "agent.role", target, before=person["role"], after=role)
        if active != bool(person["active"]):
            agents_q.update(db, agent_id, active=active)
            _audit(db, "agent.active", target, before=bool(person["active"]), after=active)
        flash("Agent mis à jour.")
    elif action == "permanent":
        permissions.require(permissions.may_grant_permanent_access(g.user))
        pool_ids = _ids(form.getlist("pool"), {p["id"] for p in org.pools(db)}, errors, "pool")
        dept_ids = _ids(form.getlist("department"), {d["id"] for d in org.departments(db)}, errors, "department")
        if errors:
            return
        before, after = agents_q.set_permanent_access(db, agent_id, pool_ids, dept_ids, granted_by=g.user["id"])
        if before != after:
            _audit(db, "permanent_access.set", target, before=before, after=after)
        flash("Accès permanent enregistré." if pool_ids or dept_ids else "Accès permanent retiré.")
    else:
        abort(400)


def _ids(values, allowed, errors, name):
    """Posted ids (checkboxes) that must all be in `allowed`."""
    try:
        ids = sorted({int(v) for v in values})
    except ValueError:
        ids = None
    if ids is None or not set(ids) <= allowed:
        errors[name] = "Choisissez dans la liste."
        return []
    return ids


@bp.route("/agents/<int:agent_id>", methods=("GET", "POST"))
@role_required(*STAFF)
def agent(agent_id):
    db = get_db()
    person = _agent_in_scope(db, agent_id)
    errors = {}
    if request.method == "POST":
        permissions.require(permissions.may_manage_agent(g.user, person))
        with write(db):  # each branch checks everything before its first write
            _agent_change(db, person, request.form, errors)
        if not errors:
            return redirect(url_for("admin.agent", agent_id=agent_id))
    scopes = agents_q.permanent_scopes(db, agent_id)
    return render_template("admin/agent.html", person=agents_q.get(db, agent_id), badges=agents_q.badges(db, agent_id),
                           invitation=account_tokens.pending_invitation(db, agent_id, int(time.time())),
                           errors=errors, roles=list(agents_q.ROLE_LABELS.items()),
                           may_manage=permissions.may_manage_agent(g.user, person),
                           may_grant=permissions.may_grant_permanent_access(g.user), scopes=scopes,
                           pools=org.pools(db), departments=org.departments(db),
                           trips=trips.for_agent(db, agent_id, limit=20)), (400 if errors else 200)


# -- habilitations -----------------------------------------------------------------------------------------------

@bp.route("/habilitations", methods=("GET", "POST"))
@role_required(*STAFF)
def habilitations():
    db = get_db()
    dept = scope_department()
    pools = org.pools(db) if dept is None else org.pools(db, dept)
    pool_ids = {p["id"] for p in pools}
    errors = {}
    if request.method == "POST":
        f = request.form
        if f.get("action") == "remove":
            hid = forms.record_id(f, "habilitation_id")
            h = org.habilitation(db, hid)
            if h is None or h["pool_id"] not in pool_ids:
                abort(404)
            if h["agent_id"] is not None:
                permissions.require(permissions.may_manage_agent(g.user, agents_q.get(db, h["agent_id"])))
            with write(db):
                org.remove_habilitation(db, hid)
                _audit(db, "habilitation.remove", _habilitation_target(h), before=_habilitation_text(h))
            flash("Habilitation retirée.")
            return redirect(url_for("admin.habilitations"))
        pool_id = forms.integer(f, "pool_id", errors, "Pool", minimum=1)
        if pool_id and pool_id not in pool_ids:
            errors["pool_id"] = "Pool : choisissez un pool de la liste."
        target_dept = forms.integer(f, "department_id", errors, "Direction", minimum=1, required=False)
        email = forms.text(f, "email", errors, "E-mail de l'agent", max_len=200)
        person = agents_q.by_email(db, email) if email else None
        if (target_dept is None) == (not email):
            errors["department_id"] = "Choisissez soit une direction entière, soit un agent (e-mail)."
        elif email and person is None:
            errors["email"] = "E-mail de l'agent : aucun agent avec cette adresse."
        elif target_dept and not org.department_exists(db, target_dept):
            errors["department_id"] = "Direction : choisissez une direction de la liste."
        elif person is not None and not permissions.may_manage_agent(g.user, person):
            errors["email"] = "E-mail de l'agent : vous ne gérez pas ce compte (un agent de votre direction)."
        if not errors:
            h = {"pool_id": pool_id, "department_id": target_dept, "agent_id": person["id"] if person else None}
            with write(db):
                org.add_habilitation(db, pool_id, department_id=target_dept, agent_id=h["agent_id"])
                _audit(db, "habilitation.add", _habilitation_target(h), after=_habilitation_text(h))
            flash("Habilitation ajoutée.")
            return redirect(url_for("admin.habilitations"))
    return render_template("admin/habilitations.html", habilitations=[h for h in org.habilitations(db)
                                                                      if h["pool_id"] in pool_ids],
                           pools=[(p["id"], p["name"]) for p in pools], errors=errors, values=request.form,
                           departments=[("", "—")] + _dept_options(db)), (400 if errors else 200)


def _habilitation_target(h):
    return "agent:%d" % h["agent_id"] if h["agent_id"] is not None else "department:%d" % h["department_id"]


def _habilitation_text(h):
    return {"pool": h["pool_id"], "department": h["department_id"], "agent": h["agent_id"]}


# -- calendar, trips, positions -----------------------------------------------------------------------------------

@bp.get("/calendrier")
@role_required(*STAFF)
def calendar():
    """The timeline of every car of the manager's scope (a week by default, or a day), with who booked."""
    db = get_db()
    now = int(time.time())
    cars = org.vehicles(db, scope_department(), include_inactive=False)

    def gear(p):  # the equipment booked over the same period (administrators manage it)
        return {"gear": equipment.calendar(db, p.start, p.end) if g.user["role"] == "admin" else []}

    return booking.timeline_page("admin/calendar.html", cars, now, default_view="semaine", more=gear, staff=True)


@bp.get("/trajets/<int:trip_id>")
@role_required(*STAFF)
def trip(trip_id):
    db = get_db()
    t = trips.get(db, trip_id)
    if t is None:
        abort(404)
    dept = scope_department()
    owner = org.vehicle_department(db, t["vehicle_id"])
    if dept is not None and dept not in (owner, t["department_id"]):
        abort(403)
    points = positions.for_trip(db, trip_id, g.user["id"], int(time.time()), request.remote_addr)
    return render_template("trip.html", trip=t, points=points, back=url_for("admin.trips_page"))


@bp.get("/journal-positions")
@role_required("admin")
def access_log():
    return render_template("admin/access_log.html", log=positions.access_log(get_db()))


def _audit_filters():
    """The audit page's filters from the query string (dates are local days, `au` included)."""
    errors = {}
    args = request.args
    since = forms.date(args, "du", errors, "Du", required=False)
    until = forms.date(args, "au", errors, "Au", required=False)
    if errors:
        abort(400, description=" ".join(errors.values()))
    return {"action": (args.get("action") or "")[:60] or None, "actor": (args.get("qui") or "")[:100] or None,
            "target": (args.get("cible") or "")[:60] or None,
            "since": timeutil.parse_local(since, "00:00") if since else None,
            "until": timeutil.parse_local(until, "00:00") + 86400 if until else None}


@bp.get("/journal-audit")
@role_required("admin")
def audit_log_page():
    """Read-only: the log has no route that changes it, and its table refuses UPDATE and DELETE."""
    return render_template("admin/audit_log.html", entries=audit.entries(get_db(), **_audit_filters()),
                           actions=[("", "Toutes")] + list(audit.ACTION_LABELS.items()), labels=audit.ACTION_LABELS,
                           args=request.args)


@bp.get("/journal-audit.csv")
@role_required("admin")
def audit_log_csv():
    lines = ([timeutil.fmt(e["t"]), e["actor_name"] or "ligne de commande", e["actor_email"] or "",
              e["address"] or "", e["action"], e["target"] or "", e["before"] or "", e["after"] or ""]
             for e in audit.entries(get_db(), limit=100000, **_audit_filters()))
    header = ["date", "auteur", "email_auteur", "adresse", "action", "cible", "avant", "apres"]
    return csv_export.response("autopartage-journal-audit.csv", header, lines)


@bp.route("/alertes", methods=("GET", "POST"))
@role_required("admin")
def alerts_page():
    db = get_db()
    if request.method == "POST":
        alert_id = forms.record_id(request.form, "alert_id")
        if not alerts.mark_handled(db, alert_id, g.user["id"], int(time.time())):
            abort(404)
        flash("Alerte marquée comme traitée.")
        return redirect(url_for("admin.alerts_page"))
    return render_template("admin/alerts.html", alerts=alerts.recent(db))


@bp.route("/horaires-positions", methods=("GET", "POST"))
@role_required("admin")
def tracking_hours():
    """Working hours per department outside which no position is kept, and the documented exceptions."""
    db = get_db()
    errors = {}
    if request.method == "POST":
        f = request.form
        reason = forms.text(f, "reason", errors, "Motif documenté", max_len=500)
        if f.get("action") == "vehicle":
            vid = forms.record_id(f, "vehicle_id")
            v = org.vehicle(db, vid)
            if v is None:
                abort(404)
            if not errors:
                positions.set_vehicle_tracking_reason(db, vid, reason)
                flash("Véhicule %s : %s." % (v["plate"], "exception enregistrée" if reason else "plus d'exception"))
                return redirect(url_for("admin.tracking_hours"))
        else:
            dept_id = forms.record_id(f, "department_id")
            if not org.department_exists(db, dept_id):
                abort(404)
            start = work_hours.parse_hhmm(f.get("start"))
            end = work_hours.parse_hhmm(f.get("end"))
            days = "".join(d for d in "1234567" if f.get("day" + d))
            if start is None:
                errors["start"] = "Début : format HH:MM attendu (par exemple 07:00)."
            if end is None:
                errors["end"] = "Fin : format HH:MM attendu (par exemple 20:00)."
            elif start is not None and end <= start:
                errors["end"] = "Fin : doit être après le début."
            if not days:
                errors["days"] = "Jours : cochez au moins un jour."
            if not errors:
                positions.set_work_hours(db, dept_id, start, end, days, reason)
                flash("Horaires enregistrés.")
                return redirect(url_for("admin.tracking_hours"))
    return render_template("admin/tracking_hours.html", departments=org.departments(db), vehicles=org.vehicles(db),
                           errors=errors, hhmm=work_hours.fmt_hhmm), (400 if errors else 200)


@bp.route("/problemes", methods=("GET", "POST"))
@role_required(*STAFF)
def problems_page():
    db = get_db()
    if request.method == "POST":
        rid = forms.record_id(request.form, "report_id")
        if not problems.close(db, rid, scope_department()):
            abort(404)
        flash("Signalement clos.")
        return redirect(url_for("admin.problems_page"))
    return render_template("admin/problems.html", reports=problems.list_reports(db, scope_department()),
                           kinds=problems.KINDS)


# -- reports ---------------------------------------------------------------------------------------------------------

@bp.get("/rapports")
@role_required(*STAFF)
def report():
    year, month = _month()
    start, end = timeutil.month_bounds(year, month)
    data = reports.monthly(get_db(), start, end, scope_department())
    chart_km = charts.bar_chart([(d["code"], d["km"]) for d in data["departments"]], "Kilomètres par direction",
                                "km", "Distance parcourue (km)", "Direction")
    chart_cost = charts.bar_chart([(d["code"], d["cost_cents"] // 100) for d in data["departments"]],
                                  "Coût par direction", "€", "Coût total du mois (€)", "Direction")
    prev_m = (year - (month == 1), 12 if month == 1 else month - 1)
    next_m = (year + (month == 12), 1 if month == 12 else month + 1)
    return render_template("admin/report.html", data=data, label=timeutil.month_label(year, month),
                           month="%04d-%02d" % (year, month), chart_km=chart_km, chart_cost=chart_cost,
                           prev="%04d-%02d" % prev_m, next="%04d-%02d" % next_m)


@bp.get("/rapports.csv")
@role_required(*STAFF)
def report_csv():
    year, month = _month()
    start, end = timeutil.month_bounds(year, month)
    by = request.args.get("par", "vehicule")
    if by not in ("vehicule", "direction"):
        abort(400, description="Paramètre « par » : vehicule ou direction.")
    data = reports.monthly(get_db(), start, end, scope_department())
    month = "%04d-%02d" % (year, month)
    if by == "vehicule":
        header = ["mois", "immatriculation", "modele", "direction", "trajets", "km", "heures", "taux_utilisation_pct",
                  "cout_km_eur", "cout_fixe_eur", "cout_total_eur"]
        lines = [[month, v["plate"], v["model"], v["department_code"], v["trips"], v["km"],
                  csv_export.decimal(v["hours"]), csv_export.decimal(v["usage_pct"]),
                  csv_export.eur(v["km_cost_cents"]), csv_export.eur(v["fixed_cents"]), csv_export.eur(v["cost_cents"])]
                 for v in data["vehicles"]]
    else:
        header = ["mois", "direction", "trajets", "km", "heures", "cout_km_eur", "part_couts_fixes_eur",
                  "cout_total_eur"]
        lines = [[month, d["code"], d["trips"], d["km"], csv_export.decimal(d["hours"]),
                  csv_export.eur(d["km_cost_cents"]), csv_export.eur(d["fixed_cents"]), csv_export.eur(d["cost_cents"])]
                 for d in data["departments"]]
    return csv_export.response("autopartage-%s-%s.csv" % (month, by), header, lines)


@bp.get("/evaluation")
@role_required(*STAFF)
def evaluation():
    year, month = _month()
    start, end = timeutil.month_bounds(year, month)
    data = reports.evaluation(get_db(), start, end)
    chart_hours = charts.bar_chart([("%02d h" % h, n) for h, n in data["peak_by_hour"] if 6 <= h <= 20],
                                   "Pic de véhicules utilisés en même temps, par heure", "véh.",
                                   "Véhicules en circulation au même moment (nombre)", "Heure")
    return render_template("admin/evaluation.html", data=data, label=timeutil.month_label(year, month),
                           month="%04d-%02d" % (year, month), chart_hours=chart_hours,
                           feedback=feedback_q.counts(get_db(), start, end))


__all__ = ["bp", "rows"]


# The vehicle, trips and equipment pages live in their own modules, on this blueprint.
from server import admin_equipment, admin_trips, admin_vehicles  # noqa: E402,F401
