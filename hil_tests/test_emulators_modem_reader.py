"""The modem emulators (SIM800/SIM7000, A7670E, SIM7080G) and badge-reader emulators, over real pseudo-terminals,
driven by the firmware's own drivers (CPython asyncio) and by raw bytes: the two sides of docs/modem.md must agree.

The modem emulator opens real TCP connections to a small HTTP server on 127.0.0.1.
"""

import asyncio
import os
import socketserver
import threading
import time
import tty

import pytest

from drivers.pn532 import PN532
from drivers.rdm6300 import RDM6300
from drivers.modem import Modem, ModemError, ModemTimeout
from hil_tests.emulators import modems
from hil_tests.emulators.reader import PN532Emulator, Rdm6300Emulator, pn532_frame, rdm6300_frame
from hil_tests.emulators.sim800 import Sim800Emulator

APN = "m2m.example"
FAMILIES = ["sim800", "a7670", "sim7080"]
TRICKY = b"\r\nCLOSED\r\n+IPD,2:OK\r\n"


class PtyStream:
    """The box's side of a pty pair as a non-blocking driver stream (what hal/unix.py gives drivers)."""

    def __init__(self):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        os.set_blocking(self.master, False)
        self.path = os.ttyname(self.slave)

    def read(self, n=256):
        try:
            return os.read(self.master, n)
        except (BlockingIOError, OSError):
            return None

    def write(self, data):
        data = bytes(data)
        view = memoryview(data)
        while view:
            try:
                k = os.write(self.master, view)
                view = view[k:]
            except BlockingIOError:
                time.sleep(0.001)
        return len(data)

    def readline(self):
        return None

    def any(self):
        return 0

    def read_until(self, needle, timeout=2.0):
        out = b""
        deadline = time.monotonic() + timeout
        while needle not in out and time.monotonic() < deadline:
            out += self.read(4096) or b""
            time.sleep(0.005)
        return out

    def close(self):
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


class _Http(socketserver.BaseRequestHandler):
    def handle(self):
        data = b""
        self.request.settimeout(5)
        while b"\r\n\r\n" not in data:
            chunk = self.request.recv(4096)
            if not chunk:
                return
            data += chunk
        head, body = data.split(b"\r\n\r\n", 1)
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        while len(body) < length:
            chunk = self.request.recv(4096)
            if not chunk:
                break
            body += chunk
        self.server.bodies.append(body)
        answer = self.server.answer(body)
        self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
                             % len(answer) + answer)


