"""Badge reader emulators for the bench: PN532 over HSU and RDM6300 (125 kHz EM4100), on a pyserial URL.

`tap(uid)` puts a card on the reader, `remove()` takes it away. The PN532 answers the host's frames
(docs/modem.md, "Badge readers"); the RDM6300 pushes its frame every `period_s` while a card is present.
"""

import threading
import time

from hil_tests.emulators.serial_line import SerialEmulator

ACK = b"\x00\x00\xff\x00\xff\x00"
ERROR_FRAME = b"\x00\x00\xff\x01\xff\x7f\x81\x00"


def pn532_frame(payload, corrupt=False):
    """A normal information frame carrying TFI + data (`payload` starts with the TFI byte)."""
    n = len(payload)
    dcs = (-sum(payload)) & 0xFF
    if corrupt:
        dcs ^= 0x5A
    return b"\x00\x00\xff" + bytes((n, (-n) & 0xFF)) + payload + bytes((dcs, 0))


def rdm6300_frame(uid5, corrupt=False):
    check = 0
    for b in uid5:
        check ^= b
    if corrupt:
        check ^= 0x01
    return b"\x02" + ("%s%02X" % (uid5.hex().upper(), check)).encode() + b"\x03"


class _BadgeReader(SerialEmulator):
    """What both readers share: a card on the reader (or None), guarded by `_lock`."""

    def __init__(self, url, baudrate):
        super().__init__(url, baudrate)
        self._lock = threading.Lock()
        self.card = None

    def remove(self):
        with self._lock:
            self.card = None


class PN532Emulator(_BadgeReader):
    """Answers HSU frames: wake-up, SAMConfiguration, RFConfiguration, GetFirmwareVersion,
    InListPassiveTarget (ISO 14443A, 106 kbps), InRelease. With endless passive-activation retries
    (RFConfiguration MaxRetries, last byte 0xFF) an InListPassiveTarget without a card stays pending
    until `tap()` (then answered) or until the host aborts it with an ACK frame or a new command."""

    def __init__(self, url, baudrate=115200):
        super().__init__(url, baudrate)
        self.awake = False
        self.silent = False
        self.corrupt_next = False
        self.frames = []  # command codes received (valid frames)
        self.bad_frames = 0
        self.endless = False  # passive-activation retries 0xFF
        self.pending = False  # an InListPassiveTarget waiting for a card
        self.aborts = 0

    def tap(self, uid):
        uid = bytes(uid)
        if len(uid) not in (4, 7, 10):
            raise ValueError("ISO 14443A UIDs are 4, 7 or 10 bytes")
        with self._lock:
            self.card = uid
            pending, self.pending = self.pending, False
        if pending:
            self._answer_list(uid, ack=False)

    def _received(self, data):
        if not self.awake and b"\x55" in data:
            self.awake = True
        self._rx = self._frames(self._rx + data)

    def _frames(self, buf):
        while True:
            start = buf.find(b"\x00\xff")
            if start < 0:
                return buf[-1:] if buf.endswith(b"\x00") else b""
            buf = buf[start:]
            if len(buf) < 4:
                return buf
            n, lcs = buf[2], buf[3]
            if n == 0 and lcs == 0xFF or n == 0xFF and lcs == 0:  # ACK/NAK from the host
                if n == 0:
                    with self._lock:
                        if self.pending:
                            self.aborts += 1
                        self.pending = False
                buf = buf[4:]
                continue
            if (n + lcs) & 0xFF:
                self.bad_frames += 1
                buf = buf[2:]
                continue
            if len(buf) < 4 + n + 2:
                return buf
            payload = buf[4:4 + n]
            dcs = buf[4 + n]
            buf = buf[4 + n + 2:]
            if (sum(payload) + dcs) & 0xFF or not payload or payload[0] != 0xD4 or len(payload) < 2:
                self.bad_frames += 1
                continue
            if not self.awake or self.silent:
                continue
            self.frames.append(payload[1])
            self._handle(payload[1], payload[2:])

    def _answer(self, data, ack=True):
        corrupt = self.corrupt_next
        self.corrupt_next = False
        if ack:
            self._write(ACK)
            time.sleep(0.002)
        self._write(pn532_frame(b"\xd5" + data, corrupt=corrupt))

    def _answer_list(self, uid, ack=True):
        if uid is None:
            self._answer(b"\x4b\x00", ack)
        else:
            sens = {4: b"\x00\x04", 7: b"\x00\x44", 10: b"\x00\x84"}[len(uid)]
            self._answer(b"\x4b\x01\x01" + sens + b"\x08" + bytes((len(uid),)) + uid, ack)

    def _handle(self, cmd, args):
        with self._lock:
            self.pending = False  # a new command aborts the pending one
        if cmd == 0x02:
            self._answer(b"\x03\x32\x01\x06\x07")
        elif cmd == 0x14:
            self._answer(b"\x15")
        elif cmd == 0x32:
            if len(args) >= 4 and args[0] == 0x05:
                self.endless = args[3] == 0xFF
            self._answer(b"\x33")
        elif cmd == 0x52:
            self._answer(b"\x53\x00")
        elif cmd == 0x4A and len(args) >= 2 and args[1] == 0x00:
            with self._lock:
                uid = self.card
                wait = self.pending = uid is None and self.endless
            if wait:
                self._write(ACK)  # it keeps trying: the answer comes with the card
                return
            if uid is None:
                time.sleep(0.01)  # the passive-activation retries before giving up
            self._answer_list(uid)
        else:
            self._write(ACK)
            self._write(ERROR_FRAME)


class Rdm6300Emulator(_BadgeReader):
    """Pushes `02 <10 hex> <2 hex XOR> 03` every `period_s` while a card is present."""

    def __init__(self, url, period_s=0.1, baudrate=9600):
        super().__init__(url, baudrate)
        self.period_s = period_s
        self.corrupt_next = False
        self.sent = 0

    def tap(self, uid):
        uid = bytes(uid)
        if len(uid) == 4:
            uid = b"\x00" + uid
        if len(uid) != 5:
            raise ValueError("EM4100 UIDs are 5 bytes (version + 32-bit number)")
        with self._lock:
            self.card = uid

    def _run(self):
        while not self._stop.wait(self.period_s):
            with self._lock:
                uid = self.card
            if uid is None:
                continue
            corrupt = self.corrupt_next
            self.corrupt_next = False
            self._write(rdm6300_frame(uid, corrupt=corrupt))
            self.sent += 1
