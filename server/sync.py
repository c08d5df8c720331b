"""One sync frame of a box -> the answer's bytes, as a chain of steps (server/ingest/, one module each).

Nothing is written before the frame is authenticated; everything after is one BEGIN IMMEDIATE
transaction, rolled back whole on any failure (the box gets ERR_SERVER and keeps its records).
The box's contract is in docs/architecture.md ("Sync endpoint").
"""

import logging

from protocol import codes, errors
from server.db import write
from server.ingest import MAX_TIME, counter, decode, dedup, refuse, reply, resync, store
from server.queries import allowlist, boxes

log = logging.getLogger(__name__)

# A list is recomputed when its data changed (allow stamps) or a reservation crossed its horizon, and at
# least this often anyway: a change made behind the triggers' back (a database edited by hand).
ALLOW_REFRESH_S = 3600


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


def handle(db, data, now, horizon_s=allowlist.DEFAULT_HORIZON_S, settings=None, allow_refresh_s=ALLOW_REFRESH_S):
    """Apply one request frame (bytes) from a box; return a Result whose body is the response frame.
    `settings`: optional {name: int} sent to the box with every full allow-list (box configuration).
    Never raises for anything the frame contains."""
    now = max(0, min(int(now), MAX_TIME))
    keys = decode.BoxKeys(db)
    try:
        req = decode.request(data, keys)
    except errors.ProtocolError as exc:
        return Result(refuse.undecodable(db, exc, keys, now), exc.code)
    key = keys(req.box_id)
    if boxes.is_disabled(db, req.box_id):  # revoked by an administrator: store nothing, say so
        return Result(refuse.disabled(db, req, key, now), errors.ERR_BOX_DISABLED, req)
    if req.type == codes.T_RESYNC:
        return Result(resync.answer(db, req, key, now), 0, req)

    result = Result(b"", 0, req)
    try:
        with write(db):
            counter.accept(db, req)
            records, result.duplicates, result.dropped = dedup.new_records(db, req.box_id, req.records)
            result.stored, dropped = store.store_all(db, req.box_id, records)
            result.dropped += dropped
            boxes.update_health(db, req.box_id, req.health or {}, now)
            response = reply.build(db, req, now, horizon_s, settings, allow_refresh_s)
            result.body = reply.encode(req, response, key)
    except counter.Rejected as rej:
        result.code = rej.code
        result.body = refuse.counter_error(req, key, rej.code, rej.last, now)
    except Exception:  # a bug or a database failure: nothing was kept, the box keeps its records
        log.exception("sync of box %d counter %d failed", req.box_id, req.counter)
        result = Result(refuse.server_error(db, req, key, now), errors.ERR_SERVER, req)
    return result