@pytest.fixture
def http_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Http)
    server.daemon_threads = True
    server.bodies = []
    # The answer carries bytes that look like modem lines and URCs.
    server.answer = lambda body: TRICKY + body[::-1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def modem_link(http_server):
    made = []

    def make(profile="sim800", power=False, detect=False, **kw):
        stream = PtyStream()
        emu = modems.make(profile, stream.path, server=http_server.server_address, **kw).start()

        async def switch(on, pulse_ms):  # the HAL's modem_power wired to the emulator's power line
            emu.set_power(on)

        modem = Modem(stream, power=switch if power else None, family=None if detect else profile, poll_ms=2)
        made.append((stream, emu, modem))
        return stream, emu, modem

    yield make
    for stream, emu, modem in made:
        modem.stop()
        emu.stop()
        stream.close()


def _request(body):
    return b"POST /api/v1/sync HTTP/1.0\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def _expected(body):
    return (b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n"
            % (len(TRICKY) + len(body)) + TRICKY + body[::-1])


@pytest.mark.parametrize("profile", ["sim800", "sim7000", "a7670", "sim7080"])
def test_driver_and_emulator_agree_on_a_whole_sync(modem_link, http_server, profile):
    stream, emu, modem = modem_link(profile, detect=True)
    body = b"\r\nOK\r\n\x00\xff+CIPRXGET: 2,1,0\r\n" + os.urandom(3000)

    async def main():
        await modem.start()
        await modem.attach(APN)
        csq = await modem.signal_quality()
        now = await modem.network_time()
        got = await modem.tcp_exchange("sync.autopartage.example", 8080, _request(body), 10000)
        got2 = await modem.tcp_exchange("sync.autopartage.example", 8080, _request(b"second"), 10000)
        return csq, now, got, got2

    csq, now, got, got2 = asyncio.run(main())
    assert csq == 18
    assert abs(now - time.time()) < 5
    assert got == _expected(body) and got2 == _expected(b"second")
    assert http_server.bodies == [body, b"second"]
    assert emu.connections == 2 and emu.apn == APN
    assert modem.at.stray_lines == 0 and modem.at.bad_lines == 0
    assert emu.commands[:4] == ["AT", "ATE0", "AT+CMEE=1", "AT+CGMM"] and modem.family.name == profile


def test_emulator_raw_conversation_has_the_real_quirks(modem_link):
    stream, emu, _ = modem_link()
    stream.write(b"AT+CSQ\r")
    assert stream.read_until(b"OK\r\n") == b"AT+CSQ\r\r\n+CSQ: 18,0\r\n\r\nOK\r\n"  # echo on after boot
    stream.write(b"ATE0\rAT+CIFSR\r")
    assert stream.read_until(b"ERROR\r\n") == b"ATE0\r\r\nOK\r\n\r\nERROR\r\n"  # no bearer yet
    stream.write(b"AT+NOPE\r")
    assert stream.read_until(b"ERROR\r\n") == b"\r\nERROR\r\n"


@pytest.mark.parametrize("profile", FAMILIES)
def test_not_registered_then_registered(modem_link, profile):
    stream, emu, modem = modem_link(profile)
    emu.registered = False
    modem.reg_wait_ms = 300

    async def main():
        await modem.start()
        with pytest.raises(ModemError) as exc:
            await modem.attach(APN)
        assert exc.value.command == modem.family.reg[0]
        emu.registered = True
        await modem.attach(APN)
        return modem.bearer

    assert asyncio.run(main())


def test_cme_error_reaches_the_caller_with_command_and_reply(modem_link):
    stream, emu, modem = modem_link()
    emu.fail("AT+CIICR", "+CME ERROR: 148")

    async def main():
        await modem.start()
        with pytest.raises(ModemError) as exc:
            await modem.attach(APN)
        assert (exc.value.command, exc.value.reply) == ("AT+CIICR", ["+CME ERROR: 148"])
        await modem.attach(APN)  # one-shot fault: the next attempt works

    asyncio.run(main())


def test_slow_and_silent_modem_never_blocks_other_tasks(modem_link):
    stream, emu, modem = modem_link()

    async def main():
        await modem.start()
        ticks = []

        async def other_task():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.01)

        task = asyncio.create_task(other_task())
        emu.delay_s = 0.3
        assert await modem.signal_quality() == 18  # slow but within the 1 s limit
        emu.delay_s = 0
        emu.silent = True
        t0 = time.monotonic()
        with pytest.raises(ModemTimeout) as exc:
            await modem.command("AT+CSQ", 400)
        waited = time.monotonic() - t0
        task.cancel()
        emu.silent = False
        assert await modem.signal_quality() == 18
        return exc.value, waited, ticks

    err, waited, ticks = asyncio.run(main())
    assert err.command == "AT+CSQ" and err.ms == 400 and 0.35 < waited < 1.5
    assert len(ticks) > 30  # the other task kept running during both waits
    assert max(b - a for a, b in zip(ticks, ticks[1:])) < 0.2


@pytest.mark.parametrize("profile", FAMILIES)
def test_reset_during_transfer_is_recovered_by_the_ladder(modem_link, http_server, profile):
    stream, emu, modem = modem_link(profile)
    body = b"journal" * 100

    async def main():
        await modem.start()
        await modem.attach(APN)
        emu.reset_during_transfer = True
        return await modem.exchange("sync.autopartage.example", 8080, _request(body), 10000)

    assert asyncio.run(main()) == _expected(body)
    assert emu.boots == 1 and modem.restarts == 1
    assert http_server.bodies == [body]  # the swallowed attempt never reached the server


@pytest.mark.parametrize("profile", FAMILIES)
def test_dropped_connection_fails_the_exchange_then_reattaches(modem_link, http_server, profile):
    stream, emu, modem = modem_link(profile)

    async def main():
        await modem.start()
        await modem.attach(APN)
        emu.drop_on_transfer = True
        emu.under_voltage_on_transfer = True
        with pytest.raises(ModemError) as exc:
            await modem.tcp_exchange("h", 8080, _request(b"one"), 10000)
        assert exc.value.command == "tcp_exchange" and not modem.bearer
        return await modem.tcp_exchange("h", 8080, _request(b"two"), 10000)

    assert asyncio.run(main()) == _expected(b"two")
    assert modem.undervoltage >= (1 if emu.under_voltage_urc else 0)


