"""Flashing an emulated box on the bench: the mpremote half of tools/flash for real.

The "board" is the MicroPython Unix port behind a pseudo-terminal made by socat, started in an empty
directory (the erased flash):

    socat pty,raw,echo=0,link=PATH EXEC:micropython,pty,raw,echo=0,stderr,setsid,ctty

The Unix port's REPL speaks mpremote's raw-REPL protocol (Ctrl-A, code, Ctrl-D), so `mpremote connect PATH
resume fs cp ...` copies files into the process's current directory (":./" is "/" on an ESP32) and
`mpremote ... exec` runs code there. What it does not have is a reset: `machine.reset` does not exist and a
soft reset (Ctrl-D) ends the process. The bench therefore flashes with `--reset none` and then "powers the
box up" itself: the real firmware starts from the flashed directory with the flashed config.json.
The esptool half is checked offline in tests/tools/test_flash.py (see docs/flashing.md).
"""

import filecmp
import io
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from hil_tests.harness import deps
from hil_tests.harness.firmware import BUILD, ROOT, micropython_binary
from tools import flash, provision

FLEET = os.path.join(ROOT, "tools", "fleet_example.csv")


def require_tools():
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed (apt-get install socat; `make setup` does it as root)")
    if not os.path.exists(micropython_binary()) and shutil.which("micropython") is None:
        pytest.skip("no micropython Unix port (make setup)")
    if not os.path.exists(os.path.join(BUILD, "main.py")):
        pytest.skip("no firmware build: run `make firmware`")


