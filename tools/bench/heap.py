"""The smallest MicroPython heap that completes the scripted day from the .mpy build (bisection), from the
build's ROMFS image, and on the frozen 32-bit interpreter (`make frozen`), the measure that stands for the chip.

    python -m tools.bench heap [--low 16] [--high 512] [--step 4] [--romfs-high 512] [--frozen-high 256]
                               [--only files|romfs|frozen32]

Each probe boots the real firmware with `micropython -X heapsize=<N>K`, syncs with the live server and
plays hil_tests/harness/day.py (three trips, six taps) on a fast clock; it passes when the process is
still alive at the end and the server holds every trip.

- `heap_min_kb`: the smallest passing heapsize, firmware run from the files of build/firmware (`main.py`).
- `heap_min_kb_romfs`: the smallest passing heapsize with the firmware run from build/firmware.romfs
  (tools/romfs_boot.py mounts it with vfs.VfsRom at /rom; its .mpy bytecode runs in place), minus the image's
  size rounded up to a KB (`romfs_image_kb`): on the Unix port the image is a bytearray on the heap, on an
  ESP32 built with ROMFS it is a memory-mapped flash partition.
- `heap_min_kb_frozen32`: the smallest passing heapsize on build/frozen32/micropython: the firmware frozen
  into a 32-bit image as on an ESP32 (bytecode in the image, 4-byte pointers). Goal <= 64 (a plain
  ESP32-WROOM without PSRAM leaves about 100 KB to MicroPython). The 64-bit figures are printed beside it.
- `code_heap_kb_files` / `code_heap_kb_romfs` / `code_heap_kb_frozen32`: heap taken by importing the modules a
  syncing box imports (gc.mem_alloc after gc.collect, before and after; the image itself not counted), each way.
Both bisections take ~8 probes of 15-50 s each; `--step 8` or `--only` to go faster. HEAP_VERBOSE=1 prints
each probe's errors, HEAP_VERBOSE=2 also the firmware log around its first MemoryError.
"""

import argparse
import os
import subprocess
import sys
import tempfile

# What main.py imports on a box with a reader, a GPS and a modem (`app.sync`, `drivers.modem`: only when
# it can sync), hal.unix the board it runs on.
BOOT_MODULES = ("hal", "hal.unix", "drivers.aio", "app.box", "app.feedback", "app.supervisor", "app.version",
                "protocol.keys", "app.odometer", "drivers.nmea", "drivers.rdm6300", "drivers.pn532", "app.sync",
                "drivers.modem",
                "drivers.sim800")

_MEASURE = """
import gc, sys
%s
gc.collect()
before = gc.mem_alloc()
for name in %r:
    __import__(name)
gc.collect()
print("CODE_HEAP", gc.mem_alloc() - before)
"""

# the image mounted at /rom by the same code as tools/romfs_boot.py, /rom first on the path
_MOUNT = ("sys.path.insert(0, %r)\nfrom romfs_mount import mount\nmount(%r)\nsys.path[0] = '/rom'\n"
          "del mount, sys.modules['romfs_mount']")  # its code is not the firmware's
FROZEN32_GOAL_KB = 64
TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def kb_up(n_bytes):
    return (n_bytes + 1023) // 1024


def code_heap(firmware, image=None, heap="1M", interpreter="mpy64"):
    """Bytes of heap the BOOT_MODULES take once imported, from the files of `firmware`, from `image`, or
    (interpreter="frozen32") from the frozen 32-bit image."""
    from hil_tests.harness.firmware import FROZEN32, micropython_binary

    binary = micropython_binary()
    if interpreter == "frozen32":
        binary, setup, cwd = FROZEN32, "", tempfile.gettempdir()  # nothing to import there: all frozen
    elif image is None:
        setup, cwd = "sys.path.insert(0, %r)" % os.path.abspath(firmware), firmware
    else:
        setup, cwd = _MOUNT % (TOOLS, os.path.abspath(image)), tempfile.gettempdir()
    code = _MEASURE % (setup, BOOT_MODULES)
    result = subprocess.run([binary, "-X", "heapsize=" + heap, "-c", code], cwd=cwd,
                            capture_output=True, text=True, timeout=60)
    for line in result.stdout.splitlines():
        if line.startswith("CODE_HEAP "):
            return int(line.split()[1])
    sys.stderr.write("heap: measuring the code heap failed:\n%s%s" % (result.stdout, result.stderr[-2000:]))
    return None


