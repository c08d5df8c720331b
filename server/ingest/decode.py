"""Step 1: the request frame's bytes -> an authenticated `protocol.frame.Request` whose records are rows
(tag, seq, t, fields...). Raises `protocol.errors.ProtocolError` and nothing else."""

from protocol import frame
from server.queries import boxes


class BoxKeys:
    """key_for_box for the decoder, each box's key read once per frame (the error reply needs it again)."""

    def __init__(self, db):
        self.db = db
        self.cache = {}

    def __call__(self, box_id):
        if box_id not in self.cache:
            self.cache[box_id] = boxes.get_key(self.db, box_id)
        return self.cache[box_id]


def request(data, keys):
    return frame.decode_request(data, keys, rows=True)