class EmulatedBoard:
    """A MicroPython Unix-port REPL behind a pty: what a freshly written ESP32 offers on its USB serial."""

    def __init__(self, directory):
        self.directory = directory
        self.port = os.path.join(directory, "..", os.path.basename(directory) + ".tty")
        self.port = os.path.abspath(self.port)
        self.proc = None

    def start(self, timeout=10.0):
        os.makedirs(self.directory, exist_ok=True)
        command = ["socat", "pty,raw,echo=0,link=%s" % self.port,
                   "EXEC:%s,pty,raw,echo=0,stderr,setsid,ctty" % micropython_binary()]
        # cwd: the Unix port's current directory is the box's "flash".
        self.proc = subprocess.Popen(command, cwd=self.directory, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("socat did not create %s" % self.port)
            time.sleep(0.05)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # socat and the micropython it started (same session)
            self.proc.wait(5)
        self.proc = None


def provision_one(out_dir, board="unix", server=("127.0.0.1", 9)):
    car = provision.read_fleet(FLEET)[0]
    settings = {"server_host": server[0], "server_port": server[1], "server_path": "/api/v1/sync",
                "apn": "bench", "board": board}
    assert provision.provision([car], out_dir, settings, None, out=io.StringIO()) == provision.EXIT_OK
    return car, provision.config_path(out_dir, car["plate"])


def snapshot_build(workdir):
    """A private copy of build/firmware: another `make firmware` may rebuild it while we copy."""
    target = os.path.join(workdir, "build-snapshot")
    shutil.copytree(BUILD, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def run_flash(board, config_path, build):
    out = io.StringIO()
    status = flash.main(["--port", board.port, "--config", config_path, "--skip-esptool", "--reset", "none",
                         "--allow-unix-config", "--boot-timeout", "15", "--build", build], out=out)
    return status, out.getvalue()


def same_tree(left, right):
    comparison = filecmp.dircmp(left, right)
    if comparison.left_only or comparison.diff_files or comparison.funny_files:
        return False
    _match, mismatch, errors = filecmp.cmpfiles(left, right, comparison.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(same_tree(os.path.join(left, d), os.path.join(right, d)) for d in comparison.common_dirs)


@pytest.fixture
def board(workdir):
    require_tools()
    emulated = EmulatedBoard(os.path.join(workdir, "flash"))
    emulated.start()
    yield emulated
    emulated.stop()


def test_flash_copies_the_build_and_config_and_reads_the_version_back(board, workdir):
    _car, config_path = provision_one(os.path.join(workdir, "prov"))
    build = snapshot_build(workdir)
    started = time.monotonic()
    status, output = run_flash(board, config_path, build)
    elapsed = time.monotonic() - started
    assert status == flash.EXIT_OK, output
    assert "version %s" % flash.expected_version() in output
    for item in flash.FIRMWARE_ITEMS:
        source = os.path.join(build, item)
        target = os.path.join(board.directory, item)
        if os.path.isdir(source):
            assert same_tree(source, target), item
        else:
            assert filecmp.cmp(source, target, shallow=False), item
    assert filecmp.cmp(config_path, os.path.join(board.directory, "config.json"), shallow=False)
    print("flash_emulated_box_seconds: %.2f" % elapsed)


def test_flash_reports_a_board_that_does_not_answer(workdir):
    require_tools()
    _car, config_path = provision_one(os.path.join(workdir, "prov"))
    silent = EmulatedBoard(os.path.join(workdir, "nothing"))  # never started: the port does not exist
    out = io.StringIO()
    status = flash.main(["--port", silent.port, "--config", config_path, "--skip-esptool", "--reset", "none",
                         "--allow-unix-config", "--boot-timeout", "2"], out=out)
    assert status == flash.EXIT_STEP_FAILED
    assert "ne répond pas" in out.getvalue()


def test_flashed_box_boots_from_its_flash_and_grants_a_reserved_badge(board, workdir):
    """Provision -> flash over mpremote -> power up from the flashed files: the bench sees it boot with the
    flashed version and block the starter; it syncs with its provisioned key and grants a booked badge."""
    deps.require("firmware", "modem", "reader", "server")
    from hil_tests.harness.bench import Bench
    from hil_tests.harness.seed import BADGES

    bench = Bench(os.path.join(workdir, "bench"), factor=60)
    try:
        car, config_path = provision_one(os.path.join(workdir, "prov"), server=bench.server.address)
        with open(config_path) as f:
            provisioned = json.load(f)
        box = bench.box(provisioned["box_id"], start=False, key_hex=provisioned["key"], vehicle=car["plate"])
        # A real board gets its UARTs and pins from its board profile; the Unix port needs its pty paths.
        flashed = dict(provisioned)
        for key in ("uarts", "control", "data_dir", "clock_factor"):
            flashed[key] = box.firmware.config[key]
        flash_config = os.path.join(workdir, "prov", "flash-config.json")
        provision.write_private_json(flash_config, flashed)
        status, output = run_flash(board, flash_config, snapshot_build(workdir))
        assert status == flash.EXIT_OK, output
        board.stop()  # power the board off; it boots from its flash below

        box.firmware.firmware = board.directory
        box.firmware.config_path = os.path.join(board.directory, "config.json")
        now = bench.clock.now()
        bench.fleet.reserve(box.box_id, "alice", now - 300, now + 2 * 3600)
        box.start(boot_timeout=30)
        boot = box.control.wait_boot(5, 0)
        assert boot is not None and boot.value == flash.expected_version(), bench.diagnostics()
        assert box.control.wait_pin("relay", 1, 10, 0) is not None, "relay must block the starter after boot"
        assert bench.fleet.box(provisioned["box_id"])["key_hex"] == provisioned["key"]
        # The scenario: the flashed box syncs with the key it was provisioned with (the server accepts its
        # frames), learns alice's booking and lets her start the car.
        assert bench.wait_sync(box.box_id, timeout=30), "the flashed box never synced:\n" + bench.diagnostics()
        since = box.tap(BADGES["alice"])
        assert box.feedback(since, timeout=5) == 1, bench.diagnostics()
        assert box.control.wait_pin("relay", 0, 5, since) is not None, bench.diagnostics()
    finally:
        bench.close()


def test_check_box_accepts_an_emulated_box(workdir):
    """tools/check_box against a running emulated box: the control line stands in for the technician's eyes
    and ears, the reader emulator for the technician's hand; the live server for the sync."""
    deps.require("firmware", "modem", "reader", "server")
    from hil_tests.harness.bench import Bench
    from hil_tests.harness.seed import BADGES
    from tools import check_box

    bench = Bench(os.path.join(workdir, "bench"), factor=60)
    try:
        box = bench.box(7)
        view = check_box.ServerView(bench.server.db_path)
        out = io.StringIO()
        try:
            report = check_box.run_checks(
                7, view, check_box.ControlObserver(box.control), lambda text: box.tap(BADGES["max"]), out=out,
                expected=flash.expected_version(), boot_timeout=10, badge_timeout=40, sync_timeout=60)
        finally:
            view.close()
        print(out.getvalue())
        assert report.failed() == [], out.getvalue() + bench.diagnostics()
        assert "BON POUR LE SERVICE" in out.getvalue()
    finally:
        bench.close()
