"""Run the real firmware (`micropython main.py --config PATH`) from the mpy-cross build.

`romfs=True` runs the same build from its ROMFS image instead (build/firmware.romfs, written by
`make firmware`): `micropython tools/romfs_boot.py IMAGE --config PATH` mounts it at /rom and runs
/rom/main.py, with the box's directory as working directory (docs/firmware.md, "Running from ROMFS").

`interpreter="frozen32"` runs the firmware frozen into the 32-bit Unix port that `make frozen` builds
(build/frozen32/micropython, the modules in its image as on an ESP32): `-m main` from the box's directory.
`board="esp32"` runs the firmware through hal/esp32.py on the ESP32 stand-in (hil_tests/esp32_bench, `run.py`):
its UARTs are the same pty links, its pins the same control line.

Each box gets a directory with its generated `config.json` and its data dir (the Unix HAL's
filesystem root, which survives restarts: that is what a power cut test needs). The process's
stdout/stderr go to `firmware.log` in that directory so a failing test can show them.
"""

import atexit
import json
import os
import shutil
import signal
import tempfile
import subprocess
import time

from tools import build_firmware

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(ROOT, "build", "firmware")
SOURCE = os.path.join(ROOT, "firmware")
DEFAULT_HEAP = "512K"
ROMFS_BOOT = os.path.join(ROOT, "tools", "romfs_boot.py")
FROZEN32 = os.path.join(ROOT, "build", "frozen32", "micropython")
ESP32_RUN = os.path.join(ROOT, "hil_tests", "esp32_bench", "run.py")
INTERPRETERS = ("mpy64", "frozen32")  # the .venv's 64-bit micropython on the .mpy build; `make frozen`'s image
BOARDS = ("unix", "esp32")  # hal/unix.py; hal/esp32.py on the bench's machine/esp32 stand-in


def micropython_binary():
    candidate = os.path.join(ROOT, ".venv", "bin", "micropython")
    return candidate if os.path.exists(candidate) else "micropython"


_snapshot = []


def firmware_dir():
    """A snapshot of build/firmware (the .mpy build, and its image build/firmware.romfs) taken once per bench
    process, so that a `make firmware` running meanwhile cannot pull files from under a box; built first when
    stale (tools.build_firmware.ensure_built). AUTOPARTAGE_FIRMWARE points elsewhere if set."""
    chosen = os.environ.get("AUTOPARTAGE_FIRMWARE")
    if chosen:
        return chosen
    if not _snapshot:
        build_firmware.ensure_built()
        if not os.path.exists(os.path.join(BUILD, "main.py")):
            return BUILD
        target = tempfile.mkdtemp(prefix="autopartage-fw-")
        try:
            shutil.copytree(BUILD, os.path.join(target, "firmware"))
            if os.path.exists(BUILD + ".romfs"):
                shutil.copyfile(BUILD + ".romfs", os.path.join(target, "firmware.romfs"))
        except (OSError, shutil.Error):
            shutil.rmtree(target, ignore_errors=True)
            return BUILD
        atexit.register(shutil.rmtree, target, True)
        _snapshot.append(os.path.join(target, "firmware"))
    return _snapshot[0]


def romfs_image(firmware=None):
    """The ROMFS image of a firmware directory: `<dir>.romfs` next to it (build/firmware.romfs, or its
    copy in the snapshot)."""
    return (firmware or firmware_dir()).rstrip("/") + ".romfs"


def box_config(box_id, key_hex, vehicle, server, uarts, control, data_dir, clock_factor=1, reader="pn532", **extra):
    """The box's config.json as docs/architecture.md fixes it (Unix port keys included)."""
    config = {
        "box_id": box_id,
        "key": key_hex,
        "vehicle": vehicle,
        "server_host": server[0],
        "server_port": server[1],
        "server_path": "/api/v1/sync",
        "apn": "bench",
        "board": "unix",
        "reader": reader,
        "modem": "auto",  # the family read from the modem (AT+CGMM), as a box in the field does
        "uarts": dict(uarts),
        "control": control,
        "data_dir": data_dir,
        "clock_factor": clock_factor,
    }
    config.update(extra)
    return config


class FirmwareProcess:
    """One box's firmware process; restartable (power cut = kill + start again on the same data dir)."""

    def __init__(self, directory, config, heap=DEFAULT_HEAP, firmware=None, romfs=False, interpreter="mpy64",
                 board="unix"):
        if interpreter not in INTERPRETERS or board not in BOARDS:
            raise ValueError("interpreter %r / board %r: expected one of %s / %s"
                             % (interpreter, board, INTERPRETERS, BOARDS))
        self.directory = directory
        self.config = config
        self.heap = heap
        self.firmware = firmware or firmware_dir()
        self.romfs = romfs  # run from the ROMFS image of the build (tools/romfs_boot.py); settable before start()
        self.interpreter = interpreter
        self.board = board
        self.config_path = os.path.join(directory, "config.json")
        self.log_path = os.path.join(directory, "firmware.log")
        self.proc = None
        self.starts = 0
        os.makedirs(config["data_dir"], exist_ok=True)
        self.write_config()

    def write_config(self):
        with open(self.config_path, "w") as f:
            json.dump(self.config, f, indent=1, sort_keys=True)

    def command(self):
        """(argv after the interpreter and its -X options, working directory) for this box."""
        config = os.path.abspath(self.config_path)
        if self.romfs:
            image = os.path.abspath(romfs_image(self.firmware))
            if not os.path.exists(image):
                raise FileNotFoundError("no ROMFS image %s: run `make firmware`" % image)
            # The box's directory as cwd: no firmware module there, every import comes from /rom.
            return [ROMFS_BOOT, image, "--config", config], self.directory
        if self.interpreter == "frozen32":
            # The box's directory as cwd: no firmware file there, every import is frozen in the image.
            if self.board == "esp32":
                return [ESP32_RUN, "--config", config], self.directory
            return ["-m", "main", "--config", config], self.directory
        if not os.path.exists(os.path.join(self.firmware, "main.py")):
            raise FileNotFoundError("no firmware in %s: run `make firmware`" % self.firmware)
        if self.board == "esp32":
            return [ESP32_RUN, "--config", config, "--firmware", os.path.abspath(self.firmware)], self.firmware
        return ["main.py", "--config", self.config_path], self.firmware

    def binary(self):
        if self.interpreter == "frozen32":
            if not os.path.exists(FROZEN32):
                raise FileNotFoundError("no %s: run `make frozen`" % FROZEN32)
            return FROZEN32
        return micropython_binary()

    def start(self):
        args, cwd = self.command()
        cmd = [self.binary(), "-X", "heapsize=" + self.heap] + args
        self.starts += 1
        log = open(self.log_path, "ab")
        log.write(b"--- start %d\n" % self.starts)
        log.flush()
        self.proc = subprocess.Popen(cmd, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        log.close()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def returncode(self):
        return None if self.proc is None else self.proc.poll()

    def kill(self):
        """A power cut: SIGKILL, no chance to flush anything."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def stop(self, timeout=2.0):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        elif self.proc is not None:
            self.proc.wait()

    def restart(self):
        self.kill()
        return self.start()

    def log(self, tail=4000):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read()
        except OSError:
            return ""
        return data[-tail:].decode("utf-8", "replace")

    def wait_exit(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                return self.returncode()
            time.sleep(0.05)
        return None
