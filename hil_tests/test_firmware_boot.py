"""The real firmware boots on the MicroPython Unix port with pty UARTs and a config file, takes a badge
on its reader line and drives the relay on its control channel, with no server reachable.

Only serial lines are used: a raw pty pair per UART (os.openpty), a byte-level RDM6300 card frame on the
reader line, and `SET`/`PIN`/`BOOT` lines on the control channel (docs/bench.md). The allow-list is the
one a previous sync left on the box's flash (data_dir/allow, docs/firmware.md).
"""

import json
import os
import select
import subprocess
import time
import tty

import pytest

from protocol import codes, keys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("AUTOPARTAGE_FIRMWARE", os.path.join(ROOT, "build", "firmware"))
MICROPYTHON = os.path.join(ROOT, ".venv", "bin", "micropython")
KEY = bytes(range(0x40, 0x50))
MANAGER_UID = bytes.fromhex("0a1b2c3d4e")  # RDM6300 cards carry 5 bytes
STRANGER_UID = bytes.fromhex("0102030405")


class Line:
    """Our end of one pty pair: the firmware opens the slave path."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)
        self.buf = b""

    def write(self, data):
        os.write(self.master, data)

    def read_lines(self, timeout):
        deadline = time.monotonic() + timeout
        out = []
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    self.buf += os.read(self.master, 4096)
                except BlockingIOError:
                    pass
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                out.append(line.decode("ascii", "replace").strip())
            if out:
                return out
        return out

    def close(self):
        os.close(self.master)
        os.close(self.slave)


class Control:
    def __init__(self, line):
        self.line = line
        self.lines = []
        self.seen = 0

    def wait(self, wanted, timeout=10.0):
        """The first line starting with `wanted` not yet waited for; every line read is kept."""
        deadline = time.monotonic() + timeout
        while True:
            while self.seen < len(self.lines):
                text = self.lines[self.seen]
                self.seen += 1
                if text.startswith(wanted):
                    return text
            if time.monotonic() >= deadline:
                return None
            self.lines.extend(self.line.read_lines(0.2))

    def send(self, text):
        self.line.write(text.encode() + b"\n")


def rdm6300_frame(uid5):
    check = 0
    for b in uid5:
        check ^= b
    return b"\x02" + ("%s%02X" % (uid5.hex().upper(), check)).encode() + b"\x03"


def rmc(epoch, speed_kn="0.0"):
    """A valid $GPRMC sentence for `epoch` at a fixed position (Nantes), standing still."""
    tm = time.gmtime(epoch)
    body = "GPRMC,%02d%02d%02d.00,A,4713.116,N,00133.216,W,%s,0.0,%02d%02d%02d,,,A" % (
        tm.tm_hour, tm.tm_min, tm.tm_sec, speed_kn, tm.tm_mday, tm.tm_mon, tm.tm_year % 100)
    check = 0
    for ch in body.encode():
        check ^= ch
    return ("$%s*%02X\r\n" % (body, check)).encode()


def wait_bytes(line, wanted, timeout):
    """Wait until `wanted` shows up among the bytes the firmware writes on a line."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([line.master], [], [], 0.05)
        if ready:
            try:
                seen += os.read(line.master, 4096)
            except BlockingIOError:
                pass
            if wanted in seen:
                return True
    return False


