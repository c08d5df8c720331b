# Protocol errors: every failure of an encoder or decoder is a ProtocolError with a numeric code.
# Codes below 16 are detected locally by a decoder (or sent back in a plain, unauthenticated error frame);
# codes 16 and above are only ever sent by the server inside an authenticated error frame.
try:
    from micropython import const
except ImportError:
    const = lambda x: x

ERR_NONE = const(0)
ERR_MALFORMED = const(1)  # bad structure: varint too long, bad record, bad UTF-8, trailing bytes
ERR_TRUNCATED = const(2)  # ended before a field did
ERR_TOO_BIG = const(3)  # frame above MAX_FRAME bytes
ERR_VERSION = const(4)  # unsupported version byte
ERR_TYPE = const(5)  # frame type unknown or not expected here
ERR_UNKNOWN_BOX = const(6)  # no key for this box id
ERR_BAD_MAC = const(7)  # authentication failed
ERR_WRONG_BOX = const(8)  # authenticated reply for another box id
ERR_COUNTER_MISMATCH = const(9)  # authenticated reply to another request (late answer)
ERR_INVALID = const(10)  # encoder given a value out of range (a bug on the sending side)
ERR_TOO_MANY = const(11)  # more records than MAX_RECORDS
ERR_NONCE = const(12)  # resync reply does not echo our nonce
ERR_REPLAY = const(16)  # counter equal to the last accepted one: the frame was already applied
ERR_STALE = const(17)  # counter below the last accepted one: resynchronise (see docs/protocol.md)
ERR_SERVER = const(18)  # temporary server failure: keep the records, retry later
ERR_BOX_DISABLED = const(19)  # box revoked by an administrator: keep the records, retry rarely

NAMES = {
    ERR_NONE: "none",
    ERR_MALFORMED: "malformed",
    ERR_TRUNCATED: "truncated",
    ERR_TOO_BIG: "too_big",
    ERR_VERSION: "version",
    ERR_TYPE: "type",
    ERR_UNKNOWN_BOX: "unknown_box",
    ERR_BAD_MAC: "bad_mac",
    ERR_WRONG_BOX: "wrong_box",
    ERR_COUNTER_MISMATCH: "counter_mismatch",
    ERR_INVALID: "invalid",
    ERR_TOO_MANY: "too_many",
    ERR_NONCE: "nonce",
    ERR_REPLAY: "replay",
    ERR_STALE: "stale",
    ERR_SERVER: "server",
    ERR_BOX_DISABLED: "box_disabled",
}


class ProtocolError(Exception):
    """code: one of ERR_*; authenticated: the frame's MAC was valid (box_id/counter are then trustworthy);
    remote: the code came from the server in a plain (unauthenticated) error frame."""

    def __init__(self, code, detail="", box_id=None, counter=None, authenticated=False, remote=False):
        super().__init__(code, detail)
        self.code = code
        self.detail = detail
        self.box_id = box_id
        self.counter = counter
        self.authenticated = authenticated
        self.remote = remote

    def __str__(self):
        tail = ": " + self.detail if self.detail else ""
        return "protocol error %d (%s)%s" % (self.code, NAMES.get(self.code, "?"), tail)