@pytest.mark.parametrize("profile", FAMILIES)
def test_power_off_and_power_cycle_through_the_pin(modem_link, profile):
    stream, emu, modem = modem_link(profile, power=True)
    modem.family.off_ms = 50

    async def main():
        await modem.start()
        await modem.power_off()
        with pytest.raises(ModemTimeout):
            await modem.command("AT", 200)  # really off
        await modem.start()  # switches it on again and waits for it
        assert emu.boots == 1 and await modem.signal_quality() == 18
        assert await modem.recover(power=True) == "power"
        return await modem.signal_quality()

    assert asyncio.run(main()) == 18
    assert emu.boots == 2 and modem.ready and modem.powered


def test_unwired_emulator_wakes_after_cpowd(modem_link):
    # A bench that does not wire PIN modem_power to set_power() still gets a modem back for the next sync.
    stream, emu, modem = modem_link()

    async def main():
        await modem.start()
        await modem.power_off()
        await modem.start()
        return await modem.signal_quality()

    assert asyncio.run(main()) == 18
    assert emu.boots == 1 and not emu.wired


def test_ring_is_counted(modem_link):
    stream, emu, modem = modem_link()

    async def main():
        await modem.start()
        emu.ring()
        for _ in range(100):
            if modem.rings:
                break
            await asyncio.sleep(0.01)
        return modem.rings

    assert asyncio.run(main()) == 1


def test_emulator_refuses_non_loopback_targets():
    stream = PtyStream()
    emu = Sim800Emulator(stream.path).start()  # no server: the box's own host must be loopback
    modem = Modem(stream, family="sim800", poll_ms=2)

    async def main():
        await modem.start()
        await modem.attach(APN)
        with pytest.raises(ModemError) as exc:
            await modem.tcp_exchange("192.0.2.1", 80, b"x", 5000)
        return exc.value

    try:
        err = asyncio.run(main())
    finally:
        modem.stop()
        emu.stop()
        stream.close()
    assert err.reply[-1] == "CONNECT FAIL" and emu.connections == 0


# ------------------------------------------------------------------------------------------ readers
def test_pn532_emulator_raw_frames():
    stream = PtyStream()
    emu = PN532Emulator(stream.path).start()
    try:
        list_cmd = bytes.fromhex("0000ff04fcd44a0100e100")
        stream.write(list_cmd)  # asleep: ignored until the 55 55 wake-up
        assert stream.read_until(b"\x00\x00\xff\x00\xff\x00", 0.3) == b""
        emu.tap(b"\x04\x11\x22\x33\x44\x55\x66")
        stream.write(b"\x55\x55" + b"\x00" * 14 + list_cmd)
        # ACK, then D5 4B: 1 target, Tg 1, SENS_RES 00 44, SEL_RES 08, UID length 7, UID
        want = b"\x00\x00\xff\x00\xff\x00" + pn532_frame(bytes.fromhex("d54b01010044080704112233445566"))
        assert stream.read_until(want) == want
        stream.write(list_cmd[:-2] + b"\x00\x00")  # bad DCS: ignored and counted
        assert stream.read_until(b"\xff", 0.3) == b""
        assert emu.bad_frames == 1
    finally:
        emu.stop()
        stream.close()


def test_pn532_driver_against_emulator():
    stream = PtyStream()
    emu = PN532Emulator(stream.path).start()
    reader = PN532(stream, timeout_ms=500, poll_ms=2)
    uid = b"\xde\xad\xbe\xef"

    async def main():
        assert await reader.start()
        assert await reader.firmware_version() == (0x32, 1, 6)
        got = [await reader.poll()]
        emu.tap(uid)
        for _ in range(3):
            got.append(await reader.poll())
        emu.remove()
        for _ in range(2):
            got.append(await reader.poll())
        emu.corrupt_next = True
        emu.tap(uid)
        got.append(await reader.poll())
        got.append(await reader.poll())
        return got

    try:
        got = asyncio.run(main())
    finally:
        emu.stop()
        stream.close()
    assert got == [None, uid, None, None, None, None, None, uid]
    assert reader.taps == 2 and reader.bad_frames == 1 and reader.timeouts == 0


