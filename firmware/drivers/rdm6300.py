# RDM6300 125 kHz (EM4100) reader: it pushes 02, 10 hex digits, 2 hex digits of XOR check, 03 while a
# card is in the field. parse() is pure; poll() reads what is waiting and reports one tap per
# presentation (the same card is new again only after a quiet poll and release_ms without a frame).
from drivers.aio import ticks_diff, ticks_ms

STX = 0x02
ETX = 0x03
FRAME_LEN = 14
_HEX = b"0123456789ABCDEFabcdef"


def _hex_ok(chunk):
    for c in chunk:
        if c not in _HEX:
            return False
    return True


def parse(buf):
    """Frames at the start of buf -> (uids, bad_count, rest). Junk and damaged frames are counted."""
    uids = []  # type: list
    bad = 0
    while True:
        i = buf.find(b"\x02")
        if i < 0:
            if buf:
                bad += 1
            return uids, bad, b""
        if i > 0:
            bad += 1
            buf = buf[i:]
        if len(buf) < FRAME_LEN and buf.find(b"\x03") < 0:
            return uids, bad, buf  # the rest of the frame is still on the wire
        if len(buf) < FRAME_LEN or buf[13] != ETX or not _hex_ok(buf[1:13]):
            bad += 1
            buf = _resync(buf)
            continue
        raw = bytes.fromhex(buf[1:13].decode())
        check = 0
        for b in raw[:5]:
            check ^= b
        if check != raw[5]:
            bad += 1
        else:
            uids.append(raw[:5])
        buf = buf[FRAME_LEN:]


def _resync(buf):
    # Skip a damaged frame up to the next start byte (its remains are not counted a second time).
    j = buf.find(b"\x02", 1)
    return buf[j:] if j > 0 else b""


class RDM6300:
    # The reader pushes a card's frames by itself: always ready to wake a sleeping box (its TX line).
    armed = True

    def __init__(self, stream, release_ms=500, ticks=None):
        self.stream = stream
        self.release_ms = release_ms
        self.ticks = ticks or ticks_ms
        self.bad_frames = 0
        self.frames = 0
        self.taps = 0
        self._buf = b""
        self._present = None
        self._seen = 0

    async def start(self):
        # Drop whatever was buffered before we listened (a half frame, boot noise).
        self._buf = b""
        for _ in range(64):
            if not self.stream.read(64):
                break

    async def arm(self):
        return True

    async def disarm(self):
        pass

    async def poll(self):
        for _ in range(16):  # bounded: never spin on a babbling line
            data = self.stream.read(64)
            if not data:
                break
            self._buf += data
        if len(self._buf) > 256:
            self.bad_frames += 1
            self._buf = self._buf[-FRAME_LEN:]
        uids, bad, self._buf = parse(self._buf)
        self.bad_frames += bad
        tap = None
        now = self.ticks()
        if not uids:
            # Released only after a quiet poll *and* release_ms without a frame: a slow caller that
            # finds the held card's frames queued up at every poll never sees it as a new tap.
            if self._present is not None and ticks_diff(now, self._seen) > self.release_ms:
                self._present = None
            return None
        for uid in uids:
            self.frames += 1
            if uid != self._present:
                self.taps += 1
                tap = uid
            self._present = uid
        self._seen = now
        return tap
