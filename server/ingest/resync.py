"""A counter resynchronisation request (`codes.T_RESYNC`): the last accepted counter, the time and the
highest journal seq stored for the box (a reflashed box numbers its records above it instead of having
them dropped as duplicates). Changes nothing."""

from protocol import frame
from server.queries import box_records
from server.queries import sync as sync_q


def answer(db, req, key, now):
    last = sync_q.last_counter(db, req.box_id)
    last_seq = min(box_records.last_seq(db, req.box_id), frame.MAX_ID)
    return frame.encode_resync_reply(req.box_id, req.nonce, last, now, key, last_seq)
