# The Unix port HAL: control channel, pins, fast clock, data dir, reset cause, config; and (CPython
# only, where os.openpty exists) raw non-blocking pty UARTs and the watchdog killing a hung process.
import os

import asyncio

from serial_script import run
from support import temp_dir

from drivers.aio import sleep_ms

import hal
from hal import unix


class Line:
    """A stream that records what the box writes and hands it queued input lines."""

    def __init__(self, incoming=b""):
        self.incoming = incoming
        self.written = b""

    def readline(self):
        if not self.incoming:
            return None
        i = self.incoming.find(b"\n")
        if i < 0:
            return None
        line, self.incoming = self.incoming[:i + 1], self.incoming[i + 1:]
        return line

    def write(self, data):
        self.written += bytes(data)
        return len(data)


def _board(**extra):
    config = {"data_dir": temp_dir("hal") + "/data", "control": "", "clock_factor": 1}
    config.update(extra)
    board = unix.Board(config)
    board.control.uart = Line()
    return board


def test_control_channel_sets_inputs_answers_ping_and_counts_junk():
    board = _board()
    board.control.uart = Line(b"PING\nSET ignition 1\nSET supply_mv 11800\nSET relay 1\nSET ignition x\nhello\n\n")
    assert board.pin("ignition").value() == 1
    assert board.supply_mv() == 11800
    assert board.control.uart.written == b"PONG\n"
    assert board.control.unknown == 3  # SET on an output, a bad number, an unknown word
    board.control.uart.incoming = b"SET ignition 0\nDUTY\n"
    assert board.pin("ignition").value() == 0
    duty = board.control.uart.written.split(b"\n")[-2].split()
    assert duty[0] == b"DUTY" and len(duty) == 6 and int(duty[1]) >= 0 and int(duty[2]) >= 0
    assert int(duty[3]) == int(duty[2]) * board.clock.factor
    assert duty[4:] == [b"0", b"0"]  # never slept (doze) yet


def test_output_pins_report_changes_only():
    board = _board()
    relay = board.pin("relay")
    relay.value(1)
    relay.value(1)
    relay.value(0)
    board.pin("buzzer").value(1)
    run(board.modem_power(1, 1))
    assert board.control.uart.written == b"PIN relay 1\nPIN relay 0\nPIN buzzer 1\nPIN modem_power 1\n"
    assert relay.value() == 0


def test_modem_power_up_holds_the_key_without_stopping_the_other_tasks():
    # The power-key press (1.1 s on a SIM800) is awaited: a task deciding badges keeps running meanwhile.
    board = _board(clock_factor=10)
    ticks = []

    async def badge_task():
        for _ in range(20):
            ticks.append(board.clock.ticks_ms())
            await sleep_ms(2)

    async def main():
        other = asyncio.create_task(badge_task())
        start = board.clock.ticks_ms()
        await board.modem_power(1, 1100)
        held = board.clock.ticks_ms() - start
        await other
        return start, held

    start, held = run(main())
    assert held >= 1000  # box time: 110 real ms at factor 10
    assert len([t for t in ticks if start <= t < start + held]) >= 5
    assert board.pin("modem_power").value() == 1
    run(board.modem_power(0))
    assert board.pin("modem_power").value() == 0 and board.control.uart.written.endswith(b"PIN modem_power 0\n")


def test_announce_boot_and_data_dir():
    board = _board()
    board.announce("1.2.3")
    assert board.control.uart.written == b"BOOT 1.2.3\n"
    board.fs.mkdir("j")
    assert board.fs.exists("j") and board.fs.listdir("") == ["j"]
    assert board.uart("gps") is None  # no path configured: no line
    assert board.reset_cause() == unix.PWRON_RESET


def test_watchdog_marker_gives_the_reset_cause_once():
    board = _board()
    f = board.fs.open(".wdt", "wb")
    f.write(b"1")
    f.close()
    again = unix.Board(board.config)
    assert again.reset_cause() == unix.WDT_RESET
    assert unix.Board(board.config).reset_cause() == unix.PWRON_RESET


def test_fast_clock_scales_ticks_and_starts_with_unknown_time():
    clock = unix.FastClock(3600)
    assert clock.time() == 0
    a = clock.ticks_ms()
    unix._sleep_ms_blocking(20)
    b = clock.ticks_ms()
    assert b - a >= 20 * 3600
    clock.set_time(1750000000)
    t = clock.time()
    assert 1750000000 <= t < 1750000000 + 3600
    unix._sleep_ms_blocking(10)
    assert clock.time() >= t + 30  # 10 ms real = 36 s simulated
    assert unix.FastClock(0).factor == 1 and unix.FastClock("x").factor == 1


def test_config_path_and_loading():
    assert unix.config_path(["main.py", "--config", "/x/c.json"]) == "/x/c.json"
    assert unix.config_path(["main.py"]) == "config.json"
    root = temp_dir("cfg")
    path = root + "/config.json"
    with open(path, "w") as f:
        f.write('{"box_id": 4, "clock_factor": 60}')
    assert hal.load_config(path) == {"box_id": 4, "clock_factor": 60}
    assert hal.load_config(root + "/missing.json") == {}
    with open(path, "w") as f:
        f.write("[1, 2")
    assert hal.load_config(path) == {}


