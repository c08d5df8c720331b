"""The bench's own plumbing: pty links carry bytes both ways, the control client reads pins and pulses."""

import time

import serial

from hil_tests.harness.control import ControlClient
from hil_tests.harness.ptys import PtyLink


def test_link_carries_bytes_both_ways_and_survives_a_closed_end():
    with PtyLink("t") as link:
        a = serial.Serial(link.a, timeout=1)
        b = serial.Serial(link.b, timeout=1)
        payload = bytes(range(256)) * 40
        a.write(payload)
        got = b""
        while len(got) < len(payload):
            chunk = b.read(len(payload) - len(got))
            assert chunk, "link stalled after %d bytes" % len(got)
            got += chunk
        assert got == payload  # raw: no CR/LF translation, no echo
        b.write(b"\x00\x03\x11\x13back")
        assert a.read(8) == b"\x00\x03\x11\x13back"
        # The firmware being killed closes its end: the bench end keeps working once it reopens.
        a.close()
        b.write(b"lost while nobody listens\n")
        time.sleep(0.05)
        a = serial.Serial(link.a, timeout=1)
        b.write(b"after\n")
        assert a.readline() == b"after\n"
        a.close()
        b.close()


def test_link_cut_drops_bytes():
    with PtyLink("c") as link:
        a = serial.Serial(link.a, timeout=0.3)
        b = serial.Serial(link.b, timeout=0.3)
        link.cut()
        a.write(b"dropped")
        assert b.read(7) == b""
        link.cut(False)
        a.write(b"kept")
        assert b.read(4) == b"kept"
        a.close()
        b.close()


def test_control_client_tracks_pins_and_counts_buzzer_pulses():
    with PtyLink("ctl") as link:
        box = serial.Serial(link.a, timeout=1)
        client = ControlClient(link.b, name="fake")
        try:
            since = client.mark()
            box.write(b"BOOT 0.1.0\nPIN relay 1\n")
            assert client.wait_boot(2, since).value == "0.1.0"
            assert client.wait_pin("relay", 1, 2, since) is not None
            since = client.mark()
            for _ in range(3):
                box.write(b"PIN buzzer 1\n")
                time.sleep(0.05)
                box.write(b"PIN buzzer 0\n")
                time.sleep(0.05)
            assert client.buzzer_pulses(since, gap_s=0.3, timeout=2) == 3
            assert client.buzzer_pulses(client.mark(), gap_s=0.3, timeout=0.3) == 0
            client.set_ignition(1)
            assert box.readline() == b"SET ignition 1\n"
            box.write(b"PONG\n")  # answered before asked: ping only counts a PONG after its PING
            time.sleep(0.1)
            assert client.ping(timeout=0.3) is False
            assert box.readline() == b"PING\n"
            assert client.pin("relay") == 1
        finally:
            client.close()
            box.close()
