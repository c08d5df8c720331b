# Key derivation from the 16-byte per-box key provisioned at flashing (config.json "key").
# Each use gets its own key (HMAC-SHA256 of the box key over a distinct label), so a weakness in one use
# never exposes the others, and the box key itself never touches a frame.
from protocol.crypto import hmac_sha256
from protocol.errors import ERR_INVALID, ProtocolError

_MAC_LABEL = b"autopartage/v1/mac"
_ENC_LABEL = b"autopartage/v1/enc"
_BADGE_LABEL = b"autopartage/v1/badge:"  # followed by the badge UID bytes
BADGE_HASH_BYTES = 8


def check_key(box_key):
    if not isinstance(box_key, (bytes, bytearray)) or len(box_key) != 16:
        raise ProtocolError(ERR_INVALID, "box key must be 16 bytes")


_derived = [None, None]  # type: list  # the last box key and its (mac_key32, enc_key16): a frame and its reply use one key


def derive(box_key16):
    """Return (mac_key32, enc_key16)."""
    check_key(box_key16)
    key = bytes(box_key16)
    if _derived[0] != key:
        _derived[1] = (hmac_sha256(key, _MAC_LABEL), hmac_sha256(key, _ENC_LABEL)[:16])
        _derived[0] = key
    return _derived[1]


def badge_hash(box_key16, uid_bytes):
    """Keyed hash of a badge UID, 8 bytes: what the allow-list and the journal carry instead of the UID.
    Per box: a stolen box's list cannot be matched against another box's or against UIDs without its key."""
    check_key(box_key16)
    return hmac_sha256(box_key16, _BADGE_LABEL, bytes(uid_bytes))[:BADGE_HASH_BYTES]


def parse_hex_key(text):
    """The box key as written in config.json (32 hex characters) -> 16 bytes."""
    try:
        key = bytes.fromhex(text)
    except Exception:
        raise ProtocolError(ERR_INVALID, "key is not hex") from None
    check_key(key)
    return key