def test_armed_pn532_stays_silent_until_a_card_comes_and_an_ack_aborts_it():
    stream = PtyStream()
    emu = PN532Emulator(stream.path).start()
    reader = PN532(stream, timeout_ms=500, poll_ms=2)
    uid = b"\xde\xad\xbe\xef"

    async def quiet_polls(n):
        got = []
        for _ in range(n):
            got.append(await reader.poll())
            await asyncio.sleep(0.02)
        return got

    async def main():
        assert await reader.start() and await reader.arm()
        assert await quiet_polls(5) == [None] * 5 and reader.armed and emu.pending
        emu.tap(uid)  # the pending command answers: this is what wakes a sleeping box
        got = await quiet_polls(3)
        assert got[0] == uid and not reader.armed
        emu.remove()
        assert await quiet_polls(3) == [None] * 3  # bounded polls again: the card is seen gone
        assert await reader.arm()
        await asyncio.sleep(0.05)  # the emulator's thread takes the command
        assert emu.pending
        await reader.disarm()
        await asyncio.sleep(0.05)
        assert not emu.pending and emu.aborts == 1
        emu.tap(uid)
        assert await reader.poll() == uid  # an ordinary poll finds it

    try:
        asyncio.run(main())
    finally:
        emu.stop()
        stream.close()
    assert reader.taps == 2 and reader.bad_frames == 0


def test_rdm6300_emulator_and_driver():
    stream = PtyStream()
    emu = Rdm6300Emulator(stream.path, period_s=0.05).start()
    reader = RDM6300(stream)
    uid = bytes.fromhex("0A001B2C3E")

    async def main():
        await reader.start()
        taps = []

        async def watch(seconds):
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                tap = await reader.poll()
                if tap:
                    taps.append(tap)
                await asyncio.sleep(0.02)

        emu.tap(uid)
        await watch(0.6)  # held: one tap for a dozen frames
        emu.remove()
        await watch(0.8)
        emu.tap(uid[1:])  # 4 bytes: version 00 added
        emu.corrupt_next = True
        await watch(0.4)
        return taps

    try:
        taps = asyncio.run(main())
    finally:
        emu.stop()
        stream.close()
    assert taps == [uid, b"\x00" + uid[1:]]
    assert reader.frames >= 8 and reader.bad_frames == 1
    assert rdm6300_frame(uid) == b"\x020A001B2C3E03\x03"


# ------------------------------------------------------------------------------------ under MicroPython
MP_SCRIPT = """
import sys
sys.path.insert(0, %(firmware)r)
import asyncio
from hal.unix import PtyUart
from drivers.modem import Modem
from drivers.pn532 import PN532

async def main():
    modem = Modem(PtyUart(%(modem)r))  # the family read from AT+CGMM
    await modem.start()
    print("FAMILY", modem.family.name)
    await modem.attach("m2m.example")
    print("CSQ", await modem.signal_quality())
    print("TIME", await modem.network_time())
    data = await modem.tcp_exchange("sync.autopartage.example", 8080, bytes.fromhex(%(request)r), 10000)
    print("DATA", data.hex())
    modem.stop()
    reader = PN532(PtyUart(%(reader)r))
    taps = []
    for _ in range(4):
        uid = await reader.poll()
        taps.append(uid.hex() if uid else "-")
        await asyncio.sleep_ms(20)
    print("TAPS", " ".join(taps))

asyncio.run(main())
"""


@pytest.mark.parametrize("profile", ["sim800", "sim7000", "a7670", "sim7080"])
def test_micropython_drivers_against_the_emulators(http_server, tmp_path, profile):
    """The same drivers, run by the MicroPython Unix port through the Unix HAL's pty UART."""
    import subprocess
    import sys

    from hil_tests.harness.ptys import make_link

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    micropython = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(os.path.join(root, "firmware", "hal", "unix.py")) or not os.path.exists(micropython):
        pytest.skip("needs firmware/hal/unix.py and .venv/bin/micropython")
    modem_link, reader_link = make_link("modem"), make_link("reader")
    emu = modems.make(profile, modem_link.b, server=http_server.server_address).start()
    pn532 = PN532Emulator(reader_link.b).start()
    pn532.tap(b"\x04\x11\x22\x33\x44\x55\x66")
    body = b"\r\nOK\r\n" + bytes(range(256)) * 8
    script = tmp_path / "mp_drivers.py"
    script.write_text(MP_SCRIPT % {"firmware": os.path.join(root, "firmware"), "modem": modem_link.a,
                                   "reader": reader_link.a, "profile": profile, "request": _request(body).hex()})
    try:
        out = subprocess.run([micropython, "-X", "heapsize=512K", str(script)], capture_output=True, text=True,
                             timeout=60)
    finally:
        pn532.stop()
        emu.stop()
        modem_link.close()
        reader_link.close()
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if " " in line)
    assert out.returncode == 0, out.stdout + out.stderr
    assert lines["FAMILY"] == profile
    assert lines["CSQ"] == "18"
    assert abs(int(lines["TIME"]) - time.time()) < 10
    assert bytes.fromhex(lines["DATA"]) == _expected(body)
    assert lines["TAPS"] == "04112233445566 - - -"
    assert http_server.bodies == [body]
