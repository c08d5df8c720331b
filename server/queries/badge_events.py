"""Badge decisions journaled by the boxes (`badge` records)."""

from server.db import rows
from server.queries import allowlist, boxes


def add(db, box_id, t, badge_hash, granted, reason):
    """Store one badge decision; `badge_hash` is the 8-byte keyed hash (bytes or hex).

    The agent is resolved through the hashes last sent to that box (None for an unknown badge).
    Returns the row id.
    """
    hash_hex = badge_hash.hex() if isinstance(badge_hash, (bytes, bytearray)) else str(badge_hash)
    agent_id = allowlist.agent_for_hash(db, box_id, hash_hex)
    return db.execute("""
INSERT INTO badge_events (box_id, vehicle_id, t, badge_hash, agent_id, granted, reason)
VALUES (?, ?, ?, ?, ?, ?, ?)""",
        (box_id, boxes.vehicle_id(db, box_id), t, hash_hex, agent_id, 1 if granted else 0, int(reason))).lastrowid


def recent(db, box_id=None, limit=100):
    sql = """
SELECT e.*, a.name AS agent_name, v.plate
FROM badge_events e
LEFT JOIN agents a ON a.id = e.agent_id
LEFT JOIN vehicles v ON v.id = e.vehicle_id"""
    if box_id is not None:
        return rows(db, sql + """
WHERE e.box_id = ?
ORDER BY e.t DESC
LIMIT ?""", (box_id, limit))
    return rows(db, sql + """
ORDER BY e.t DESC
LIMIT ?""", (limit,))
