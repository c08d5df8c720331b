"""Allow-lists: which badges may start which car, as the box receives them (DESIGN §3, architecture.md).

Entries (the protocol's allow-list entry dicts):
  {"id": int, "badge": 8-byte hash, "kind": KIND_*, "start": epoch, "end": epoch, "reservation": int}
- KIND_RESERVATION: a booked (not cancelled, not released) reservation of the box's vehicle that ends after
  `now` and starts before `now + horizon_s`, one entry per active badge of its agent;
- KIND_ROLE: agents with permanent access (fleet staff, mechanics) granted by an administrator for the
  vehicle's pool or for the department that owns the vehicle (table `permanent_grants`), start/end 0;
- KIND_SPOT: when the vehicle's pool allows on-the-spot use, every active agent habilitated for the pool
  (by department or personally), start/end 0. The box decides whether a reservation is due too soon.
Entry ids are stable (table `allow_ids`), so a diff between two lists is a set difference on ids.
Badge hashes are `protocol.keys.badge_hash(box_key, uid_bytes)`, computed per box: a box never sees a UID.
"""

from server.db import row, write

DEFAULT_HORIZON_S = 48 * 3600
# Each query gives (agent id, badge id, uid_hex, entry id or NULL when none was allocated yet), the
# entry id read through allow_ids' unique index in the same statement.
# CROSS JOIN keeps agents as the outer loop (otherwise SQLite scans every badge to serve the ORDER BY),
# read through the partial index agents_permanent (migration 0005): a few rows, not every agent. Only the
# grants whose scope holds the car count: its pool (?2) or the department that owns it (?3).
ROLE_BADGES_SQL = """
SELECT a.id, b.id, b.uid_hex, i.id
FROM agents a
CROSS JOIN badges b
  ON b.agent_id = a.id
 AND b.active = 1
LEFT JOIN allow_ids i
  ON i.kind = ?1
 AND i.ref = 0
 AND i.badge_id = b.id
WHERE a.permanent_access = 1
  AND a.active = 1
  AND EXISTS (SELECT 1
              FROM permanent_grants g
              WHERE g.agent_id = a.id
                AND (g.pool_id = ?2 OR g.department_id = ?3))
ORDER BY b.id"""
# ... then the reservation's id, start and end
RESERVATION_BADGES_SQL = """
SELECT r.agent_id, b.id, b.uid_hex, i.id, r.id, r.start, r.end
FROM reservations r
JOIN agents a
  ON a.id = r.agent_id
 AND a.active = 1
JOIN badges b
  ON b.agent_id = r.agent_id
 AND b.active = 1
LEFT JOIN allow_ids i
  ON i.kind = :kind
 AND i.ref = r.id
 AND i.badge_id = b.id
WHERE r.vehicle_id = :vehicle
  AND r.status = 'booked'
  AND r.unplanned = 0
  AND r.start < :until
  AND r.end > :now
  AND r.start > :floor
ORDER BY r.start, b.id"""
# agents habilitated for the pool, by department or personally; the covering indexes of migration 0006
# keep it to index pages (~1 ms for 1000 badges)
SPOT_BADGES_SQL = """
SELECT DISTINCT a.id, b.id, b.uid_hex, i.id
FROM habilitations h
JOIN agents a
  ON (a.id = h.agent_id OR a.department_id = h.department_id)
 AND a.active = 1
JOIN badges b
  ON b.agent_id = a.id
 AND b.active = 1
LEFT JOIN allow_ids i
  ON i.kind = ?
 AND i.ref = 0
 AND i.badge_id = b.id
WHERE h.pool_id = ?
ORDER BY b.id"""


def _codes():
    try:
        from protocol import codes
    except ImportError:  # protocol not yet landed: the values architecture.md will fix
        codes = None
    return (getattr(codes, "KIND_RESERVATION", 1), getattr(codes, "KIND_ROLE", 2), getattr(codes, "KIND_SPOT", 3))


def _badge_hash(box_key, uid_hex):
    from protocol import keys

    return bytes(keys.badge_hash(box_key, bytes.fromhex(uid_hex)))


def _entry_ids(db, triples):
    """Stable ids of (kind, ref, badge_id) triples, allocated on first use: one executemany, then one
    indexed lookup per (kind, ref) group (a whole on-the-spot list is one group)."""
    if not triples:
        return []
    db.conn.executemany("""
INSERT OR IGNORE INTO allow_ids (kind, ref, badge_id)
VALUES (?, ?, ?)""", triples)
    groups = {}
    for kind, ref, badge_id in triples:
        groups.setdefault((kind, ref), set()).add(badge_id)
    ids = {}
    for (kind, ref), badge_ids in groups.items():
        badge_ids = sorted(badge_ids)
        for i in range(0, len(badge_ids), 500):
            chunk = badge_ids[i:i + 500]
            for r in db.execute("""
SELECT id, badge_id
FROM allow_ids
WHERE kind = ?
  AND ref = ?
  AND badge_id IN (%s)"""
                                % ",".join("?" * len(chunk)), [kind, ref] + chunk):
                ids[(kind, ref, r[1])] = r[0]
    return [ids[t] for t in triples]


