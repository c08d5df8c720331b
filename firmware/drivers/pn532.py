# PN532 NFC reader over HSU (UART): frame building/parsing and ISO 14443A polling (docs/modem.md).
# parse_frame() is pure; PN532 does the I/O with awaits only, so polling never blocks other tasks.
from drivers.aio import sleep_ms, ticks_add, ticks_diff, ticks_ms

ACK = b"\x00\x00\xff\x00\xff\x00"
NAK = b"\x00\x00\xff\xff\x00\x00"
# HSU wake-up from power-down: 0x55 0x55 then enough zero bytes for the oscillator to start.
WAKEUP = b"\x55\x55" + b"\x00" * 14
HOST_TFI = 0xD4
PN532_TFI = 0xD5

CMD_GET_FIRMWARE = 0x02
CMD_SAM_CONFIGURATION = 0x14
CMD_RF_CONFIGURATION = 0x32
CMD_IN_LIST_PASSIVE_TARGET = 0x4A
RETRIES_POLL = 0x02  # passive-activation retries of a poll: it answers "no card" in a few ms
RETRIES_ENDLESS = 0xFF

# parse_frame kinds
NEED_MORE = 0
ACK_FRAME = 1
NAK_FRAME = 2
ERROR_FRAME = 3
DATA_FRAME = 4
BAD_FRAME = 5


def build_frame(data):
    """Host information frame: 00 00 FF LEN LCS D4 data DCS 00."""
    body = bytes((HOST_TFI,)) + bytes(data)
    n = len(body)
    dcs = (-sum(body)) & 0xFF
    return b"\x00\x00\xff" + bytes((n, (-n) & 0xFF)) + body + bytes((dcs, 0))


def parse_frame(buf):
    """Look for one frame at the start of buf. Returns (kind, payload, consumed):
    payload is TFI + data for DATA_FRAME; consumed bytes may be dropped by the caller (for NEED_MORE
    it is the garbage before a possible start of frame)."""
    i = buf.find(b"\x00\xff")
    if i < 0:
        keep = 1 if buf.endswith(b"\x00") else 0
        return NEED_MORE, None, len(buf) - keep
    if len(buf) < i + 4:
        return NEED_MORE, None, i
    n, lcs = buf[i + 2], buf[i + 3]
    if n == 0x00 and lcs == 0xFF:
        return ACK_FRAME, None, i + 5 if len(buf) > i + 4 and buf[i + 4] == 0 else i + 4
    if n == 0xFF and lcs == 0x00:
        return NAK_FRAME, None, i + 5 if len(buf) > i + 4 and buf[i + 4] == 0 else i + 4
    start = i + 4
    if n == 0xFF and lcs == 0xFF:  # extended frame: LENM LENL LCS
        if len(buf) < i + 7:
            return NEED_MORE, None, i
        n = buf[i + 4] * 256 + buf[i + 5]
        if (buf[i + 4] + buf[i + 5] + buf[i + 6]) & 0xFF:
            return BAD_FRAME, None, i + 2
        start = i + 7
    elif (n + lcs) & 0xFF:
        return BAD_FRAME, None, i + 2
    if n == 0:
        return BAD_FRAME, None, start
    end = start + n
    if len(buf) < end + 2:
        return NEED_MORE, None, i
    payload = buf[start:end]
    if (sum(payload) + buf[end]) & 0xFF or buf[end + 1] != 0:
        return BAD_FRAME, None, end + 2
    if payload == b"\x7f":
        return ERROR_FRAME, None, end + 2
    if payload[0] != PN532_TFI:
        return BAD_FRAME, None, end + 2
    return DATA_FRAME, payload, end + 2


def parse_targets(data):
    """InListPassiveTarget answer (after D5 4B) -> UID bytes, None for no card; ValueError if malformed."""
    if not data:
        raise ValueError("empty")
    if data[0] == 0:
        return None
    # Tg, SENS_RES (2), SEL_RES, NFCIDLength, NFCID1...
    if len(data) < 6:
        raise ValueError("short")
    length = data[5]
    if length not in (4, 7, 10) or len(data) < 6 + length:
        raise ValueError("uid length")
    return bytes(data[6:6 + length])