def probe(heap_kb, factor=600, romfs=False, interpreter="mpy64"):
    from hil_tests.harness import day
    from hil_tests.harness.bench import Bench

    box = None
    with tempfile.TemporaryDirectory(prefix="bench-heap-") as workdir:
        bench = Bench(os.path.join(workdir, "b"), factor=factor)
        try:
            box = bench.box(1, start=False, heap="%dK" % heap_kb, interpreter=interpreter)
            box.firmware.romfs = romfs
            day.book(bench, 1)
            try:
                box.start(boot_timeout=20)
            except RuntimeError:
                return False

            def dead():  # a firmware that died of its MemoryError: no use waiting out the timeouts
                return not box.firmware.alive()

            if not bench.wait_sync(1, timeout=30, give_up=dead):
                return False
            played = day.play(bench, box)
            if dead():
                return False

            def trips_closed():
                return len([t for t in bench.fleet.trips(1) if t["end"]]) >= played["trips"]

            bench.fleet.wait(lambda: trips_closed() or dead(), timeout=30)
            return trips_closed() and played["trips"] > 0 and not dead()
        finally:
            if os.environ.get("HEAP_VERBOSE") and box is not None:
                log = box.firmware.log(100000)
                errors = sorted({line.strip() for line in log.splitlines() if "Error" in line})
                print("    %dK: %s" % (heap_kb, "; ".join(errors)[:300] or "no error in the log"), flush=True)
                if os.environ.get("HEAP_VERBOSE") == "2" and "MemoryError" in log:  # where it first ran out
                    first = log.find("MemoryError")
                    print(log[max(0, first - 3000):first + 1500], flush=True)
            bench.close()


def bisect(low, high, step, romfs=False, interpreter="mpy64"):
    """(smallest passing KB or None when `high` fails, probes)."""
    kind = "romfs" if romfs else ("frozen32" if interpreter == "frozen32" else "files")
    label = "" if kind == "files" else kind + " "
    probes = 1
    if not probe(high, romfs=romfs, interpreter=interpreter):
        print("heap: the scripted day fails even with %d KB (%s)" % (high, kind), file=sys.stderr)
        return None, probes
    while high - low > step:
        mid = (low + high) // 2
        probes += 1
        ok = probe(mid, romfs=romfs, interpreter=interpreter)
        print("  %sheapsize=%dK: %s" % (label, mid, "ok" if ok else "fails"), flush=True)
        if ok:
            high = mid
        else:
            low = mid
    return high, probes


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.bench heap", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--low", type=int, default=16, help="KB known (or assumed) to fail")
    parser.add_argument("--high", type=int, default=512, help="KB expected to pass")
    parser.add_argument("--step", type=int, default=4, help="resolution in KB")
    parser.add_argument("--romfs-high", type=int, default=512,
                        help="KB expected to pass from the ROMFS image (image included); the low end is the image")
    parser.add_argument("--frozen-high", type=int, default=256, help="KB expected to pass on the frozen interpreter")
    parser.add_argument("--only", choices=("files", "romfs", "frozen32"), default=None,
                        help="run one bisection only")
    args = parser.parse_args(argv)
    from hil_tests.harness import deps
    from hil_tests.harness.firmware import FROZEN32, firmware_dir, romfs_image

    missing = deps.missing("server", "firmware", "modem", "reader", "tracks")
    if missing:
        print("heap: skipped (%s)" % "; ".join(missing))
        return 0
    status = 0
    found_kb = {}
    firmware = firmware_dir()
    image = romfs_image(firmware)
    have_image = os.path.exists(image)
    probes = 0
    if args.only in (None, "files"):
        found, n = bisect(args.low, args.high, args.step)
        probes += n
        found_kb["files"] = found
        print("heap_min_kb: %s" % (found if found is not None else ">%d" % args.high), flush=True)
        status |= found is None
    if args.only in (None, "romfs"):
        if not have_image:
            print("heap_min_kb_romfs: skipped (no %s: run `make firmware`)" % image)
        else:
            image_kb = kb_up(os.path.getsize(image))
            print("romfs_image_kb: %d" % image_kb, flush=True)
            found, n = bisect(image_kb, max(args.romfs_high, image_kb + args.step), args.step, romfs=True)
            probes += n
            print("heap_min_kb_romfs: %s" % (found - image_kb if found is not None else ">%d" % (
                args.romfs_high - image_kb)), flush=True)
            status |= found is None
    have_frozen = os.path.exists(FROZEN32)
    if args.only in (None, "frozen32"):
        if not have_frozen:
            print("heap_min_kb_frozen32: skipped (no %s: run `make frozen`)" % FROZEN32)
        else:
            found, n = bisect(args.low, args.frozen_high, args.step, interpreter="frozen32")
            probes += n
            found_kb["frozen32"] = found
            print("heap_min_kb_frozen32: %s (goal <= %d)" % (
                found if found is not None else ">%d" % args.frozen_high, FROZEN32_GOAL_KB), flush=True)
            status |= found is None
    print("probes: %d" % probes)
    files_code = code_heap(firmware)
    print("code_heap_kb_files: %s" % (kb_up(files_code) if files_code is not None else "n/a"))
    if have_image:
        romfs_code = code_heap(firmware, image)
        print("code_heap_kb_romfs: %s" % (kb_up(romfs_code) if romfs_code is not None else "n/a"))
    if have_frozen:
        frozen_code = code_heap(firmware, interpreter="frozen32")
        print("code_heap_kb_frozen32: %s (64-bit: code_heap_kb_files %s)" % (
            kb_up(frozen_code) if frozen_code is not None else "n/a",
            kb_up(files_code) if files_code is not None else "n/a"))
        if "frozen32" in found_kb:
            print("heap_min_kb_frozen32 %s beside the 64-bit heap_min_kb %s" % (
                found_kb["frozen32"], found_kb.get("files", "(not run: --only)")))
    return 1 if status else 0
