# The stream contract (read/write/readline/any, never blocking) over a raw byte source: a pty file on
# the Unix port, a machine.UART on the ESP32. readline() hands out whole lines only (a UART with
# timeout=0 would return half a sentence), read(n) returns None when nothing is waiting.


# Bytes read and not yet handed out are kept in one fixed buffer per stream: reading allocates nothing
# but the lines and chunks handed out, so a GPS burst does not fragment the heap (docs/bench.md). A backlog
# waits in the UART's own buffer: a stream reads more only when what it holds does not answer the call.
# Bytes nobody reads are dropped oldest first (`overflows`).
CAPACITY = 1024
CHUNK = 256


class LineStream:
    def __init__(self, raw, capacity=CAPACITY):
        self.raw = raw  # readinto(buf) -> n|None and write(b) -> n|None, both non-blocking
        self._buf = bytearray(max(capacity, CHUNK))  # held bytes: _buf[:_n]; a whole chunk always fits
        self._view = memoryview(self._buf)
        self._n = 0
        self._chunk = bytearray(CHUNK)  # polled often: reading into it allocates nothing when idle
        self._chunk_view = memoryview(self._chunk)
        self.overflows = 0

    def _fill(self):
        try:
            n = self.raw.readinto(self._chunk)
        except OSError:
            n = 0
        if n:
            free = len(self._buf) - self._n
            if n > free:  # nobody reads these bytes: keep the newest
                self._drop(max(n - free, len(self._buf) // 2))
                self.overflows += 1
            self._buf[self._n:self._n + n] = self._chunk_view[:n]
            self._n += n
        return n or 0

    def _drop(self, k):
        """Forget the k oldest bytes held."""
        rest = self._n - k
        if rest > 0:
            self._buf[:rest] = self._view[k:self._n]
        self._n = max(0, rest)

    def _take(self, k):
        data = bytes(self._view[:k])
        self._drop(k)
        return data

    def any(self):
        self._fill()
        return self._n

    def read(self, n=-1):
        if n is None or n < 0 or self._n < n:
            self._fill()
        if not self._n:
            return None
        return self._take(self._n if n is None or n < 0 or n > self._n else n)

    def discard(self):
        """Drop what is waiting (stale lines after the box slept), at most 16 reads."""
        self._n = 0
        for _ in range(16):
            if not self._fill():
                break
        self._n = 0

    def readline(self):
        i = self._buf.find(b"\n", 0, self._n)
        if i < 0:
            self._fill()
            i = self._buf.find(b"\n", 0, self._n)
            if i < 0:
                return None
        return self._take(i + 1)

    def write(self, data):
        total = 0
        view = memoryview(data)
        idle = 0
        while total < len(data):
            try:
                n = self.raw.write(view[total:])
            except OSError:
                return total
            if not n:
                idle += 1
                if idle > 1000:  # the peer stopped reading: give up rather than hang the box
                    return total
                continue
            idle = 0
            total += n
        return total
