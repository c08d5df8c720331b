"""Step 2: counter freshness. Equal to the last accepted one -> ERR_REPLAY, below it -> ERR_STALE (the
box repairs its counter from the error frame's `last_counter`); otherwise it becomes the last accepted."""

from protocol import frame
from server.queries import boxes
from server.queries import sync as sync_q


class Rejected(Exception):
    def __init__(self, code, last):
        Exception.__init__(self, code)
        self.code = code
        self.last = last


def accept(db, req):
    """Raise Rejected(code, last accepted counter) for a replayed or stale frame; else record its counter."""
    last = sync_q.last_counter(db, req.box_id)
    code = frame.check_counter(req.counter, last)
    if code:
        raise Rejected(code, last)
    boxes.accept_counter(db, req.box_id, req.counter)
