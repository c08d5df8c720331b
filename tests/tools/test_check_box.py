"""tools/check_box's verdicts against a real server database; the box side is a scripted fake that records
what the tool asked it. The same checks run against the real firmware in hil_tests/test_flash_emulated_box.py."""

import io

import pytest

pytest.importorskip("server.queries.boxes")

from server.db import connect  # noqa: E402
from server.migrations import apply  # noqa: E402
from server.queries import boxes, org, positions  # noqa: E402
from tools import check_box  # noqa: E402


class ScriptedBox:
    """Answers like a box would; `sync` is what its trip-end sync brings to the server (None: no sync)."""

    automatic = True

    def __init__(self, db, box_id, version="0.1.0", feedback=(1,), sync=None, relay_moves=True):
        self.db = db
        self.box_id = box_id
        self.version = version
        self.feedback_script = list(feedback)
        self.sync = sync
        self.relay_moves = relay_moves
        self.asked = []

    def mark(self):
        return len(self.asked)

    def boot_version(self, timeout):
        self.asked.append("boot")
        return self.version

    def relay_blocked(self, timeout):
        self.asked.append("relay_blocked")
        return True

    def feedback(self, since, timeout):
        self.asked.append("feedback")
        return self.feedback_script.pop(0) if self.feedback_script else 0

    def relay_changed_to(self, value, since, timeout):
        self.asked.append("relay->%d" % value)
        if value == 1 and self.sync is not None:
            counter = (boxes.get(self.db, self.box_id)["last_counter"] or 0) + 1
            assert boxes.accept_counter(self.db, self.box_id, counter)
            boxes.update_health(self.db, self.box_id, self.sync, 1700000000)
        return self.relay_moves


@pytest.fixture
def server(tmp_path):
    path = str(tmp_path / "server.sqlite")
    db = connect(path)
    apply(db)
    department = org.ensure_department(db, "DDT", "Direction départementale des territoires")
    positions.track_at_any_hour(db, department)
    pool = org.ensure_pool(db, "Pool DDT", department, on_the_spot=True)
    vehicle = org.upsert_vehicle(db, "DW-757-FM", "Citroën C3", pool, department, 12, 25000)
    boxes.register(db, 1, vehicle, "00" * 16)
    view = check_box.ServerView(path)
    yield db, view
    view.close()
    db.conn.close()


def run(view, box, **kwargs):
    out = io.StringIO()
    taps = []
    report = check_box.run_checks(1, view, box, taps.append, out=out, expected="0.1.0", badge_timeout=2,
                                  sync_timeout=1, poll_s=0.05, **kwargs)
    return report, out.getvalue(), taps


def verdicts(report):
    return {name: status for status, name, _detail in report.items}


def test_a_good_box_passes_every_item(server):
    db, view = server
    box = ScriptedBox(db, 1, sync={"fw": "0.1.0", "csq": 18, "gps": 1, "mv": 12600})
    report, output, taps = run(view, box)
    assert set(verdicts(report).values()) == {check_box.OK}
    assert len(verdicts(report)) == 8
    assert "BON POUR LE SERVICE" in output and "(DW-757-FM)" in output and "-77 dBm" in output
    assert box.asked == ["boot", "relay_blocked", "feedback", "relay->0", "relay->1"]
    assert len(taps) == 2


def test_no_sync_fails_sync_modem_gps_and_version(server):
    db, view = server
    report, output, _ = run(view, ScriptedBox(db, 1, sync=None))
    failed = {name for status, name, _ in report.items if status == check_box.FAIL}
    assert failed == {"Synchronisation serveur", "Modem (réseau et signal)", "GPS", "Version du firmware"}
    assert "À REPRENDRE (4" in output


