"""tools/flash without hardware: the exact command lines (dry run), the local checks, and esptool's own
offline commands on a generated ESP32 image (image-info reads its header and checksum; a write to a port
that does not exist proves esptool accepts our exact arguments and stops only at opening the port)."""

import hashlib
import io
import os
import shlex
import subprocess

import pytest
from esptool.bin_image import ESP32FirmwareImage, ImageSegment

from tools import flash, provision

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLEET = os.path.join(ROOT, "tools", "fleet_example.csv")
SETTINGS = {"server_host": "autopartage.test", "server_port": 80, "server_path": "/api/v1/sync", "apn": "internet",
            "board": "tcall_sim800"}


def make_image(path):
    """A small but well-formed ESP32 app image, built with esptool's own image classes."""
    image = ESP32FirmwareImage()
    image.entrypoint = 0x40080000
    image.flash_mode = 2  # DIO, as MicroPython's ESP32_GENERIC
    image.flash_size_freq = 0x20  # 4 MB, 40 MHz
    segments = [ImageSegment(0x3FFB0000, bytes(range(256))), ImageSegment(0x40080000, b"\x90" * 2048)]
    for segment, name in zip(segments, (".dram0.data", ".iram0.text")):
        segment.name = name
    image.segments = segments
    image.save(str(path))
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def provisioned(tmp_path, count=2, board="tcall_sim800"):
    cars = provision.read_fleet(FLEET)[:count]
    settings = dict(SETTINGS, board=board)
    provision.provision(cars, str(tmp_path / "out"), settings, None, out=io.StringIO())
    return cars, str(tmp_path / "out")


def build_dir(tmp_path):
    path = tmp_path / "build"
    for item in flash.FIRMWARE_ITEMS:
        if item.endswith(".py"):
            (path / item).parent.mkdir(parents=True, exist_ok=True)
            (path / item).write_text("print('boot')\n")
        else:
            (path / item).mkdir(parents=True, exist_ok=True)
            (path / item / "__init__.mpy").write_bytes(b"M\x06")
    return str(path)


def run_main(argv):
    out = io.StringIO()
    prompts = []
    status = flash.main(argv, out=out, prompt=prompts.append)
    return status, out.getvalue(), prompts


def test_dry_run_prints_the_exact_commands_for_each_box_of_the_csv(tmp_path):
    image = tmp_path / "ESP32_GENERIC.bin"
    digest = make_image(image)
    cars, out_dir = provisioned(tmp_path)
    build = build_dir(tmp_path)
    status, output, prompts = run_main(["--port", "/dev/ttyUSB0", "--fleet", FLEET, "--configs", out_dir,
                                        "--plate", cars[0]["plate"], "--plate", cars[1]["plate"], "--image",
                                        str(image), "--image-sha256", digest, "--build", build, "--dry-run"])
    assert status == flash.EXIT_OK
    assert prompts == []
    esptool = flash.tool_path("esptool")
    mpremote = flash.tool_path("mpremote")
    commands = [line for line in output.splitlines() if line and not line.startswith(("#", "==", "Image"))]
    expected = []
    for car in cars:
        config = provision.config_path(out_dir, car["plate"])
        connect = [mpremote, "connect", "/dev/ttyUSB0"]
        expected += [
            shlex.join([esptool, "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud", "460800", "erase-flash"]),
            shlex.join([esptool, "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud", "460800", "write-flash",
                        "0x1000", str(image)]),
            shlex.join(connect + ["resume", "exec", 'import sys; print("IMPL=" + sys.implementation.name)']),
            "(cd %s && %s)" % (build, shlex.join(connect + ["resume", "fs", "cp", "-r", "hal", "drivers", "app",
                                                             "protocol", "main.py", ":./"])),
            shlex.join(connect + ["resume", "fs", "cp", config, ":./config.json"]),
            shlex.join(connect + ["resume", "exec", 'from app import version; print("VERSION=" + version.VERSION)']),
            "<impulsion RTS sur EN (comme esptool --after hard-reset) sur /dev/ttyUSB0, puis lecture de la ligne "
            "BOOT <version> à 115200 bauds>",
        ]
    assert commands == expected
    assert "Boîtier 2/2 : %s" % cars[1]["plate"] in output


