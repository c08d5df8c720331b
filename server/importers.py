"""CSV imports of the fleet and of the agents (formats in docs/server.md). Bad lines are reported with
their number and skipped; good lines are imported (upserted: running an import twice changes nothing)."""

import csv
import io

from server.db import write
from server.queries import agents as agents_q
from server.queries import audit, org

TRUE = {"1", "oui", "yes", "true", "vrai", "o", "y"}


def _reader(text):
    sample = text[:2048]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.DictReader(io.StringIO(text), dialect=dialect)


def _norm(row):
    return {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}


def _cents(value, field):
    try:
        n = int(value or "0")
    except ValueError:
        raise ValueError("%s : nombre entier de centimes attendu, reçu %r" % (field, value)) from None
    if n < 0:
        raise ValueError("%s : valeur négative" % field)
    return n


def import_fleet(db, text):
    """Columns: plate, model, department, pool, cost_per_km_cents, monthly_fixed_cents, [on_the_spot], [seats].
    Returns (imported, [error messages])."""
    count, errors = 0, []
    reader = _reader(text)
    for lineno, raw in enumerate(reader, start=2):
        r = _norm(raw)
        try:
            plate, model = r.get("plate", ""), r.get("model", "")
            dept, pool = r.get("department", ""), r.get("pool", "")
            if not plate or not model or not dept:
                raise ValueError("plate, model et department sont obligatoires")
            if len(org.normalize_plate(plate)) > 16:
                raise ValueError("immatriculation trop longue")
            seats = int(r.get("seats") or 5)
            with write(db):
                dept_id = org.ensure_department(db, dept)
                pool_id = org.ensure_pool(db, pool or ("Pool " + dept.upper()), dept_id)
                if r.get("on_the_spot"):
                    org.set_pool_on_the_spot(db, pool_id, r["on_the_spot"].lower() in TRUE)
                org.upsert_vehicle(db, plate, model, pool_id, dept_id,
                                   _cents(r.get("cost_per_km_cents"), "cost_per_km_cents"),
                                   _cents(r.get("monthly_fixed_cents"), "monthly_fixed_cents"), seats)
            count += 1
        except ValueError as exc:
            errors.append("ligne %d : %s" % (lineno, exc))
    return count, errors


class AgentImport:
    """What an agents import did (or, in a dry run, would do): `count` good lines, `errors` ("ligne N : ..."),
    `changes` (one French line per good line: created, changed and how, unchanged), `invited` (addresses an
    invitation was queued for)."""

    def __init__(self):
        self.count = 0
        self.errors = []
        self.changes = []
        self.invited = []

    def __iter__(self):  # `count, errors = import_agents(...)` as for the fleet
        return iter((self.count, self.errors))


class _DryRun(Exception):
    pass


def _agent_changes(db, found, name, dept_code, role, permanent, uids):
    """What importing this line changes on the existing agent `found` (French words), [] when nothing."""
    changes = []
    if found["name"] != name:
        changes.append("nom %s → %s" % (found["name"], name))
    if found["department_code"] != dept_code.strip().upper():
        changes.append("direction %s → %s" % (found["department_code"], dept_code.strip().upper()))
    if role and found["role"] != role:
        changes.append("rôle %s → %s" % (found["role"], role))
    if permanent is not None and bool(found["permanent_access"]) != permanent:
        changes.append("accès permanent %s" % ("accordé" if permanent else "retiré"))
    new_badges = [u for u in uids if not agents_q.has_badge(db, found["id"], agents_q.normalize_uid(u))]
    if new_badges:
        changes.append("%d badge(s) ajouté(s)" % len(new_badges))
    return changes


def import_agents(db, text, invite=None, dry_run=False):
    """Columns: name, department, email, [badges] (UIDs in hex, separated by spaces or '|'), [role],
    [permanent_access] (true: on the cars of the agent's department). Upsert by e-mail. `invite(db, agent)`
    (server.mail.accounts) is called for every active agent of the file who has no password nor an open
    invitation, in the line's transaction.
    `dry_run`: everything is done then rolled back, so the report says exactly what the import would do.
    Returns an AgentImport."""
    report = AgentImport()
    try:
        with write(db):
            _import_agent_lines(db, text, invite, report, dry_run)
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    return report


def _import_agent_lines(db, text, invite, report, dry_run):
    for lineno, raw in enumerate(_reader(text), start=2):
        r = _norm(raw)
        try:
            name, dept, email = r.get("name", ""), r.get("department", ""), r.get("email", "")
            if not name or not dept or "@" not in email:
                raise ValueError("name, department et un e-mail valide sont obligatoires")
            uids = [u for u in r.get("badges", "").replace("|", " ").split() if u]
            for uid in uids:
                if agents_q.normalize_uid(uid) is None:
                    raise ValueError("badge %r : identifiant hexadécimal de 4 à 10 octets attendu" % uid)
            role = r.get("role") or None
            if role and role not in agents_q.ROLES:
                raise ValueError("rôle inconnu %r (agent, manager, admin)" % role)
            permanent = (r["permanent_access"].lower() in TRUE) if r.get("permanent_access") else None
            with write(db):
                found = agents_q.by_email(db, email)
                changes = _agent_changes(db, found, name, dept, role, permanent, uids) if found else None
                dept_id = org.ensure_department(db, dept)
                agent_id = agents_q.upsert(db, name, email, dept_id)
                before_role = agents_q.get(db, agent_id)["role"]
                if role and role != before_role:
                    agents_q.update(db, agent_id, role=role)
                    agents_q.end_sessions(db, agent_id)
                    audit.record(db, "agent.role", target="agent:%d" % agent_id, before=before_role, after=role)
                if r.get("permanent_access"):  # the administrator's import: scoped to the agent's department
                    granted = r["permanent_access"].lower() in TRUE
                    before, after = agents_q.set_permanent_access(db, agent_id,
                                                                  department_ids=[dept_id] if granted else [])
                    if before != after:
                        audit.record(db, "permanent_access.set", target="agent:%d" % agent_id, before=before,
                                     after=after)
                for uid in uids:
                    try:
                        agents_q.add_badge(db, agent_id, uid)
                    except ValueError:
                        raise ValueError("badge %s déjà attribué à un autre agent" % uid) from None
                agent = agents_q.get(db, agent_id)
                invited = invite is not None and agent["active"] and not agent["password_hash"] and invite(db, agent)
            report.count += 1
            if found is None:
                what = "création de %s <%s> (%s)" % (name, email, dept.strip().upper())
            elif changes:
                what = "%s <%s> : %s" % (name, email, ", ".join(changes))
            else:
                what = "%s <%s> : inchangé" % (name, email)
            if invited:
                report.invited.append(email)
                what += ", invitation à envoyer" if dry_run else ", invitation envoyée"
            report.changes.append("ligne %d : %s" % (lineno, what))
        except ValueError as exc:
            report.errors.append("ligne %d : %s" % (lineno, exc))
