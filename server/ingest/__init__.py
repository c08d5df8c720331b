"""The steps of a box's sync frame, one module each; `server.sync.handle` chains them:

decode (authenticate, one record shape) -> counter (replay) -> dedup (box, seq) -> store (each record
kind, dispatched from `protocol.schema`) -> reply (ack, allow-list, commands, config). `refuse` builds the
error frames. Records travel as tuples (tag, seq, t, fields in `protocol.schema` order) from the decoder
to the store.
"""

from protocol import frame

MAX_TIME = frame.MAX_ID  # a record time beyond 2106 is a box bug: dropped
MAX_SEQ = (1 << 63) - 1  # what SQLite (and an ack varint) holds
