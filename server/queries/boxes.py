"""Boxes: registration (per-box key), replay counter, acknowledgement, health, pending commands, events.

Functions the sync endpoint calls: `get_key`, `accept_counter`, `update_health`, `set_ack`,
`pending_commands` / `mark_commands_sent`, `add_event`.
"""

import re

from server.db import row, rows, scalar, write

KEY_RE = re.compile(r"^[0-9a-f]{32}$")


def register(db, box_id, vehicle_id, key_hex):
    """Register box `box_id` in vehicle `vehicle_id` with its 16-byte key (32 hex chars).

    Re-registering a box (reflashed with a new key) replaces its key, resets its replay counter and
    acknowledgement, and moves it to `vehicle_id` (a box previously in that vehicle is detached).
    Raises ValueError on a malformed key or box id.
    """
    key_hex = (key_hex or "").strip().lower()
    if not KEY_RE.match(key_hex):
        raise ValueError("key")
    if not isinstance(box_id, int) or box_id <= 0 or box_id >= 1 << 32:
        raise ValueError("box_id")
    db.execute("UPDATE boxes SET vehicle_id = NULL WHERE vehicle_id = ? AND id != ?", (vehicle_id, box_id))
    db.execute(
        "INSERT INTO boxes (id, vehicle_id, key_hex) VALUES (?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
        "vehicle_id = excluded.vehicle_id, key_hex = excluded.key_hex, last_counter = 0, last_ack = 0, "
        "allow_version = 0", (box_id, vehicle_id, key_hex))
    db.execute("DELETE FROM box_allow WHERE box_id = ?", (box_id,))


def get(db, box_id):
    """The box row without its key (for pages), or None."""
    return row(db, "SELECT b.id, b.vehicle_id, b.last_counter, b.last_ack, b.firmware, b.last_seen, b.csq, "
               "b.supply_mv, b.backlog, b.gps, b.uptime, b.reset_cause, b.allow_version, b.created_at, "
               "v.plate FROM boxes b LEFT JOIN vehicles v ON v.id = b.vehicle_id WHERE b.id = ?", (box_id,))


def get_key(db, box_id):
    """The box's 16-byte key as bytes, or None for an unknown box (the frame decoder's `key_for_box`)."""
    key_hex = scalar(db, "SELECT key_hex FROM boxes WHERE id = ?", (box_id,))
    return bytes.fromhex(key_hex) if key_hex else None


def is_disabled(db, box_id):
    """True when an administrator disabled the box (its frames get ERR_BOX_DISABLED, nothing is stored)."""
    return bool(scalar(db, "SELECT disabled FROM boxes WHERE id = ?", (box_id,), 0))


def set_disabled(db, box_id, disabled, now):
    """Disable (stolen, decommissioned) or enable a box; False for an unknown box. Enabling keeps the replay
    counter: the box continues above it (or learns it by RESYNC)."""
    cur = db.execute("UPDATE boxes SET disabled = ?, disabled_at = ? WHERE id = ?",
                     (1 if disabled else 0, int(now) if disabled else None, box_id))
    return cur.rowcount == 1


def vehicle_id(db, box_id):
    return scalar(db, "SELECT vehicle_id FROM boxes WHERE id = ?", (box_id,))


def accept_counter(db, box_id, counter):
    """Record `counter` if it is above the last one accepted from this box; False means a replay.

    Atomic by itself (one UPDATE); inside the sync transaction it is rolled back with the frame.
    """
    cur = db.execute("UPDATE boxes SET last_counter = ? WHERE id = ? AND last_counter < ?",
                     (counter, box_id, counter))
    return cur.rowcount == 1


def set_ack(db, box_id, seq):
    """Remember the highest journal sequence acknowledged to the box (never goes down)."""
    db.execute("UPDATE boxes SET last_ack = max(last_ack, ?) WHERE id = ?", (seq, box_id))


def last_ack(db, box_id):
    return scalar(db, "SELECT last_ack FROM boxes WHERE id = ?", (box_id,), 0)


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
    db.execute("UPDATE boxes SET " + ", ".join(sets) + " WHERE id = ?", params)


def list_boxes(db, department_id=None):
    sql = ("SELECT b.id, b.vehicle_id, b.firmware, b.last_seen, b.csq, b.supply_mv, b.backlog, b.gps, b.uptime, "
           "b.reset_cause, b.last_counter, v.plate, v.model, v.department_id FROM boxes b "
           "LEFT JOIN vehicles v ON v.id = b.vehicle_id")
    if department_id is not None:
        return rows(db, sql + " WHERE v.department_id = ? ORDER BY b.id", (department_id,))
    return rows(db, sql + " ORDER BY b.id")


def add_command(db, box_id, cmd, arg, now):
    db.execute("INSERT INTO box_commands (box_id, cmd, arg, created_at) VALUES (?, ?, ?, ?)",
               (box_id, cmd, arg, now))


def pending_commands(db, box_id):
    """Commands not yet sent, oldest first, as the response's `commands` list (with their row ids)."""
    return rows(db, "SELECT id, cmd, arg FROM box_commands WHERE box_id = ? AND sent_at IS NULL ORDER BY id",
                (box_id,))


def mark_commands_sent(db, command_ids, now):
    with write(db):
        db.conn.executemany("UPDATE box_commands SET sent_at = ? WHERE id = ?", [(now, i) for i in command_ids])


def add_event(db, box_id, t, code, value):
    """Store a protocol `event` record of the box."""
    db.execute("INSERT INTO box_events (box_id, t, code, value) VALUES (?, ?, ?, ?)", (box_id, t, code, value))


def events(db, box_id, limit=50):
    return rows(db, "SELECT * FROM box_events WHERE box_id = ? ORDER BY t DESC LIMIT ?", (box_id, limit))