def test_weak_signal_no_gps_and_wrong_version_are_named(server):
    db, view = server
    report, output, _ = run(view, ScriptedBox(db, 1, version="0.0.9",
                                              sync={"fw": "0.0.9", "csq": 6, "gps": 0}))
    result = verdicts(report)
    assert result["Démarrage du firmware"] == check_box.FAIL
    assert result["Modem (réseau et signal)"] == check_box.FAIL and "CSQ 6/31" in output
    assert result["GPS"] == check_box.FAIL and "pas de position" in output
    assert result["Synchronisation serveur"] == check_box.OK


def test_a_box_that_is_not_ready_is_asked_again_until_granted(server):
    db, view = server
    box = ScriptedBox(db, 1, feedback=(4, 3, 1), sync={"fw": "0.1.0", "csq": 20, "gps": 1})
    report, _output, taps = run(view, box)
    assert verdicts(report)["Relais (déblocage / reblocage)"] == check_box.OK
    assert len(taps) == 4  # three presentations until granted, then the badge-out


def test_a_denied_badge_fails_the_relay_item_but_counts_as_a_read(server):
    db, view = server
    report, output, _ = run(view, ScriptedBox(db, 1, feedback=(3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3)))
    result = verdicts(report)
    assert result["Lecture de badge"] == check_box.OK
    assert result["Relais (déblocage / reblocage)"] == check_box.FAIL and "refusé" in output


def test_technician_answers_drive_the_real_box_checks(server):
    db, view = server
    answers = iter(["o", "", "1", "o", "", "o"])
    asked = []

    def ask(question):
        asked.append(question)
        return next(answers)

    observer = check_box.TechnicianObserver(ask)
    out = io.StringIO()
    report = check_box.run_checks(1, view, observer, lambda text: ask(text), out=out, expected="0.1.0",
                                  badge_timeout=1, sync_timeout=0.2, poll_s=0.05)
    result = verdicts(report)
    assert result["Démarrage du firmware"] == check_box.SKIP
    assert result["Relais au repos"] == check_box.OK
    assert result["Relais (déblocage / reblocage)"] == check_box.OK
    assert result["Synchronisation serveur"] == check_box.FAIL  # nothing synced in this test
    assert any("bips" in q for q in asked)


def test_cli_refuses_an_unknown_box_and_a_missing_database(server, tmp_path):
    _db, view = server
    out = io.StringIO()
    assert check_box.main(["--box-id", "99", "--server-db", view.db.conn.execute("PRAGMA database_list")
                           .fetchone()[2]], out=out) == check_box.EXIT_BAD_INPUT
    assert "inconnu" in out.getvalue()
    out = io.StringIO()
    assert check_box.main(["--box-id", "1", "--server-db", str(tmp_path / "none.sqlite")], out=out) == 2


def test_real_box_boot_is_read_on_its_usb_serial_line(server):
    import os
    import pty
    import select
    import threading

    db, view = server
    master, slave = pty.openpty()
    received = []

    def console():
        data = b""
        while b"\x04" not in data:
            ready, _, _ = select.select([master], [], [], 5)
            if not ready:
                return
            data += os.read(master, 64)
        received.append(data)
        os.write(master, b"MPY: soft reboot\r\nBOOT 0.1.0\r\n")

    thread = threading.Thread(target=console, daemon=True)
    thread.start()
    answers = iter(["o", "", "0", ""])
    observer = check_box.TechnicianObserver(lambda q: next(answers), port=os.ttyname(slave), reset="soft")
    out = io.StringIO()
    try:
        report = check_box.run_checks(1, view, observer, lambda text: observer.ask(text), out=out, expected="0.1.0",
                                      boot_timeout=3, badge_timeout=0.1, sync_timeout=0.1, poll_s=0.05)
    finally:
        thread.join(5)
        os.close(master)
        os.close(slave)
    assert verdicts(report)["Démarrage du firmware"] == check_box.OK and "version 0.1.0" in out.getvalue()
    assert verdicts(report)["Lecture de badge"] == check_box.FAIL  # the technician heard nothing
    assert received and received[0].endswith(b"\x03\x03\x04")
