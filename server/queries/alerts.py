"""Security alerts for administrators: a badge used on two cars at overlapping times.

RFID badge UIDs are easy to copy (docs/security.md): the boxes cannot tell a clone from the original. The
server can notice the consequence: one agent cannot be in two cars at once, so a badge of an agent
presented on one car (granted or not) while a trip of the same agent is running on another car means
two cards carry that agent's UID. The trip's first and last `CLONE_MARGIN_S` are left out (walking from
one car to the next while the first one's grace time runs is not a clone). A trip whose end the box
never reported, or reported only at its next boot (END_REBOOT), counts as running until its last stored
position (its start without one). Boxes out of coverage report late, so every run looks back
`SCAN_WINDOW_S`; an (event, trip) pair raises one alert, once.

Each new alert is also written to the audit log (`_audit`).
"""

from protocol import codes
from server.db import rows, scalar, write
from server.queries import audit

KIND_BADGE_CLONE = "badge_clone"
CLONE_MARGIN_S = 600
OPEN_TRIP_MAX_S = 12 * 3600
SCAN_WINDOW_S = 7 * 86400

LABELS = {KIND_BADGE_CLONE: "Badge utilisé sur deux véhicules en même temps (clone probable)"}

_CLONE_CANDIDATES = """
SELECT e.id AS badge_event_id, e.t, e.agent_id, e.vehicle_id, e.granted,
       r.id AS trip_id, r.vehicle_id AS other_vehicle_id
FROM badge_events e
JOIN trips r
  ON r.agent_id = e.agent_id
 AND r.vehicle_id != e.vehicle_id
 AND r.start <= e.t - :margin
 AND r.start >= e.t - :window
WHERE e.agent_id IS NOT NULL
  AND e.vehicle_id IS NOT NULL
  AND e.t >= :since
  AND e.t <= CASE
        WHEN r.end IS NOT NULL AND coalesce(r.end_reason, 0) != :end_reboot THEN r.end
        ELSE min(coalesce((SELECT max(p.t)
                           FROM positions p
                           WHERE p.trip_id = r.id), r.start),
                 r.start + :open_max)
      END - :margin
  AND NOT EXISTS (SELECT 1
                  FROM alerts a
                  WHERE a.badge_event_id = e.id
                    AND a.trip_id = r.id)
ORDER BY e.t, e.id
"""

_INSERT = """
INSERT OR IGNORE INTO alerts (kind, t, agent_id, vehicle_id, other_vehicle_id, badge_event_id, trip_id, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
"""


def detect_badge_clones(db, now, margin_s=CLONE_MARGIN_S, window_s=SCAN_WINDOW_S):
    """Store an alert for every badge event of the last `window_s` that lies inside a trip of the same agent
    on another car (see the module's docstring). Returns the new alerts (dicts)."""
    params = {"margin": margin_s, "window": window_s, "since": now - window_s, "open_max": OPEN_TRIP_MAX_S,
              "end_reboot": codes.END_REBOOT}
    new = []
    with write(db):
        for c in rows(db, _CLONE_CANDIDATES, params):
            cur = db.execute(_INSERT, (KIND_BADGE_CLONE, c["t"], c["agent_id"], c["vehicle_id"],
                                       c["other_vehicle_id"], c["badge_event_id"], c["trip_id"], now))
            if cur.rowcount:
                c["id"] = cur.lastrowid
                new.append(c)
                _audit(db, c)
    return new


def _audit(db, alert):
    """The alert in the append-only audit log too, where it outlives the alert's own handling."""
    audit.record(db, "alert.badge_clone", target="agent:%d" % alert["agent_id"],
                 after={"alert": alert["id"], "t": alert["t"], "vehicle": alert["vehicle_id"],
                        "other_vehicle": alert["other_vehicle_id"], "trip": alert["trip_id"],
                        "badge_event": alert["badge_event_id"]})


def recent(db, limit=200):
    """The latest alerts, newest first, with the agent's name, both plates and a French label."""
    out = rows(db, """
SELECT a.*, g.name AS agent_name, v.plate, w.plate AS other_plate, h.name AS handled_by_name
FROM alerts a
LEFT JOIN agents g ON g.id = a.agent_id
LEFT JOIN vehicles v ON v.id = a.vehicle_id
LEFT JOIN vehicles w ON w.id = a.other_vehicle_id
LEFT JOIN agents h ON h.id = a.handled_by
ORDER BY a.t DESC, a.id DESC
LIMIT ?""", (limit,))
    for a in out:
        a["label"] = LABELS.get(a["kind"], a["kind"])
    return out


def open_count(db):
    return scalar(db, """
SELECT count(*)
FROM alerts
WHERE handled_at IS NULL""", (), 0)


def mark_handled(db, alert_id, by, now):
    """An administrator dealt with it (the alert stays, with who and when). False if unknown or done."""
    with write(db):
        cur = db.execute("""
UPDATE alerts
SET handled_at = ?, handled_by = ?
WHERE id = ?
  AND handled_at IS NULL""", (now, by, alert_id))
    return cur.rowcount == 1
