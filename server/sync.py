"""One sync frame of a box, applied in one transaction: `handle(db, data, now)` -> the answer's bytes.

The request is decoded and authenticated (`protocol.frame.decode_request`, per-box key) before any write.
Then, inside one ``BEGIN IMMEDIATE`` transaction (`server.db.write`):

1. counter freshness (`frame.check_counter`): equal to the last accepted one -> ERR_REPLAY, below it ->
   ERR_STALE; both answered with an authenticated error frame carrying the last accepted counter, so the
   box repairs its counter (docs/protocol.md); nothing is written;
2. journal records deduplicated by (box, seq) (`box_records`, kept as runs of sequence numbers): a record
   sent again because an answer was lost is acknowledged again but stored once;
3. records stored in journal order: badge decisions, trip starts (an unplanned trip becomes an unplanned
   reservation), runs of positions (kept only inside a trip of the box, CNIL), trip ends, events; a
   record with an implausible time is dropped (still acknowledged: resending it would not make it better);
4. health, acknowledgement, allow-list changes (full list when the box reports holding another version
   than the one last sent, else a diff; at most `MAX_ALLOW_ENTRIES` per answer and a CMD_RESYNC for the
   rest; a box in step gets its diff recomputed only when what its list is made of changed (change
   stamps kept by triggers, `allowlist.inputs_stamp`), a reservation crossed its horizon, or
   `allow_refresh_s` passed, so a box emptying a backlog in many frames does not pay for it each time),
   pending commands (resent when the box's `rx` shows their reply was lost);
5. the reply is encoded before the commit: if anything fails, everything is rolled back and the box gets
   ERR_SERVER (keep the records, retry later).

A frame that does not decode (garbage, unknown box, bad MAC, wrong version...) changes nothing and gets
`frame.error_reply`: an authenticated error frame when the MAC was valid, a plain one otherwise.
A counter resynchronisation request (`codes.T_RESYNC`) is answered with the last accepted counter, the
time and the highest journal seq stored for the box (`last_seq`: a reflashed box continues its numbering
above it instead of having its new records dropped as duplicates), and changes nothing either. A box an
administrator disabled gets an authenticated ERR_BOX_DISABLED error frame to both kinds of request, and
nothing it sends is stored.
"""

import logging
from operator import itemgetter

from protocol import codes, errors, frame
from server.db import write
from server.queries import allowlist, badge_events, box_records, boxes, positions, trips
from server.queries import sync as sync_q

log = logging.getLogger(__name__)

MAX_ALLOW_ENTRIES = 120  # ~28 bytes per entry at most: with header, ack, time and commands, < MAX_FRAME
MAX_COMMANDS = 16
MAX_TIME = frame.MAX_ID  # a record time beyond 2106 is a box bug: dropped
MAX_SEQ = (1 << 63) - 1
# A list is recomputed when its data changed (allow_stamps) or a reservation crossed its horizon, and at
# least this often anyway: a change made behind the triggers' back (a database edited by hand).
ALLOW_REFRESH_S = 3600


_SEQ = itemgetter(0)  # of a position row
_T = itemgetter(1)


class Result:
    """The answer (`body`, bytes) and what happened: `code` (protocol error code, 0 when the frame was
    applied), `request` (the decoded Request or None), `stored` / `duplicates` / `dropped` record counts."""

    def __init__(self, body, code=0, request=None):
        self.body = body
        self.code = code
        self.request = request
        self.stored = 0
        self.duplicates = 0
        self.dropped = 0

    def __repr__(self):
        return "Result(code=%d, stored=%d, duplicates=%d, dropped=%d)" % (
            self.code, self.stored, self.duplicates, self.dropped)


class _Rejected(Exception):
    def __init__(self, code, last):
        Exception.__init__(self, code)
        self.code = code
        self.last = last


def _clamp_time(now):
    return max(0, min(int(now), MAX_TIME))