def hold_card(line, uid5, seconds=0.6):
    """An RDM6300 repeats the card's frame about every 100 ms while the card is in the field."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        line.write(rdm6300_frame(uid5))
        time.sleep(0.1)


HEAP = os.environ.get("AUTOPARTAGE_HEAP", "512K")


def start_firmware(tmp_path, lines, heap=HEAP, firmware=BUILD, **override):
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    manager = keys.badge_hash(KEY, MANAGER_UID).hex()
    (data / "allow").write_text(json.dumps({"v": 1, "loaded": True, "e": [[1, manager, codes.KIND_ROLE, 0, 0, 0]]}))
    config = {
        "box_id": 3, "key": KEY.hex(), "vehicle": "AB-123-CD", "server_host": "127.0.0.1", "server_port": 9,
        "server_path": "/api/v1/sync", "apn": "bench", "board": "unix", "reader": "rdm6300", "modem": "sim800",
        "uarts": {"gps": lines["gps"].path, "modem": lines["modem"].path, "reader": lines["reader"].path},
        "control": lines["control"].path, "data_dir": str(data), "clock_factor": 1,
    }
    config.update(override)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    log = open(tmp_path / "firmware.log", "wb")
    proc = subprocess.Popen([MICROPYTHON, "-X", "heapsize=" + heap, "main.py", "--config", str(path)],
                            cwd=firmware, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    return proc


@pytest.mark.skipif(not os.path.exists(os.path.join(BUILD, "main.py")), reason="run `make firmware` first")
def test_firmware_boots_and_a_badge_releases_the_relay_without_server(tmp_path):
    lines = {name: Line() for name in ("gps", "modem", "reader", "control")}
    control = Control(lines["control"])
    proc = start_firmware(tmp_path, lines)
    try:
        assert control.wait("BOOT ") is not None, (tmp_path / "firmware.log").read_text()
        t = int(time.time())
        for i in range(3):  # the receiver reports: standing still, and the time
            lines["gps"].write(rmc(t + i))
        assert control.wait("PIN relay 1") is not None  # armed at first boot (ignition off, stopped)
        control.send("PING")
        assert control.wait("PONG") is not None
        mark = len(control.lines)
        hold_card(lines["reader"], STRANGER_UID)
        control.wait("NO SUCH LINE", 2.5)  # collect the whole feedback pattern
        assert control.lines[mark:].count("PIN buzzer 1") == 3, control.lines  # denied: 3 pulses
        assert "PIN relay 0" not in control.lines
        # The modem line stays silent (a hung modem): the boot sync is still busy with it when the badge
        # comes, and the decision must not wait for it.
        assert wait_bytes(lines["modem"], b"AT", 10), "the sync task never tried the modem"
        mark = len(control.lines)
        start = time.monotonic()
        lines["reader"].write(rdm6300_frame(MANAGER_UID))
        assert control.wait("PIN relay 0", 5) is not None, control.lines
        latency = time.monotonic() - start
        assert latency < 1.0, latency
        hold_card(lines["reader"], MANAGER_UID, 0.3)
        control.wait("NO SUCH LINE", 2.0)
        assert control.lines[mark:].count("PIN buzzer 1") == 1, " | ".join(control.lines)  # granted: 1 pulse
        control.send("SET ignition 1")
        control.send("DUTY")
        duty = control.wait("DUTY ", 5)
        assert duty is not None and len(duty.split()) == 6
        assert proc.poll() is None, (tmp_path / "firmware.log").read_text()
    finally:
        proc.kill()
        proc.wait()
        for line in lines.values():
            line.close()


@pytest.mark.skipif(not os.path.exists(os.path.join(BUILD, "main.py")), reason="run `make firmware` first")
def test_firmware_without_a_valid_key_survives_garbage_and_answers_not_ready(tmp_path):
    lines = {name: Line() for name in ("gps", "modem", "reader", "control")}
    control = Control(lines["control"])
    proc = start_firmware(tmp_path, lines, key="not hex at all")
    try:
        assert control.wait("BOOT ") is not None, (tmp_path / "firmware.log").read_text()
        junk = bytes(range(256)) * 4
        for name in ("gps", "reader", "modem"):
            lines[name].write(junk + b"$GPRMC,,V,,,,,,,,,,N*53\r\n" + b"\x02ZZZZ\x03\n")
        control.send("SET ignition banana")
        control.send("\x00\xff garbage")
        control.send("PING")
        assert control.wait("PONG") is not None
        mark = len(control.lines)
        hold_card(lines["reader"], MANAGER_UID)
        control.wait("NO SUCH LINE", 3.0)
        assert control.lines[mark:].count("PIN buzzer 1") == 4, control.lines  # box not ready
        assert "PIN relay 0" not in control.lines[mark:]
        assert proc.poll() is None, (tmp_path / "firmware.log").read_text()
    finally:
        proc.kill()
        proc.wait()
        for line in lines.values():
            line.close()
