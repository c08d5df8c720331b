# The firmware through hal/esp32.py on the bench (issue 15): `micropython run.py --config PATH [--firmware DIR]`.
# This folder comes first on sys.path (the script's own), so `machine` and `esp32` are the stand-ins here
# (machine.py, esp32.py), wired to the box's ptys and control line (wiring.py) from its config.json and the
# board profile in hal/esp32.py; the firmware modules come from DIR (the .mpy build) or from the frozen image.
# Then it runs main.py exactly as the ESP32 boot does. MicroPython only.
import sys

import asyncio  # noqa: F401  (imported before `time` is swapped: its scheduler keeps real time)


def _arg(name, default=None):
    argv = sys.argv
    for i in range(len(argv) - 1):
        if argv[i] == name:
            return argv[i + 1]
    return default


firmware = _arg("--firmware")
if firmware:
    sys.path.insert(1, firmware)  # after this folder, before .frozen

import hal  # noqa: E402
import hal.fsdir  # noqa: E402,F401  (loaded with the real `time`, as everything but hal.esp32)
import hal.stream  # noqa: E402
import blockcheck  # noqa: E402
import machine  # noqa: E402
from wiring import chip  # noqa: E402

config_path = _arg("--config", "config.json")
config = hal.load_config(config_path)

# hal/esp32.py alone sees the chip's clock as `time` (chiptime.py): the rest keeps the real one, as on the
# Unix HAL where only the board's clock runs fast.
import chiptime  # noqa: E402

sys.modules["time"] = chiptime
from hal import esp32 as port  # noqa: E402

del sys.modules["time"]  # built in: the next `import time` finds the real one again

# The ESP32's littlefs root holds /data; on the bench the box's data_dir stands in for it. (vfs.VfsPosix
# mounted at /data cannot rename a file in 1.28, which the journal needs: the path is given instead.)
port.DATA = config.get("data_dir") or "data"
profile = port.PROFILES.get(config.get("board") or "tcall_sim800", port.PROFILES["tcall_sim800"])
state_dir = config_path.rsplit("/", 1)[0] if "/" in config_path else "."
chip.setup(config, state_dir, profile)


def _report(line):
    print(line)
    chip.control.send(line)


for cls in (port.Board, hal.stream.LineStream, machine.Pin):
    blockcheck.install(cls, _report)
hal.board(config, port)

# hal/esp32.py announces the boot on the chip's console (stdout, the firmware log here); the bench waits for
# it on the control line, as from the Unix HAL.
from app.version import VERSION  # noqa: E402

chip.control.send("BOOT %s" % VERSION)

import main  # noqa: E402,F401  (runs the firmware: asyncio.run(main.main()))
