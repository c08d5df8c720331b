"""Boxes: registration (per-box key), replay counter, acknowledgement, health, pending commands, events.

Functions the sync endpoint calls: `get_key`, `accept_counter`, `update_health`, `set_ack`,
`pending_commands` / `mark_commands_sent`, `add_event`.
"""

import re

from protocol import codes
from server.db import row, rows, scalar, write
from server.queries import sync as sync_q

KEY_RE = re.compile(r"^[0-9a-f]{32}$")


def register(db, box_id, vehicle_id, key_hex):
    """Register box `box_id` in vehicle `vehicle_id` with its 16-byte key (32 hex chars).

    Re-registering a box (reflashed, with a new key or the same one) replaces its key, resets its
    acknowledgement and moves it to `vehicle_id` (a box previously in that vehicle is detached). Its replay
    counter is KEPT: with the same key, a reset would let frames recorded before be replayed and make the
    box (which learns the counter by RESYNC) and the server's replies encrypt again under (key, counter)
    pairs already used. The box continues above it. Its (box, seq) dedup rows are kept too: the reflashed
    box learns the highest one from its RESYNC answer (`last_seq`) and numbers its journal records above it,
    so none is taken for a duplicate. Raises ValueError on a malformed key or box id.
    """
    key_hex = (key_hex or "").strip().lower()
    if not KEY_RE.match(key_hex):
        raise ValueError("key")
    if not isinstance(box_id, int) or box_id <= 0 or box_id >= 1 << 32:
        raise ValueError("box_id")
    db.execute("""
UPDATE boxes
SET vehicle_id = NULL
WHERE vehicle_id = ?
  AND id != ?""", (vehicle_id, box_id))
    db.execute("""
INSERT INTO boxes (id, vehicle_id, key_hex)
VALUES (?, ?, ?)
ON CONFLICT (id) DO UPDATE
SET vehicle_id = excluded.vehicle_id, key_hex = excluded.key_hex, last_ack = 0, allow_version = 0""",
               (box_id, vehicle_id, key_hex))
    db.execute("""
DELETE FROM box_allow
WHERE box_id = ?""", (box_id,))


def count(db):
    return scalar(db, """
SELECT count(*)
FROM boxes""", (), 0)


def get(db, box_id):
    """The box row without its key (for pages), or None."""
    return row(db, """
SELECT b.id, b.vehicle_id, b.last_counter, b.last_ack, b.firmware, b.last_seen, b.csq, b.supply_mv,
       b.backlog, b.gps, b.uptime, b.reset_cause, b.allow_version, b.created_at, b.disabled,
       b.disabled_at, v.plate, v.model, v.department_id
FROM boxes b
LEFT JOIN vehicles v ON v.id = b.vehicle_id
WHERE b.id = ?""", (box_id,))


def get_key(db, box_id):
    """The box's 16-byte key as bytes, or None for an unknown box (the frame decoder's `key_for_box`)."""
    key_hex = scalar(db, """
SELECT key_hex
FROM boxes
WHERE id = ?""", (box_id,))
    return bytes.fromhex(key_hex) if key_hex else None


def is_disabled(db, box_id):
    """True when an administrator disabled the box (its frames get ERR_BOX_DISABLED, nothing is stored)."""
    return bool(scalar(db, """
SELECT disabled
FROM boxes
WHERE id = ?""", (box_id,), 0))


def set_disabled(db, box_id, disabled, now):
    """Disable (stolen, decommissioned) or enable a box; False for an unknown box. Enabling keeps the replay
    counter: the box continues above it (or learns it by RESYNC)."""
    cur = db.execute("""
UPDATE boxes
SET disabled = ?, disabled_at = ?
WHERE id = ?""", (1 if disabled else 0, int(now) if disabled else None, box_id))
    return cur.rowcount == 1


# A box never uses more frame counters than this in a day: one per sync, and a box that keeps failing
# retries at most about once a minute (backoff_max_s >= 60) plus its trip ends.
COUNTERS_PER_DAY = 10000


def advance_counters(db, days):
    """After restoring the database from a backup `days` old: move every box's replay counter beyond any
    counter it can have used since, so frames recorded meanwhile cannot be replayed and no counter is
    accepted (nor answered with an encrypted reply) twice. A box below gets ERR_STALE once and continues
    above (or learns it by RESYNC). Returns the number of boxes advanced."""
    margin = (int(days) + 1) * COUNTERS_PER_DAY
    cur = db.execute("""
UPDATE boxes
SET last_counter = min(last_counter + ?, ?)""", (margin, 0xFFFFFFFF - 1))
    return cur.rowcount


def vehicle_id(db, box_id):
    return scalar(db, """
SELECT vehicle_id
FROM boxes
WHERE id = ?""", (box_id,))


