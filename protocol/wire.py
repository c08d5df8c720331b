# Byte-level primitives: unsigned LEB128 varints, zigzag for signed values, and a bounds-checked reader.
# Every decoding failure raises ProtocolError (ERR_TRUNCATED / ERR_MALFORMED), never IndexError.
from protocol.errors import ERR_MALFORMED, ERR_TRUNCATED, ProtocolError

# A varint carries at most 63 bits (9 bytes of 7 bits): plenty for epoch seconds, sequence numbers, ids.
MAX_VARINT_BYTES = 9
MAX_UVARINT = (1 << 63) - 1


def put_uvarint(buf, n):
    """Append n (0 <= n <= MAX_UVARINT) to bytearray buf as an unsigned LEB128 varint."""
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def zigzag(n):
    # 0, -1, 1, -2, 2 ... -> 0, 1, 2, 3, 4: small magnitudes of either sign stay short.
    return n << 1 if n >= 0 else ((-n) << 1) - 1


def unzigzag(z):
    return z >> 1 if not z & 1 else -((z + 1) >> 1)


def put_svarint(buf, n):
    put_uvarint(buf, zigzag(n))


def uvarint_size(n):
    size = 1
    while n > 0x7F:
        n >>= 7
        size += 1
    return size


class Reader:
    """Reads fields from data[pos:end]; raises ProtocolError on overrun or a varint longer than 9 bytes."""

    def __init__(self, data, pos=0, end=None):
        self.data = data
        self.pos = pos
        self.end = len(data) if end is None else end

    def remaining(self):
        return self.end - self.pos

    def u8(self):
        if self.pos >= self.end:
            raise ProtocolError(ERR_TRUNCATED, "byte at %d" % self.pos)
        b = self.data[self.pos]
        self.pos += 1
        return b

    def uvarint(self):
        data = self.data
        pos = self.pos
        end = self.end
        result = 0
        shift = 0
        while True:
            if pos >= end:
                raise ProtocolError(ERR_TRUNCATED, "varint at %d" % self.pos)
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift >= 7 * MAX_VARINT_BYTES:
                raise ProtocolError(ERR_MALFORMED, "varint too long at %d" % self.pos)
        if b == 0 and shift:
            # A trailing zero group is a non-canonical encoding: two byte strings for one value would
            # break byte-exact re-encoding, so only the shortest form is accepted.
            raise ProtocolError(ERR_MALFORMED, "non-canonical varint at %d" % self.pos)
        self.pos = pos
        return result

    def svarint(self):
        return unzigzag(self.uvarint())

    def take(self, n):
        if n < 0 or self.pos + n > self.end:
            raise ProtocolError(ERR_TRUNCATED, "%d bytes at %d" % (n, self.pos))
        out = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return out

    def sub(self):
        """A length-prefixed block: returns a Reader over it and moves past it."""
        n = self.uvarint()
        if self.pos + n > self.end:
            raise ProtocolError(ERR_TRUNCATED, "block of %d at %d" % (n, self.pos))
        inner = Reader(self.data, self.pos, self.pos + n)
        self.pos += n
        return inner

    def text(self, limit):
        n = self.uvarint()
        if n > limit:
            raise ProtocolError(ERR_MALFORMED, "text of %d bytes" % n)
        raw = self.take(n)
        try:
            return str(raw, "utf-8")
        except Exception:
            raise ProtocolError(ERR_MALFORMED, "bad utf-8") from None