class PN532:
    def __init__(self, stream, timeout_ms=200, release_polls=2, poll_ms=5):
        self.stream = stream
        self.timeout_ms = timeout_ms
        self.release_polls = release_polls
        self.poll_ms = poll_ms
        self.bad_frames = 0
        self.timeouts = 0
        self.taps = 0
        self.firmware = None
        self._buf = b""
        self._awake = False
        self._present = None
        self._absent = 0
        self.armed = False  # an InListPassiveTarget left pending with endless retries (parked box)
        self._endless = False  # the chip's passive-activation retries are endless (0xFF)

    async def start(self):
        """Wake the chip up, normal SAM mode, bounded passive-activation retries (so polls return)."""
        self._drain()
        if await self._call(bytes((CMD_SAM_CONFIGURATION, 0x01, 0x14, 0x01)), WAKEUP) is None:
            return False
        if not await self._retries(RETRIES_POLL):
            return False
        self._awake = True
        self.armed = False
        return True

    async def _retries(self, passive):
        """RFConfiguration MaxRetries: ATR 0xFF, PSL 1, passive activation `passive` (0xFF: endless)."""
        ok = await self._call(bytes((CMD_RF_CONFIGURATION, 0x05, 0xFF, 0x01, passive))) is not None
        if ok:
            self._endless = passive == RETRIES_ENDLESS
        return ok

    async def arm(self):
        """For a sleeping box: leave one InListPassiveTarget pending with endless retries, so the chip
        answers (bytes on the line, IRQ low: the box's wake-up) only when a card comes. Not while a card
        is still held: it would answer at once, again and again. Returns whether the reader is armed."""
        if self.armed or self._present is not None:
            return self.armed
        if not self._awake and not await self.start():
            return False
        if not await self._retries(RETRIES_ENDLESS):
            return False
        self.stream.write(build_frame(bytes((CMD_IN_LIST_PASSIVE_TARGET, 0x01, 0x00))))
        self.armed = True
        return True

    async def disarm(self):
        """Back to bounded polls: an ACK from the host aborts the pending command (PN532 manual 6.2.1.3)."""
        if self.armed:
            self.armed = False
            self.stream.write(ACK)
            self._drain()

    def _armed_answer(self):
        """The pending command's answer if it came (then disarmed), without writing anything."""
        for _ in range(16):  # bounded: a babbling line cannot hold the caller
            chunk = self.stream.read(64)
            if not chunk:
                break
            self._buf += chunk
        while True:
            kind, payload, used = parse_frame(self._buf)
            if used:
                self._buf = self._buf[used:]
            if kind == NEED_MORE:
                return None
            if kind == ACK_FRAME:
                continue
            self.armed = False
            if kind == DATA_FRAME and payload is not None and len(payload) >= 2 \
                    and payload[1] == CMD_IN_LIST_PASSIVE_TARGET + 1:
                return payload[2:]
            self.bad_frames += 1  # damaged (the wake-up may cost the first bytes): polled again at once
            return None

    async def firmware_version(self):
        data = await self._call(bytes((CMD_GET_FIRMWARE,)))
        if data is not None and len(data) >= 4:
            self.firmware = (data[0], data[1], data[2])
        return self.firmware

    async def poll(self):
        """The UID of a card newly presented since the last poll, else None."""
        if self.armed:
            data = self._armed_answer()
        else:
            if not self._awake and not await self.start():
                return None
            if self._endless and not await self._retries(RETRIES_POLL):
                return None
            data = await self._call(bytes((CMD_IN_LIST_PASSIVE_TARGET, 0x01, 0x00)))
        if data is None:
            return None
        try:
            uid = parse_targets(data)
        except ValueError:
            self.bad_frames += 1
            return None
        if uid is None:
            self._absent += 1
            if self._absent >= self.release_polls:
                self._present = None
            return None
        self._absent = 0
        if uid == self._present:
            return None  # the same card still on the reader
        self._present = uid
        self.taps += 1
        return uid

    def _drain(self):
        self._buf = b""
        for _ in range(64):
            if not self.stream.read(64):
                break

    async def _call(self, data, prefix=b""):
        """Send a command; the data after the response code, or None (timeout or bad answer)."""
        self.stream.write(prefix + build_frame(data))
        want = data[0] + 1
        deadline = ticks_add(ticks_ms(), self.timeout_ms)
        acked = False
        while True:
            kind, payload, used = parse_frame(self._buf)
            if used:
                self._buf = self._buf[used:]
            if kind == DATA_FRAME and payload is not None:
                if len(payload) >= 2 and payload[1] == want:
                    return payload[2:]
                self.bad_frames += 1  # a stale or unexpected answer
                continue
            if kind == ACK_FRAME:
                acked = True
                continue
            if kind in (BAD_FRAME, ERROR_FRAME, NAK_FRAME):
                self.bad_frames += 1
                if acked or kind != BAD_FRAME:
                    return None  # the answer itself was damaged or refused: no second one will come
                continue
            # NEED_MORE
            if ticks_diff(deadline, ticks_ms()) <= 0:
                self.timeouts += 1
                self._awake = False
                if acked:
                    self.stream.write(ACK)  # abort the command in progress
                return None
            chunk = self.stream.read(64)
            if chunk:
                self._buf += chunk
            else:
                await sleep_ms(self.poll_ms)