def entries_for_box(db, box_id, now, horizon_s=DEFAULT_HORIZON_S, hashed=True):
    """The complete allow-list of box `box_id` at time `now` (list of entry dicts, with an extra
    "agent_id" key the server keeps for itself; strip it before encoding if the protocol objects).

    Writes: may allocate new entry ids in `allow_ids` (call it inside the frame's transaction).
    Returns [] for an unknown box or a box with no vehicle. `hashed=False` leaves out "badge" (an HMAC per
    entry) and gives "uid_hex" instead; `hash_entries` completes the entries actually needed.
    """
    box, found = _found_entries(db, box_id, now, horizon_s)
    entries = [_entry(f) for f in found]
    if hashed and box is not None:
        hash_entries(bytes.fromhex(box["key_hex"]), entries)
    return entries


def _found_entries(db, box_id, now, horizon_s):
    """-> (box row or None, [(entry id, kind, ref: the reservation or 0, uid_hex, start, end, agent id)])"""
    kind_res, kind_role, kind_spot = _codes()
    box = row(db, """
SELECT b.key_hex, v.id AS vehicle_id, v.pool_id, v.department_id, p.on_the_spot, v.active
FROM boxes b
JOIN vehicles v ON v.id = b.vehicle_id
JOIN pools p ON p.id = v.pool_id
WHERE b.id = ?""", (box_id,))
    if box is None:
        return None, []
    found = []  # as returned, the entry id None until allocated below
    missing = []  # (kind, ref, badge id) without an entry id
    role_agents = set()
    for agent_id, badge_id, uid_hex, entry_id in db.execute(ROLE_BADGES_SQL, (kind_role, box["pool_id"],
                                                                              box["department_id"])):
        role_agents.add(agent_id)
        if entry_id is None:
            missing.append((kind_role, 0, badge_id))
        found.append((entry_id, kind_role, 0, uid_hex, 0, 0, agent_id))
    if box["active"]:
        for agent_id, badge_id, uid_hex, entry_id, res_id, start, end in db.execute(
                RESERVATION_BADGES_SQL, {"kind": kind_res, "vehicle": box["vehicle_id"], "until": now + horizon_s,
                                         "now": now, "floor": now - 31 * 86400}):
            if entry_id is None:
                missing.append((kind_res, res_id, badge_id))
            found.append((entry_id, kind_res, res_id, uid_hex, start, end, agent_id))
    if box["active"] and box["on_the_spot"]:
        for agent_id, badge_id, uid_hex, entry_id in db.execute(SPOT_BADGES_SQL, (kind_spot, box["pool_id"])):
            if agent_id not in role_agents:
                if entry_id is None:
                    missing.append((kind_spot, 0, badge_id))
                found.append((entry_id, kind_spot, 0, uid_hex, 0, 0, agent_id))
    if missing:
        allocated = iter(_entry_ids(db, missing))
        found = [f if f[0] is not None else (next(allocated),) + f[1:] for f in found]
    return box, found


def _entry(found):
    entry_id, kind, ref, uid_hex, start, end, agent_id = found
    return {"id": entry_id, "uid_hex": uid_hex, "kind": kind, "start": start, "end": end, "reservation": ref,
            "agent_id": agent_id}


def inputs_stamp(db, box_id):
    """-> (vehicle id, stamp): the stamp names what the box's list is made of besides the clock, its vehicle
    and the change counters that migration 0007's triggers keep (`allow_stamps`: scope 0 for agents,
    badges, habilitations and pools, the vehicle's id for its reservations and its row). The same stamp
    later: none of that data changed."""
    r = db.execute("""
SELECT b.vehicle_id,
       (SELECT n
        FROM allow_stamps
        WHERE scope = 0),
       (SELECT n
        FROM allow_stamps
        WHERE scope = b.vehicle_id)
FROM boxes b
WHERE b.id = ?""", (box_id,)).fetchone()
    if r is None:
        return None, ""
    return r[0], "%s:%s:%s" % (r[0], r[1] or 0, r[2] or 0)


def crossed_by_time(db, vehicle_id, since, now, horizon_s=DEFAULT_HORIZON_S):
    """True when, between `since` and `now`, a reservation of the vehicle came within the horizon (its
    start passed `t + horizon_s`) or ended: what changes a list while its data does not."""
    if vehicle_id is None or now <= since:
        return False
    return db.execute("""
SELECT 1
FROM reservations
WHERE vehicle_id = :vehicle
  AND ((start >= :since + :horizon AND start < :now + :horizon)
       OR (start > :since - 31 * 86400 AND start < :now AND end > :since AND end <= :now))
LIMIT 1""", {"vehicle": vehicle_id, "since": since, "now": now, "horizon": horizon_s}).fetchone() is not None