def handle(db, data, now, horizon_s=allowlist.DEFAULT_HORIZON_S, settings=None, allow_refresh_s=ALLOW_REFRESH_S):
    """Apply one request frame (bytes) from a box; return a Result whose body is the response frame.
    `settings`: optional {name: int} sent to the box with every full allow-list (box configuration).
    Never raises for anything the frame contains."""
    now = _clamp_time(now)
    key_cache = {}

    def key_for_box(box_id):
        if box_id not in key_cache:
            key_cache[box_id] = boxes.get_key(db, box_id)
        return key_cache[box_id]

    try:
        req = frame.decode_request(data, key_for_box, rows=True)
    except errors.ProtocolError as exc:
        last = sync_q.last_counter(db, exc.box_id) if exc.authenticated and exc.box_id is not None else 0
        return Result(frame.error_reply(exc, key_for_box, last, now), exc.code)
    key = key_for_box(req.box_id)
    if boxes.is_disabled(db, req.box_id):  # revoked by an administrator: store nothing, say so (authenticated)
        last = sync_q.last_counter(db, req.box_id)
        disabled = errors.ERR_BOX_DISABLED
        if req.type == codes.T_RESYNC:  # bound to this RESYNC's nonce: a recorded answer cannot be replayed
            body = frame.encode_resync_reply(req.box_id, req.nonce, last, now, key, error=disabled)
        else:
            body = frame.encode_response(req.box_id, req.counter, {
                "error": disabled, "last_counter": last, "time": now}, key)
        return Result(body, disabled, req)
    if req.type == codes.T_RESYNC:
        last = sync_q.last_counter(db, req.box_id)
        last_seq = min(box_records.last_seq(db, req.box_id), frame.MAX_ID)
        return Result(frame.encode_resync_reply(req.box_id, req.nonce, last, now, key, last_seq), 0, req)

    result = Result(b"", 0, req)
    try:
        with write(db):
            last = sync_q.last_counter(db, req.box_id)
            code = frame.check_counter(req.counter, last)
            if code:
                raise _Rejected(code, last)
            boxes.accept_counter(db, req.box_id, req.counter)
            response = _apply(db, req, now, horizon_s, settings, allow_refresh_s, result)
            result.body = frame.encode_response(req.box_id, req.counter, response, key)
    except _Rejected as rej:
        result.code = rej.code
        result.body = frame.encode_response(req.box_id, req.counter,
                                            {"error": rej.code, "last_counter": rej.last, "time": now}, key)
    except Exception:  # a bug or a database failure: nothing was kept, the box keeps its records
        log.exception("sync of box %d counter %d failed", req.box_id, req.counter)
        result = Result(b"", errors.ERR_SERVER, req)
        try:
            last = sync_q.last_counter(db, req.box_id)
        except Exception:
            last = 0
        result.body = frame.encode_response(req.box_id, req.counter,
                                            {"error": errors.ERR_SERVER, "last_counter": last, "time": now}, key)
    return result


