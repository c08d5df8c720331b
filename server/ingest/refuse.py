"""Error answers: a frame that did not decode, a disabled box, a replayed or stale counter, a server
failure. Authenticated whenever the box's key is known and the MAC was valid, so the box may act on them."""

from protocol import codes, errors, frame
from server.queries import sync as sync_q


def undecodable(db, exc, keys, now):
    """Garbage, unknown box, bad MAC, wrong version...: an authenticated error frame when the MAC was
    valid, a plain one otherwise. Nothing was written."""
    last = sync_q.last_counter(db, exc.box_id) if exc.authenticated and exc.box_id is not None else 0
    return frame.error_reply(exc, keys, last, now)


def disabled(db, req, key, now):
    """ERR_BOX_DISABLED to both kinds of request; bound to a RESYNC's nonce (a recorded answer cannot be
    replayed to another RESYNC)."""
    last = sync_q.last_counter(db, req.box_id)
    if req.type == codes.T_RESYNC:
        return frame.encode_resync_reply(req.box_id, req.nonce, last, now, key, error=errors.ERR_BOX_DISABLED)
    return counter_error(req, key, errors.ERR_BOX_DISABLED, last, now)


def counter_error(req, key, code, last, now):
    """An authenticated error frame carrying the server's last accepted counter (the box continues above)."""
    return frame.encode_response(req.box_id, req.counter, {"error": code, "last_counter": last, "time": now}, key)


def server_error(db, req, key, now):
    """ERR_SERVER: nothing was kept, the box keeps its records and retries later."""
    try:
        last = sync_q.last_counter(db, req.box_id)
    except Exception:  # the database is what failed
        last = 0
    return counter_error(req, key, errors.ERR_SERVER, last, now)
