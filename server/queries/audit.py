"""The audit log: an append-only record of every change of who may drive and of every box credential.

`record()` is the only writer (other modules call exactly it); the table's triggers (migration 0008a)
refuse UPDATE and DELETE. Call it inside the transaction of the change it describes, so both land or
neither does. `before` and `after` are stored as text: strings as they are, anything else as JSON.
"""

import json
import time

from server.db import rows

# What the administrators' page offers as filters, with the French label it shows (an unknown action is
# still stored and shown as its code).
ACTION_LABELS = {
    "agent.role": "Rôle",
    "agent.active": "Compte actif",
    "agent.password_set": "Mot de passe défini par un tiers",
    "agent.create": "Création d'un agent",
    "permanent_access.set": "Accès permanent",
    "permanent_access.migrated": "Accès permanent (reprise)",
    "habilitation.add": "Habilitation ajoutée",
    "habilitation.remove": "Habilitation retirée",
    "badge.add": "Badge ajouté",
    "badge.deactivate": "Badge désactivé",
    "box.register": "Enregistrement d'un boîtier",
    "box.key": "Changement de clé d'un boîtier",
    "box.command": "Commande à un boîtier",
    "box.disable": "Boîtier désactivé",
    "box.enable": "Boîtier réactivé",
    "alert.badge_clone": "Alerte : badge sur deux véhicules à la fois",
}


def _text(value):
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def record(db, action, *, actor_id=None, address=None, target=None, before=None, after=None, t=None):
    """Append one entry; returns its id. `actor_id` None = the command line or the system."""
    return db.execute("""
INSERT INTO audit_log (t, actor_id, address, action, target, before, after)
VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (int(time.time()) if t is None else int(t), actor_id, address, action, target, _text(before),
         _text(after))).lastrowid


def entries(db, action=None, actor=None, target=None, since=None, until=None, limit=1000):
    """Entries newest first, filtered: `action` exact code, `actor` part of the actor's name or e-mail,
    `target` exact ("agent:12") or prefix ("box:"), `since`/`until` epochs (until excluded)."""
    where, params = [], []
    if action:
        where.append("l.action = ?")
        params.append(action)
    if actor:
        where.append("(a.name LIKE ? OR a.email LIKE ?)")
        params += ["%" + actor + "%"] * 2
    if target:
        where.append("(l.target = ? OR l.target LIKE ?)")
        params += [target, target.rstrip(":") + ":%" if target.endswith(":") else target]
    if since is not None:
        where.append("l.t >= ?")
        params.append(since)
    if until is not None:
        where.append("l.t < ?")
        params.append(until)
    sql = ("""
SELECT l.*, a.name AS actor_name, a.email AS actor_email
FROM audit_log l
LEFT JOIN agents a ON a.id = l.actor_id
"""
           + ("WHERE " + "\n  AND ".join(where) + "\n" if where else "")
           + "ORDER BY l.id DESC\n"
           "LIMIT %d" % int(limit))
    return rows(db, sql, params)
