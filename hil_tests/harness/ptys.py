"""Serial links between the bench and a box as linked pseudo-terminal pairs.

A `PtyLink` is a null-modem cable: two ends, each a pty slave that anything can open by path
(`micropython` through the Unix HAL, an emulator through pyserial). Bytes written on one end are read
on the other. The default implementation is pure Python (two `os.openpty()` pairs and one thread that
copies between the two masters); `socat` is used only when asked (`AUTOPARTAGE_PTY=socat`) and present.

The link holds both slaves open itself so that an end nobody has opened yet (or that a killed firmware
process just closed) never makes the master report EIO: bytes sent to a closed end wait in its queue,
as they would on a real UART nobody reads.
"""

import fcntl
import os
import select
import shutil
import subprocess
import termios
import threading
import time
import tty

_CHUNK = 4096


def _raw(fd):
    tty.setraw(fd)


class PtyLink:
    """Two openable pty paths, `a` and `b`, wired to each other."""

    def __init__(self, name="link"):
        self.name = name
        self._closed = False
        self.bytes_ab = 0
        self.bytes_ba = 0
        self._cut = False
        self._ma, self._sa = os.openpty()
        self._mb, self._sb = os.openpty()
        self._pending = {self._ma: b"", self._mb: b""}  # bytes waiting to be written to that master
        for fd in (self._sa, self._sb):
            _raw(fd)
        for fd in (self._ma, self._mb):
            os.set_blocking(fd, False)
        self.a = os.ttyname(self._sa)
        self.b = os.ttyname(self._sb)
        # A self-pipe wakes the copy thread for close().
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, name="pty-" + name, daemon=True)
        self._thread.start()

    def cut(self, value=True):
        """Drop every byte in both directions while cut (a disconnected cable)."""
        self._cut = bool(value)

    def unread_a(self):
        """Bytes sent towards end `a` that its reader has not read yet (in this link or the pty's queue)."""
        queued = fcntl.ioctl(self._sa, termios.FIONREAD, b"\0\0\0\0")
        return len(self._pending[self._ma]) + int.from_bytes(queued, "little")

    def _run(self):
        pending = self._pending
        peer = {self._ma: self._mb, self._mb: self._ma}
        while not self._closed:
            writers = [fd for fd, data in pending.items() if data]
            try:
                readable, writable, _ = select.select([self._ma, self._mb, self._wake_r], writers, [], 1.0)
            except (OSError, ValueError):
                return
            if self._wake_r in readable:
                return
            for fd in readable:
                try:
                    data = os.read(fd, _CHUNK)
                except BlockingIOError:
                    continue
                except OSError:
                    # EIO: no slave open right now (never happens while we hold them, kept for safety).
                    time.sleep(0.01)
                    continue
                if not data or self._cut:
                    continue
                if fd == self._ma:
                    self.bytes_ab += len(data)
                else:
                    self.bytes_ba += len(data)
                target = peer[fd]
                # Bound what waits for a reader that never comes (a stopped emulator): keep the newest 64 KB.
                pending[target] = (pending[target] + data)[-65536:]
            for fd in writable:
                try:
                    n = os.write(fd, pending[fd])
                except BlockingIOError:
                    continue
                except OSError:
                    pending[fd] = b""
                    continue
                pending[fd] = pending[fd][n:]

    def close(self):
        if self._closed:
            return
        self._closed = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        self._thread.join(2)
        for fd in (self._ma, self._sa, self._mb, self._sb, self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "PtyLink(%s: %s <-> %s)" % (self.name, self.a, self.b)


class SocatLink:
    """The same link made by socat (when preferred and installed): `a` and `b` are symlinks."""

    def __init__(self, name="link", directory=None):
        import tempfile

        self.name = name
        self._dir = directory or tempfile.mkdtemp(prefix="autopartage-pty-")
        self.a = os.path.join(self._dir, name + "-a")
        self.b = os.path.join(self._dir, name + "-b")
        self._proc = subprocess.Popen(
            ["socat", "pty,raw,echo=0,link=" + self.a, "pty,raw,echo=0,link=" + self.b],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.a) and os.path.exists(self.b)):
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.close()
                raise OSError("socat did not create %s" % self.a)
            time.sleep(0.02)

    def cut(self, value=True):
        raise NotImplementedError("cutting a socat link is not supported; use PtyLink")

    def close(self):
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(2)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def make_link(name="link"):
    """A link from the preferred implementation (pure Python unless AUTOPARTAGE_PTY=socat and socat exists)."""
    if os.environ.get("AUTOPARTAGE_PTY") == "socat" and shutil.which("socat"):
        return SocatLink(name)
    return PtyLink(name)
