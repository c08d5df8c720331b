# A scripted serial line for driver tests (runs under CPython and MicroPython).
# It records every byte the driver writes, checks it against the conversation script, and only then
# makes the scripted answer readable, `chunk` bytes per read() (1 = byte by byte, the hardest case).
import asyncio


class ScriptedStream:
    """steps: [(expected_write or None, answer)]. An expected write of None means the answer follows
    the previous step spontaneously (URCs, boot banners)."""

    def __init__(self, steps, chunk=1):
        self.steps = list(steps)
        self.chunk = chunk
        self.written = b""
        self.inbox = b""
        self.mismatch = None
        self._pending = b""
        self._spontaneous()

    def _spontaneous(self):
        while self.steps and self.steps[0][0] is None:
            self.inbox += self.steps.pop(0)[1]

    def inject(self, data):
        self.inbox += data

    def write(self, data):
        data = bytes(data)
        self.written += data
        if self.mismatch is not None:
            return len(data)
        self._pending += data
        while self.steps and len(self._pending) >= len(self.steps[0][0]):
            expected = self.steps[0][0]
            if self._pending[: len(expected)] != expected:
                self.mismatch = (expected, self._pending)
                break
            self._pending = self._pending[len(expected):]
            self.inbox += self.steps.pop(0)[1]
            self._spontaneous()
        if not self.steps and self._pending and self.mismatch is None:
            self.mismatch = (b"<end of script>", self._pending)
        return len(data)

    def read(self, n=-1):
        if not self.inbox:
            return None
        k = self.chunk if n < 0 else min(n, self.chunk)
        out, self.inbox = self.inbox[:k], self.inbox[k:]
        return out

    def readline(self):
        i = self.inbox.find(b"\n")
        if i < 0:
            return None
        out, self.inbox = self.inbox[: i + 1], self.inbox[i + 1:]
        return out

    def any(self):
        return len(self.inbox)

    def check(self):
        """Fail unless the driver wrote exactly the script, all of it."""
        assert self.mismatch is None, "expected %r, driver wrote %r" % self.mismatch
        assert not self.steps, "script not finished, next expected %r" % (self.steps[0][0],)
        assert not self._pending, "unexpected extra bytes %r" % (self._pending,)


def run(coro):
    """asyncio.run, under both interpreters."""
    return asyncio.run(coro)


def ok(cmd, *lines):
    """One scripted command: the driver writes `cmd\\r`, the modem (echo off) answers the lines."""
    answer = b"".join(b"\r\n" + ln + b"\r\n" for ln in lines) if lines else b"\r\nOK\r\n"
    return (cmd + b"\r", answer)


async def raised(awaitable, kind):
    """The `kind` exception that awaiting `awaitable` raises, or None when it completes (others propagate)."""
    try:
        await awaitable
    except kind as exc:
        return exc
    return None
