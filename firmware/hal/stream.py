# The stream contract (read/write/readline/any, never blocking) over a raw byte source: a pty file on
# the Unix port, a machine.UART on the ESP32. readline() hands out whole lines only (a UART with
# timeout=0 would return half a sentence), read(n) returns None when nothing is waiting.


class LineStream:
    def __init__(self, raw):
        self.raw = raw  # readinto(buf) -> n|None and write(b) -> n|None, both non-blocking
        self.buf = b""
        self._chunk = bytearray(256)  # polled often: reading into it allocates nothing when idle
        self._view = memoryview(self._chunk)
        self.overflows = 0

    def _fill(self):
        try:
            n = self.raw.readinto(self._chunk)
        except OSError:
            n = 0
        if n:
            self.buf += bytes(self._view[:n])
            if len(self.buf) > 8192:  # nobody reads this line: keep the newest bytes
                self.buf = self.buf[-4096:]
                self.overflows += 1
        return n or 0

    def any(self):
        self._fill()
        return len(self.buf)

    def read(self, n=-1):
        self._fill()
        if not self.buf:
            return None
        if n is None or n < 0 or n >= len(self.buf):
            data, self.buf = self.buf, b""
        else:
            data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def discard(self):
        """Drop what is waiting (stale lines after the box slept), at most 16 reads."""
        self.buf = b""
        for _ in range(16):
            if not self._fill():
                break
        self.buf = b""

    def readline(self):
        self._fill()
        i = self.buf.find(b"\n")
        if i < 0:
            return None
        line, self.buf = self.buf[:i + 1], self.buf[i + 1:]
        return line

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
