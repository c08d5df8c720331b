"""Step 5: the answer to an accepted frame: ack, allow-list changes, commands, configuration."""

from protocol import codes, frame
from server.ingest import MAX_SEQ
from server.queries import allowlist, boxes
from server.queries import sync as sync_q

MAX_ALLOW_ENTRIES = 120  # ~28 bytes per entry at most: with header, ack, time and commands, < MAX_FRAME
MAX_COMMANDS = 16


def ack(db, req):
    """The highest seq of the frame, records of unknown types (a newer box) and dropped ones included: the
    box may delete them all. Without records: what was acknowledged last."""
    last_seq = req.last_seq
    if last_seq is not None and last_seq > MAX_SEQ:  # chained past SQLite's range: a box bug
        last_seq = None
        for r in reversed(req.records):
            if r[1] <= MAX_SEQ:
                last_seq = r[1]
                break
    if last_seq is None:
        return boxes.last_ack(db, req.box_id)
    boxes.set_ack(db, req.box_id, last_seq)
    return last_seq


def requeue_lost_commands(db, box_id, rx):
    """The box's health `rx` below the counter of the reply that carried commands: that reply was lost,
    its commands go again."""
    if rx:
        in_flight_counter, in_flight = sync_q.commands_in_flight(db, box_id)
        if in_flight and rx < in_flight_counter:
            sync_q.requeue_commands(db, in_flight)


def allow_changes(db, box_id, health, now, horizon_s, refresh_s):
    """(the allow-list section or None, more): a full list when the box holds another version than the
    one last sent, else a diff, recomputed only when what the list is made of changed (change stamps kept
    by triggers), a reservation crossed the horizon, or `refresh_s` passed; `more` when it did not fit."""
    allow_version = boxes.get(db, box_id)["allow_version"]
    held = health.get("allow") or 0
    rx = health.get("rx") or 0
    # A box that reports neither field (older firmware) is assumed to hold what it was last sent.
    full = bool(held or rx) and held != allow_version
    checked_at, stamp = sync_q.allow_checked(db, box_id)
    vehicle_id, new_stamp = allowlist.inputs_stamp(db, box_id)
    if not (full or not allow_version or checked_at <= now - refresh_s or stamp != new_stamp
            or allowlist.crossed_by_time(db, vehicle_id, checked_at, now, horizon_s)):
        return None, False
    allow = allowlist.changes_for_box(db, box_id, now, full=full, horizon_s=horizon_s,
                                      max_entries=MAX_ALLOW_ENTRIES)
    more = allow is not None and allow.pop("more", False)
    sync_q.set_allow_checked(db, box_id, 0 if more else now, new_stamp)
    return allow, more


def commands(db, box_id, counter, now, more):
    """Pending commands, sent once and tracked until the box's `rx` shows their reply arrived; a
    CMD_RESYNC first when the allow-list did not fit."""
    out = [{"cmd": codes.CMD_RESYNC, "arg": 0}] if more else []
    pending = boxes.pending_commands(db, box_id)[:MAX_COMMANDS - len(out)]
    if pending:
        boxes.mark_commands_sent(db, [c["id"] for c in pending], now)
    sync_q.set_commands_in_flight(db, box_id, counter, [c["id"] for c in pending])
    out.extend({"cmd": c["cmd"], "arg": c["arg"]} for c in pending)
    return out


def config(settings, allow):
    """The box settings go with every full allow-list (a reflashed or reset box gets both)."""
    return dict(settings) if settings and allow is not None and allow["full"] else {}


def build(db, req, now, horizon_s, settings, refresh_s):
    """The response dict of `protocol.frame.encode_response` for an accepted frame."""
    health = req.health or {}
    acked = ack(db, req)
    requeue_lost_commands(db, req.box_id, health.get("rx") or 0)
    allow, more = allow_changes(db, req.box_id, health, now, horizon_s, refresh_s)
    return {"ack": acked, "time": now, "allow": allow, "config": config(settings, allow),
            "commands": commands(db, req.box_id, req.counter, now, more)}


def encode(req, response, key):
    """The reply frame, encoded inside the transaction: a response that cannot be encoded rolls it back."""
    return frame.encode_response(req.box_id, req.counter, response, key)