def test_a_wrong_image_hash_stops_before_touching_any_board(tmp_path):
    image = tmp_path / "ESP32_GENERIC.bin"
    make_image(image)
    _cars, out_dir = provisioned(tmp_path, 1)
    config = provision.config_path(out_dir, provision.read_fleet(FLEET)[0]["plate"])
    status, output, _ = run_main(["--port", "/tmp/no-such-port", "--config", config, "--image", str(image),
                                  "--image-sha256", "00" * 32, "--build", build_dir(tmp_path)])
    assert status == flash.EXIT_BAD_INPUT
    assert "SHA-256" in output and "effacement" not in output


def test_esptool_reads_a_generated_image_offline_and_refuses_junk(tmp_path):
    good = tmp_path / "good.bin"
    digest = make_image(good)
    size, actual = flash.check_image(str(good), digest.upper())
    assert size == os.path.getsize(good) and actual == digest

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x2f" + bytes(4095))
    error = pytest.raises(flash.FlashError, flash.check_image, str(junk), hashlib.sha256(junk.read_bytes()).hexdigest())
    assert error.value.code == flash.EXIT_BAD_INPUT and "esptool" in str(error.value)

    with pytest.raises(flash.FlashError, match="taille"):
        flash.check_image(str(good), digest, expected_size=size + 1)


