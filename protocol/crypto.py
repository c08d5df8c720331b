# HMAC-SHA256 (MicroPython has hashlib.sha256 but no hmac module), AES-128-CTR built from ECB, and a
# constant-time comparison. Checked against CPython's hmac and `cryptography`'s CTR in tests/properties.
import hashlib

from protocol.aes import aes, ctr

_BLOCK = 64  # SHA-256 block size
_TRANS_36 = bytes((x ^ 0x36) for x in range(256))
_TRANS_5C = bytes((x ^ 0x5C) for x in range(256))


def _pad(key, table):
    out = bytearray(_BLOCK)
    for i in range(_BLOCK):
        out[i] = table[key[i]] if i < len(key) else table[0]
    return out


def hmac_sha256(key, *parts):
    """HMAC-SHA256 (RFC 2104) of the concatenation of parts (bytes-like), as 32 bytes."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    inner = hashlib.sha256(_pad(key, _TRANS_36))
    for part in parts:
        inner.update(part)
    outer = hashlib.sha256(_pad(key, _TRANS_5C))
    outer.update(inner.digest())
    return outer.digest()


def equal(a, b):
    """Compare two byte strings in time independent of where they differ (MAC check)."""
    if len(a) != len(b):
        return False
    diff = 0
    for i in range(len(a)):
        diff |= a[i] ^ b[i]
    return diff == 0


# Keystream produced per call to the cipher: bounds the temporary memory to 2 x 256 bytes.
_CHUNK_BLOCKS = 16


def ctr_xor(enc_key16, nonce12, data, start=0, end=None, first_block=0):
    """AES-128-CTR: XOR data[start:end] in place (bytearray) with the keystream of counter blocks
    nonce12 || block_index (4 bytes big-endian, from 0). Encryption and decryption are the same."""
    if end is None:
        end = len(data)
    if ctr is not None and first_block + ((end - start + 15) >> 4) <= 0x100000000:
        # the platform's CTR carries into the nonce where ours wraps the block index: same while it does not wrap
        data[start:end] = ctr(enc_key16, bytes(nonce12) + first_block.to_bytes(4, "big"), bytes(data[start:end]))
        return data
    return ctr_xor_blocks(enc_key16, nonce12, data, start, end, first_block)


def ctr_xor_blocks(enc_key16, nonce12, data, start, end, first_block):
    """ctr_xor built from ECB blocks (MicroPython's cryptolib has no CTR in every build)."""
    cipher = aes(enc_key16, 1)
    block = first_block
    pos = start
    chunk = max(0, min(_CHUNK_BLOCKS, (end - start + 15) >> 4))
    counters = bytearray(16 * chunk)
    for o in range(0, 16 * chunk, 16):
        counters[o : o + 12] = nonce12  # only the block index changes from one chunk to the next
    while pos < end:
        n = min(chunk, (end - pos + 15) >> 4)
        for i in range(n):
            o = (i << 4) + 12
            counters[o : o + 4] = ((block + i) & 0xFFFFFFFF).to_bytes(4, "big")
        stream = cipher.encrypt(counters if n == chunk else counters[: n << 4])
        size = min(n << 4, end - pos)
        # XOR the chunk as one big integer: much faster than a byte loop on MicroPython.
        mixed = int.from_bytes(bytes(data[pos : pos + size]), "big") ^ int.from_bytes(stream[:size], "big")
        data[pos : pos + size] = mixed.to_bytes(size, "big")
        pos += size
        block += n
    return data
