"""The few statements of the sync endpoint that the other data-layer modules do not already provide:
the box's replay counter, and delivery tracking of commands (deduplication is `box_records`).

Command delivery: the reply that carries commands has a counter (the request's); the box reports in its
health `rx` the counter of the last reply it decoded. Until a later request shows `rx >= counter`, the
commands stay "in flight" (meta key ``sync.commands.<box>`` = ``"<counter>:<id>,<id>"``); a request with
`0 < rx < counter` proves the reply was lost, and the commands become pending again. A box that does
not report `rx` (0) is assumed to have received its replies.
"""

from server.db import scalar


def last_counter(db, box_id):
    """The last request counter accepted from this box (0 for none or an unknown box)."""
    return scalar(db, """
SELECT last_counter
FROM boxes
WHERE id = ?""", (box_id,), 0)


def _meta_key(box_id):
    return "sync.commands.%d" % box_id


def commands_in_flight(db, box_id):
    """(reply counter, [command ids]) of the last reply that carried commands, or (0, [])."""
    value = scalar(db, """
SELECT value
FROM meta
WHERE key = ?""", (_meta_key(box_id),))
    if not value:
        return 0, []
    counter, _, ids = value.partition(":")
    return int(counter), [int(i) for i in ids.split(",") if i]


def set_commands_in_flight(db, box_id, counter, command_ids):
    if command_ids:
        db.execute("""
INSERT OR REPLACE INTO meta (key, value)
VALUES (?, ?)""", (_meta_key(box_id), "%d:%s" % (counter, ",".join(str(i) for i in command_ids))))
    else:
        db.execute("""
DELETE FROM meta
WHERE key = ?""", (_meta_key(box_id),))


def allow_checked(db, box_id):
    """(when the box's allow-list diff was last computed in full, epoch s, 0 for never or unfinished;
    the `allowlist.inputs_stamp` it was computed from)."""
    value = scalar(db, """
SELECT value
FROM meta
WHERE key = ?""", ("sync.allow_at.%d" % box_id,))
    t, _, stamp = (value or "").partition("|")
    return (int(t) if t else 0), stamp


def set_allow_checked(db, box_id, t, stamp=""):
    if t:
        db.execute("""
INSERT OR REPLACE INTO meta (key, value)
VALUES (?, ?)""", ("sync.allow_at.%d" % box_id, "%d|%s" % (t, stamp)))
    else:
        db.execute("""
DELETE FROM meta
WHERE key = ?""", ("sync.allow_at.%d" % box_id,))


def requeue_commands(db, command_ids):
    """Make commands pending again (their reply never reached the box)."""
    db.conn.executemany("""
UPDATE box_commands
SET sent_at = NULL
WHERE id = ?""", [(i,) for i in command_ids])