def accept_counter(db, box_id, counter):
    """Record `counter` if it is above the last one accepted from this box; False means a replay.

    Atomic by itself (one UPDATE); inside the sync transaction it is rolled back with the frame.
    """
    cur = db.execute("""
UPDATE boxes
SET last_counter = :counter
WHERE id = :box
  AND last_counter < :counter""", {"counter": counter, "box": box_id})
    return cur.rowcount == 1


def set_ack(db, box_id, seq):
    """Remember the highest journal sequence acknowledged to the box (never goes down)."""
    db.execute("""
UPDATE boxes
SET last_ack = max(last_ack, ?)
WHERE id = ?""", (seq, box_id))


def last_ack(db, box_id):
    return scalar(db, """
SELECT last_ack
FROM boxes
WHERE id = ?""", (box_id,), 0)


HEALTH_COLUMNS = (("fw", "firmware"), ("csq", "csq"), ("mv", "supply_mv"), ("backlog", "backlog"),
                  ("gps", "gps"), ("uptime", "uptime"), ("reset", "reset_cause"))


def update_health(db, box_id, health, now):
    """Store the health dict of a sync (keys of the protocol: fw, csq, mv, backlog, gps, uptime, reset)
    and the time it was seen. Unknown keys are ignored; missing ones keep their previous value."""
    sets, params = ["last_seen = ?"], [now]
    for key, column in HEALTH_COLUMNS:
        if key in (health or {}):
            value = health[key]
            sets.append(column + " = ?")
            params.append(str(value)[:32] if key == "fw" else int(value))
    params.append(box_id)
    db.execute("""
UPDATE boxes
SET """ + ", ".join(sets) + """
WHERE id = ?""", params)


def list_boxes(db, department_id=None):
    sql = """
SELECT b.id, b.vehicle_id, b.firmware, b.last_seen, b.csq, b.supply_mv, b.backlog, b.gps, b.uptime,
       b.reset_cause, b.last_counter, b.disabled, v.plate, v.model, v.department_id
FROM boxes b
LEFT JOIN vehicles v ON v.id = b.vehicle_id"""
    if department_id is not None:
        return rows(db, sql + """
WHERE v.department_id = ?
ORDER BY b.id""", (department_id,))
    return rows(db, sql + """
ORDER BY b.id""")


def add_command(db, box_id, cmd, arg, now, created_by=None, note=""):
    """Queue a raw command for the box's next sync; returns its row id (`queue_command` validates first)."""
    cur = db.execute("""
INSERT INTO box_commands (box_id, cmd, arg, created_at, created_by, note)
VALUES (?, ?, ?, ?, ?, ?)""", (box_id, cmd, arg, now, created_by, note))
    return cur.lastrowid


# -- administrators' commands (pages and CLI share the validation below) -------------------------------------

ACTIONS = {"resync": codes.CMD_RESYNC, "release": codes.CMD_RELEASE, "block": codes.CMD_BLOCK,
           "update": codes.CMD_FIRMWARE}
ACTION_LABELS = {"resync": "Forcer une synchronisation", "release": "Libérer pour un trajet",
                 "block": "Bloquer", "update": "Mise à jour disponible"}
CMD_LABELS = {codes.CMD_RESYNC: "Synchronisation forcée", codes.CMD_RELEASE: "Libération pour un trajet",
              codes.CMD_BLOCK: "Blocage", codes.CMD_FIRMWARE: "Mise à jour disponible",
              codes.CMD_REBOOT: "Redémarrage"}
STATE_LABELS = {"pending": "en attente", "sent": "envoyée", "acknowledged": "reçue par le boîtier"}
VERSION_RE = re.compile(r"^(\d{1,3})\.(\d{1,2})\.(\d{1,2})$")


class CommandError(ValueError):
    """A command refused, with the form field at fault and a French message for the administrator."""

    def __init__(self, field, message):
        ValueError.__init__(self, message)
        self.field = field
        self.message = message


def parse_version(text):
    """'1.4.2' -> 10402 (CMD_FIRMWARE's arg: major*10000 + minor*100 + patch), or None when malformed."""
    m = VERSION_RE.match((text or "").strip())
    if not m or int(m.group(2)) > 99 or int(m.group(3)) > 99:
        return None
    return int(m.group(1)) * 10000 + int(m.group(2)) * 100 + int(m.group(3))


