"""The firmware frozen into the 32-bit Unix port (`make frozen`: the vendored MicroPython v1.28.0 built with
MICROPY_FORCE_32BIT=1 and firmware/manifest.py frozen, as the ESP32 image is) boots on the bench, syncs with
the live server and decides a badge: the same serial lines, control channel and scenarios as the .mpy build."""

import os

from hil_tests.harness.control import GRANTED
from hil_tests.harness.firmware import FROZEN32
from hil_tests.harness.seed import BADGES


def elf_class(path):
    with open(path, "rb") as f:
        head = f.read(5)
    assert head[:4] == b"\x7fELF"
    return {1: 32, 2: 64}[head[4]]


def test_frozen_32bit_interpreter_boots_the_firmware_syncs_and_decides(make_bench):
    bench = make_bench(factor=60, interpreter="frozen32")
    assert elf_class(FROZEN32) == 32
    box = bench.box(1)
    args, cwd = box.firmware.command()
    assert args[:2] == ["-m", "main"] and cwd == box.workdir
    # Nothing to import from the working directory: every firmware module comes from the image.
    assert not [n for n in os.listdir(cwd) if n.endswith((".py", ".mpy")) or n in ("hal", "app", "drivers")]
    assert bench.wait_sync(1, timeout=30), "the frozen firmware never synced:\n" + bench.diagnostics()
    since = box.tap(BADGES["max"])
    assert box.control.wait_pin("relay", 0, 5, since=since) is not None, bench.diagnostics()
    assert box.feedback(since) == GRANTED
    mark = box.control.mark()
    box.control.send("MEM")
    mem = box.control.wait_line("MEM", 5, since=mark)
    assert mem is not None, bench.diagnostics()
    free, allocated = (int(n) for n in mem.line.split()[1:3])
    assert free > 0 and allocated > 0