def test_merge_bin_places_the_image_at_the_esp32_offset(tmp_path):
    # The same offline esptool that the technician uses: a merged file for 0x1000 must carry our image there.
    image = tmp_path / "app.bin"
    make_image(image)
    merged = tmp_path / "merged.bin"
    result = subprocess.run([flash.tool_path("esptool"), "--chip", "esp32", "merge-bin", "-o", str(merged),
                             "0x%x" % flash.IMAGE_OFFSET, str(image)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    data = merged.read_bytes()
    assert data[flash.IMAGE_OFFSET:] == image.read_bytes()
    assert data[:flash.IMAGE_OFFSET] == b"\xff" * flash.IMAGE_OFFSET


def test_esptool_accepts_our_command_lines_and_fails_only_at_the_port(tmp_path):
    image = tmp_path / "ESP32_GENERIC.bin"
    make_image(image)
    plan = flash.Plan("/tmp/no-such-port-autopartage", "config.json", "build", image=str(image))
    for label, argv, _cwd, _kind in plan.steps[:2]:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        output = result.stdout + result.stderr
        assert result.returncode != 0, label
        assert "Could not open /tmp/no-such-port-autopartage" in output, output


def test_a_failed_esptool_step_is_reported_with_exit_code_1(tmp_path):
    image = tmp_path / "ESP32_GENERIC.bin"
    digest = make_image(image)
    _cars, out_dir = provisioned(tmp_path, 1)
    config = provision.config_path(out_dir, provision.read_fleet(FLEET)[0]["plate"])
    status, output, _ = run_main(["--port", "/tmp/no-such-port-autopartage", "--config", config, "--image",
                                  str(image), "--image-sha256", digest, "--build", build_dir(tmp_path)])
    assert status == flash.EXIT_STEP_FAILED
    assert "[1/7] effacement de la flash" in output and "ÉCHEC" in output and "Bilan" in output


def test_a_bench_config_is_refused_for_a_real_box(tmp_path):
    cars, out_dir = provisioned(tmp_path, 1, board="unix")
    config = provision.config_path(out_dir, cars[0]["plate"])
    status, output, _ = run_main(["--port", "/dev/ttyUSB0", "--config", config, "--skip-esptool", "--dry-run",
                                  "--build", build_dir(tmp_path)])
    assert status == flash.EXIT_BAD_INPUT and "unix" in output
    status, _, _ = run_main(["--port", "/dev/ttyUSB0", "--config", config, "--skip-esptool", "--dry-run",
                             "--allow-unix-config", "--build", build_dir(tmp_path)])
    assert status == flash.EXIT_OK


def test_missing_build_or_config_is_refused(tmp_path):
    cars, out_dir = provisioned(tmp_path, 1)
    config = provision.config_path(out_dir, cars[0]["plate"])
    status, output, _ = run_main(["--port", "p", "--config", config, "--skip-esptool", "--build",
                                  str(tmp_path / "nothing")])
    assert status == flash.EXIT_BAD_INPUT and "make firmware" in output
    status, output, _ = run_main(["--port", "p", "--fleet", FLEET, "--configs", str(tmp_path / "empty"),
                                  "--skip-esptool", "--build", build_dir(tmp_path)])
    assert status == flash.EXIT_BAD_INPUT and "illisible" in output


def test_image_and_hash_are_required_unless_esptool_is_skipped(capsys):
    with pytest.raises(SystemExit) as exc:
        flash.main(["--port", "p", "--config", "c.json", "--image", "x.bin"])
    assert exc.value.code == 2
    assert "--image-sha256" in capsys.readouterr().err


def test_help_lists_the_options():
    result = subprocess.run([os.path.join(ROOT, ".venv", "bin", "python"), "-m", "tools.flash", "--help"],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for option in ("--dry-run", "--image-sha256", "--fleet", "--skip-esptool"):
        assert option in result.stdout


class FakeConsole:
    """The USB console of a board on a pty: records what the tool sends, answers a soft reset like an ESP32
    (ROM chatter, MicroPython banner, then the firmware's BOOT line)."""

    def __init__(self, answer=b"BOOT 0.1.0\r\n"):
        import pty
        import threading

        self.master, slave = pty.openpty()
        self.port = os.ttyname(slave)
        self.slave = slave
        self.answer = answer
        self.received = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        import select

        while b"\x04" not in self.received:
            ready, _, _ = select.select([self.master], [], [], 5)
            if not ready:
                return
            self.received += os.read(self.master, 64)
        os.write(self.master, b"MPY: soft reboot\r\nets Jun  8 2016 00:22:57\r\nBOOTING garbage\r\n" + self.answer)

    def close(self):
        self.thread.join(5)
        os.close(self.master)
        os.close(self.slave)


def test_soft_reset_reads_the_boot_line_of_the_running_firmware():
    console = FakeConsole()
    try:
        assert flash.reset_and_read_boot(console.port, "soft", 5, io.StringIO()) == "0.1.0"
    finally:
        console.close()
    assert console.received.endswith(b"\r\x03\x03\x04")


def test_no_boot_line_after_the_reset_is_a_failed_step():
    console = FakeConsole(answer=b"Traceback (most recent call last):\r\nImportError: no module named 'app'\r\n")
    try:
        with pytest.raises(flash.FlashError, match="aucune ligne BOOT"):
            flash.reset_and_read_boot(console.port, "soft", 1.5, io.StringIO())
    finally:
        console.close()


def test_a_configuration_that_belongs_to_another_car_is_refused(tmp_path):
    cars, out_dir = provisioned(tmp_path, 2)
    first = provision.config_path(out_dir, cars[0]["plate"])
    second = provision.config_path(out_dir, cars[1]["plate"])
    os.replace(first, second)  # a copy mistake: car 2's folder now holds car 1's key
    status, output, _ = run_main(["--port", "p", "--fleet", FLEET, "--configs", out_dir, "--plate",
                                  cars[1]["plate"], "--skip-esptool", "--dry-run", "--build", build_dir(tmp_path)])
    assert status == flash.EXIT_BAD_INPUT
    assert "celle de %s" % cars[0]["plate"] in output


def test_a_frozen_image_is_written_and_only_the_config_is_copied(tmp_path):
    image = tmp_path / "ESP32_GENERIC-autopartage.bin"
    digest = make_image(image)
    cars, out_dir = provisioned(tmp_path, count=1)
    config = provision.config_path(out_dir, cars[0]["plate"])
    missing_build = str(tmp_path / "no-build")  # a frozen image needs no build/firmware
    status, output, _ = run_main(["--port", "/dev/ttyUSB0", "--config", config, "--image", str(image),
                                  "--image-sha256", digest, "--frozen", "--build", missing_build, "--dry-run"])
    assert status == flash.EXIT_OK, output
    commands = [line for line in output.splitlines() if line and not line.startswith(("#", "==", "Image"))]
    connect = [flash.tool_path("mpremote"), "connect", "/dev/ttyUSB0"]
    assert shlex.join([flash.tool_path("esptool"), "--chip", "esp32", "--port", "/dev/ttyUSB0", "--baud", "460800",
                       "write-flash", "0x1000", str(image)]) in commands
    assert not [c for c in commands if "fs cp -r" in c], "nothing of build/firmware is copied"
    assert shlex.join(connect + ["resume", "fs", "cp", config, ":./config.json"]) in commands
    assert shlex.join(connect + ["resume", "exec", flash.VERSION_CODE]) in commands