def format_version(number):
    return "%d.%d.%d" % (number // 10000, number // 100 % 100, number % 100)


def queue_command(db, box_id, action, now, reservation_id=None, version=None, created_by=None):
    """Validate and queue an administrator's command (`action` one of ACTIONS); returns (command id, note).

    release: optional `reservation_id`, a booking of the box's vehicle not yet over and not cancelled (the
    box acts once per reservation id; without one, the trip is recorded as unplanned with no badge).
    update: `version` 'X.Y.Z'. Raises CommandError (field, French message) and queues nothing when refused:
    unknown or disabled box, unknown action, bad reservation or version, the same command already waiting.
    """
    box = row(db, """
SELECT id, vehicle_id, disabled
FROM boxes
WHERE id = ?""", (box_id,))
    if box is None:
        raise CommandError("box_id", "Boîtier : aucun boîtier n° %s." % box_id)
    if box["disabled"]:
        raise CommandError("box_id", "Boîtier %d désactivé : réactivez-le avant de lui envoyer une commande."
                           % box_id)
    if action not in ACTIONS:
        raise CommandError("action", "Commande : choisissez une commande de la liste.")
    cmd, arg, note = ACTIONS[action], 0, ""
    if action == "release" and reservation_id:
        res = row(db, """
SELECT id, vehicle_id, status, end
FROM reservations
WHERE id = ?""", (reservation_id,))
        if res is None or res["vehicle_id"] != box["vehicle_id"]:
            raise CommandError("reservation", "Réservation : aucune réservation n° %s pour le véhicule de ce boîtier."
                               % reservation_id)
        if res["status"] != "booked" or res["end"] <= now:
            raise CommandError("reservation", "Réservation : la réservation n° %d est annulée ou terminée."
                               % reservation_id)
        arg, note = reservation_id, "réservation n° %d" % reservation_id
    elif action == "update":
        number = parse_version(version)
        if number is None:
            raise CommandError("version", "Version : format X.Y.Z attendu (par exemple 1.4.2).")
        arg, note = number, "version %s" % format_version(number)
    if scalar(db, """
SELECT 1
FROM box_commands
WHERE box_id = ?
  AND cmd = ?
  AND arg = ?
  AND sent_at IS NULL""", (box_id, cmd, arg)):
        raise CommandError("action", "Commande : la même commande attend déjà la prochaine synchronisation.")
    with write(db):
        command_id = add_command(db, box_id, cmd, arg, now, created_by, note)
    return command_id, note


def commands(db, box_id, limit=30):
    """The box's latest commands, newest first, each with `state`: pending (waiting for the next sync),
    sent (in a reply the box has not yet confirmed through `rx`) or acknowledged (a later sync confirmed
    the reply; a box that does not report `rx` is assumed to have received it), and `state_label`."""
    _counter, in_flight = sync_q.commands_in_flight(db, box_id)
    out = rows(db, """
SELECT c.*, a.name AS created_by_name
FROM box_commands c
LEFT JOIN agents a ON a.id = c.created_by
WHERE c.box_id = ?
ORDER BY c.id DESC
LIMIT ?""", (box_id, limit))
    for c in out:
        c["state"] = "pending" if c["sent_at"] is None else ("sent" if c["id"] in in_flight else "acknowledged")
        c["state_label"] = STATE_LABELS[c["state"]]
        c["label"] = CMD_LABELS.get(c["cmd"], "Commande %d" % c["cmd"])
    return out


def command_counts(db):
    """{box id: {"pending": n, "sent": n}} for the list page (boxes without such commands are absent)."""
    out = {}
    for r in db.execute("""
SELECT box_id, count(*)
FROM box_commands
WHERE sent_at IS NULL
GROUP BY box_id"""):
        out.setdefault(r[0], {"pending": 0, "sent": 0})["pending"] = r[1]
    for r in db.execute("""
SELECT key
FROM meta
WHERE key LIKE 'sync.commands.%'"""):
        box_id = int(r[0].rsplit(".", 1)[1])
        n = len(sync_q.commands_in_flight(db, box_id)[1])
        if n:
            out.setdefault(box_id, {"pending": 0, "sent": 0})["sent"] = n
    return out


def open_reservations(db, box_id, now, limit=20):
    """Bookings of the box's vehicle not yet over (for "release for a trip"), soonest first."""
    return rows(db, """
SELECT r.id, r.start, r.end, a.name AS agent_name
FROM reservations r
JOIN boxes b ON b.vehicle_id = r.vehicle_id
JOIN agents a ON a.id = r.agent_id
WHERE b.id = ?
  AND r.status = 'booked'
  AND r.end > ?
ORDER BY r.start
LIMIT ?""", (box_id, now, limit))


def pending_commands(db, box_id):
    """Commands not yet sent, oldest first, as the response's `commands` list (with their row ids)."""
    return rows(db, """
SELECT id, cmd, arg
FROM box_commands
WHERE box_id = ?
  AND sent_at IS NULL
ORDER BY id""", (box_id,))


def mark_commands_sent(db, command_ids, now):
    with write(db):
        db.conn.executemany("""
UPDATE box_commands
SET sent_at = ?
WHERE id = ?""", [(now, i) for i in command_ids])


def add_event(db, box_id, t, code, value):
    """Store a protocol `event` record of the box."""
    db.execute("""
INSERT INTO box_events (box_id, t, code, value)
VALUES (?, ?, ?, ?)""", (box_id, t, code, value))


def events(db, box_id, limit=50):
    return rows(db, """
SELECT *
FROM box_events
WHERE box_id = ?
ORDER BY t DESC
LIMIT ?""", (box_id, limit))