def test_pty_uart_is_raw_and_never_blocks():
    if not hasattr(os, "openpty"):
        return  # MicroPython cannot make a pty; hil_tests/test_firmware_boot.py covers it there
    import tty

    master, slave = os.openpty()
    try:
        tty.setraw(slave)  # the bench's end is raw already
        os.write(master, b"$GPRMC,early\r\nhalf")  # sent before the box opened the line: kept
        uart = unix.PtyUart(os.ttyname(slave))
        assert uart.readline() == b"$GPRMC,early\r\n"
        assert uart.readline() is None  # "half" has no end yet: nothing, and no blocking
        assert uart.read(2) == b"ha" and uart.read(10) == b"lf" and uart.read(5) is None
        assert uart.any() == 0
        uart.close()
    finally:
        os.close(master)
        os.close(slave)
    master, slave = os.openpty()  # a line left cooked: opening it makes it raw
    try:
        uart = unix.PtyUart(os.ttyname(slave))
        os.write(master, b"\x00\x11\x13\x03\x04\r\n")  # no XON/XOFF, ^C, ^D, CR translation
        assert uart.read(10) == b"\x00\x11\x13\x03\x04\r\n"
        uart.write(b"AT\r\n")
        assert os.read(master, 10) == b"AT\r\n"  # no output processing either
        uart.close()
    finally:
        os.close(master)
        os.close(slave)


def test_watchdog_kills_a_hung_process_and_the_next_boot_knows():
    if not hasattr(os, "openpty"):
        return
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    mp = os.path.join(root, ".venv", "bin", "micropython")
    if not os.path.exists(mp):
        return
    data = temp_dir("wdt") + "/data"
    script = ("import sys\nsys.path.insert(0, %r)\nfrom hal import unix\nimport time\n"
              "b = unix.Board({'data_dir': %r})\nb.watchdog(300)\ntime.sleep(5)\nprint('alive')\n"
              % (os.path.join(root, "firmware"), data))
    proc = subprocess.run([mp, "-c", script], capture_output=True, timeout=20)
    assert proc.returncode != 0 and b"alive" not in proc.stdout, proc
    assert unix.Board({"data_dir": data}).reset_cause() == unix.WDT_RESET
    assert sys is not None


class Chunks:
    """A raw UART: hands out the given chunks one readinto() at a time, records writes (0 = busy)."""

    def __init__(self, chunks, accept=(5, 0, 100)):
        self.chunks = list(chunks)
        self.accept = list(accept)
        self.written = b""

    def readinto(self, buf):
        if not self.chunks:
            return None
        data = self.chunks.pop(0)
        buf[:len(data)] = data
        return len(data)

    def write(self, data):
        n = min(len(data), self.accept.pop(0) if self.accept else len(data))
        self.written += bytes(data[:n])
        return n


def test_line_stream_hands_out_whole_lines_only():
    from hal.stream import LineStream

    s = LineStream(Chunks([b"$GPGGA,12", b"3*4", b"5\r\n$GPR", b"MC\r\n"]))
    assert s.readline() is None
    assert s.readline() is None
    assert s.readline() == b"$GPGGA,123*45\r\n"
    assert s.readline() == b"$GPRMC\r\n"
    assert s.read(4) is None and s.any() == 0


def test_line_stream_leaves_a_backlog_in_the_uart_and_hands_out_every_line_in_order():
    from hal.stream import LineStream

    lines = [b"$GPRMC,%06d,A*00\r\n" % i for i in range(300)]
    raw = b"".join(lines)
    chunks = Chunks([raw[i:i + 256] for i in range(0, len(raw), 256)])
    s = LineStream(chunks)
    got = [s.readline() for _ in range(len(lines))]
    assert got == lines and s.overflows == 0
    assert len(chunks.chunks) == 0 and s.readline() is None
    # a line held is handed out without reading more: the rest waits in the UART
    chunks = Chunks([b"$A\n$B\n$C\n", b"$D\n"])
    s = LineStream(chunks)
    assert s.readline() == b"$A\n" and s.readline() == b"$B\n" and len(chunks.chunks) == 1


def test_line_stream_holds_at_most_its_capacity_keeping_the_newest_bytes():
    from hal.stream import LineStream

    s = LineStream(Chunks([bytes([65 + i % 26]) * 200 for i in range(20)]), capacity=1000)
    for _ in range(20):
        s.any()  # polled, never read
    assert s.overflows > 0 and s.any() <= 1000
    held = s.read()
    assert held.endswith(b"T" * 200) and len(held) <= 1000  # the 20th chunk is the newest
    s = LineStream(Chunks([b"0123456789"]))
    assert s.read(4) == b"0123" and s.read(4) == b"4567" and s.read() == b"89" and s.read() is None


def test_line_stream_writes_everything_through_a_busy_uart():
    from hal.stream import LineStream

    raw = Chunks([], accept=(5, 0, 0, 100))
    assert LineStream(raw).write(b"AT+CIPSEND=12\r") == 14
    assert raw.written == b"AT+CIPSEND=12\r"
    stuck = Chunks([], accept=[0] * 2000)
    assert LineStream(stuck).write(b"AT\r") == 0  # a peer that never reads does not hang the box
