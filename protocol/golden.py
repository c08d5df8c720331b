# Golden vectors (protocol/vectors/*.json) <-> Python values: bytes travel in JSON as hex strings under
# the keys below. Used by the tests of both interpreters, the server's tests and tools/make_vectors.py.
import json

BYTES_KEYS = ("badge", "nonce")
VECTOR_DIR = "protocol/vectors"  # relative to the repository root (the tests' working directory)


def to_json(value):
    if isinstance(value, dict):
        return {k: (v.hex() if k in BYTES_KEYS and isinstance(v, (bytes, bytearray)) else to_json(v))
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def from_json(value):
    if isinstance(value, dict):
        return {k: (bytes.fromhex(v) if k in BYTES_KEYS and isinstance(v, str) else from_json(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [from_json(v) for v in value]
    return value


def load(name, root="."):
    """The list of vectors in protocol/vectors/<name>.json."""
    with open("%s/%s/%s.json" % (root, VECTOR_DIR, name)) as f:
        return json.load(f)