def hash_entries(box_key, entries):
    """Replace "uid_hex" by the per-box keyed "badge" hash in entries made with hashed=False."""
    for e in entries:
        if "uid_hex" in e:
            e["badge"] = _badge_hash(box_key, e.pop("uid_hex"))
    return entries


def public_entry(entry):
    """The entry as the protocol carries it (without the server-side agent_id)."""
    return {k: entry[k] for k in ("id", "badge", "kind", "start", "end", "reservation")}


def changes_for_box(db, box_id, now, full=False, horizon_s=DEFAULT_HORIZON_S, max_entries=None):
    """The response's `allow` value for this box, or None when nothing changed since the last call.

    Diffs the current list against what the box was last sent (table `box_allow`), records the new list
    as sent and bumps the box's `allow_version`. `full=True` sends the whole list (`"full": True`), e.g.
    after re-provisioning or when the box asks for it. Call inside the frame's transaction: if the frame
    is rolled back, so is the record of what was sent.

    `max_entries` bounds adds + removes in one answer (a reply frame holds ~150 entries): only what is
    returned is recorded as sent, and the returned dict then carries `"more": True` (strip it before
    encoding) so the caller can ask the box to sync again for the rest, sent as a diff.
    """
    _box, found = _found_entries(db, box_id, now, horizon_s)
    current = {r[0] for r in db.execute("""
SELECT entry_id
FROM box_allow
WHERE box_id = ?""", (box_id,))}
    new_ids = {f[0] for f in found}
    version = row(db, """
SELECT allow_version, key_hex
FROM boxes
WHERE id = ?""", (box_id,))
    if version is None:
        return None
    if not full and new_ids == current and version["allow_version"] > 0:
        return None
    full = full or not current
    if full:
        add, remove = [_entry(f) for f in found], []
    else:
        add, remove = [_entry(f) for f in found if f[0] not in current], sorted(current - new_ids)
    more = False
    if max_entries is not None and len(add) + len(remove) > max_entries:
        more = True
        remove = remove[:max_entries]
        add = add[:max_entries - len(remove)]
    hash_entries(bytes.fromhex(version["key_hex"]), add)  # only what is sent: one HMAC per new entry
    with write(db):
        if full:
            db.execute("""
DELETE FROM box_allow
WHERE box_id = ?""", (box_id,))
        else:
            db.conn.executemany("""
DELETE FROM box_allow
WHERE box_id = ?
  AND entry_id = ?""", [(box_id, i) for i in remove])
        db.conn.executemany("""
INSERT OR REPLACE INTO box_allow (box_id, entry_id, badge_hash, agent_id)
VALUES (?, ?, ?, ?)""", [(box_id, e["id"], e["badge"].hex(), e["agent_id"]) for e in add])
        db.execute("""
UPDATE boxes
SET allow_version = allow_version + 1
WHERE id = ?""", (box_id,))
    result = {"version": version["allow_version"] + 1, "full": full, "add": [public_entry(e) for e in add],
              "remove": remove}
    if more:
        result["more"] = True
    return result


def agent_for_hash(db, box_id, badge_hash):
    """The agent id behind a badge hash seen by this box (hex or bytes), or None if unknown.

    Looks in what the box was last sent first; falls back to hashing, with the box's key, the badges of the
    agents who could have been on its list (habilitated for its pool, permanent access, a booking of its
    car), so a badge since removed from the list is still attributed; anyone else is unknown (None).
    """
    hash_hex = badge_hash.hex() if isinstance(badge_hash, (bytes, bytearray)) else str(badge_hash).lower()
    found = row(db, """
SELECT agent_id
FROM box_allow
WHERE box_id = ?
  AND badge_hash = ?
  AND agent_id IS NOT NULL""", (box_id, hash_hex))
    if found:
        return found["agent_id"]
    key_row = row(db, """
SELECT key_hex
FROM boxes
WHERE id = ?""", (box_id,))
    if key_row is None:
        return None
    key = bytes.fromhex(key_row["key_hex"])
    # Only badges that could have been on this box's list: a stranger's badge costs no national-scale scan.
    for r in db.execute("""
SELECT b.agent_id, b.uid_hex
FROM badges b
JOIN agents a ON a.id = b.agent_id
LEFT JOIN boxes x ON x.id = ?
LEFT JOIN vehicles v ON v.id = x.vehicle_id
WHERE a.permanent_access = 1
   OR EXISTS (SELECT 1
              FROM habilitations h
              WHERE h.pool_id = v.pool_id
                AND (h.agent_id = a.id OR h.department_id = a.department_id))
   OR EXISTS (SELECT 1
              FROM reservations r
              WHERE r.vehicle_id = v.id
                AND r.agent_id = a.id)""", (box_id,)):
        if _badge_hash(key, r[1]).hex() == hash_hex:
            return r[0]
    return None