def _apply(db, req, now, horizon_s, settings, allow_refresh_s, result):
    box_id = req.box_id
    # Position records are tuples (seq, t, lat, lon, speed, course), the others dicts (decode_request's
    # rows=True): a frame of positions goes to the database without a dict per record.
    track_only = len(set(map(type, req.records))) == 1 and type(req.records[0]) is tuple
    if track_only:  # the usual frame (C-level loops: this is the ingest's hot path)
        seqs = list(map(_SEQ, req.records))
    else:
        seqs = [r[0] if type(r) is tuple else r["seq"] for r in req.records]
    # Chained sequence numbers can add up beyond what SQLite (and an ack varint) holds: a box bug, dropped.
    if seqs and seqs[-1] > MAX_SEQ:  # seqs ascend within a frame
        records = [r for r, s in zip(req.records, seqs) if s <= MAX_SEQ]
        seqs = [s for s in seqs if s <= MAX_SEQ]
    else:
        records = req.records
    result.dropped = len(req.records) - len(records)
    new = box_records.claim_new(db, box_id, seqs)
    result.duplicates = len(records) - len(new)
    if result.duplicates:
        fresh = set(new)
        records = [r for r, s in zip(records, seqs) if s in fresh]
    run = []  # consecutive new positions, stored together

    def flush():
        if run:
            stored, dropped = positions.add_rows(db, box_id, run)
            result.stored += stored
            result.dropped += dropped
            del run[:]

    if track_only and records:
        # the usual frame, a track and nothing else: stored in one go (the decoder gives t >= 0)
        if max(map(_T, records)) <= MAX_TIME:
            run.extend(records)
            records = ()
    for r in records:
        if type(r) is tuple:
            if r[1] > MAX_TIME:  # the decoder gives t >= 0
                result.dropped += 1
            else:
                run.append(r)
            continue
        if not 0 <= r["t"] <= MAX_TIME:
            result.dropped += 1
            continue
        kind = r["type"]
        flush()
        if kind == "badge":
            badge_events.add(db, box_id, r["t"], r["badge"], r["granted"], r["reason"])
        elif kind == "trip_start":
            if trips.record_start(db, box_id, r["trip"], r["t"], r["badge"], r["reservation"], r["odo_m"]) is None:
                result.dropped += 1
                continue
        elif kind == "trip_end":
            if trips.record_end(db, box_id, r["trip"], r["t"], r["odo_m"], r["distance_m"], r["reason"]) is None:
                result.dropped += 1
                continue
        elif kind == "event":
            boxes.add_event(db, box_id, r["t"], r["code"], r["value"])
        else:  # the decoder only returns the kinds above
            result.dropped += 1
            continue
        result.stored += 1
    flush()

    health = req.health or {}
    boxes.update_health(db, box_id, health, now)
    # Acknowledge up to the frame's last seq, records of unknown types (a newer box) included.
    last_seq = getattr(req, "last_seq", None)
    if last_seq is None or last_seq > MAX_SEQ:
        last_seq = seqs[-1] if seqs else None
    if last_seq is not None:
        ack = last_seq
        boxes.set_ack(db, box_id, ack)
    else:
        ack = boxes.last_ack(db, box_id)

    commands = []
    rx = health.get("rx") or 0
    if rx:
        in_flight_counter, in_flight = sync_q.commands_in_flight(db, box_id)
        if in_flight and rx < in_flight_counter:
            sync_q.requeue_commands(db, in_flight)

    allow_version = boxes.get(db, box_id)["allow_version"]
    held = health.get("allow") or 0
    # A box that reports neither field (older firmware) is assumed to hold what it was last sent.
    full = bool(held or rx) and held != allow_version
    allow = None
    checked_at, stamp = sync_q.allow_checked(db, box_id)
    vehicle_id, new_stamp = allowlist.inputs_stamp(db, box_id)
    if (full or not allow_version or checked_at <= now - allow_refresh_s or stamp != new_stamp
            or allowlist.crossed_by_time(db, vehicle_id, checked_at, now, horizon_s)):
        allow = allowlist.changes_for_box(db, box_id, now, full=full, horizon_s=horizon_s,
                                          max_entries=MAX_ALLOW_ENTRIES)
        more = allow is not None and allow.pop("more", False)
        if more:
            commands.append({"cmd": codes.CMD_RESYNC, "arg": 0})
        sync_q.set_allow_checked(db, box_id, 0 if more else now, new_stamp)

    pending = boxes.pending_commands(db, box_id)[:MAX_COMMANDS - len(commands)]
    if pending:
        boxes.mark_commands_sent(db, [c["id"] for c in pending], now)
    sync_q.set_commands_in_flight(db, box_id, req.counter, [c["id"] for c in pending])
    commands.extend({"cmd": c["cmd"], "arg": c["arg"]} for c in pending)

    config = dict(settings) if settings and allow is not None and allow["full"] else {}
    return {"ack": ack, "time": now, "allow": allow, "config": config, "commands": commands}
