"""Compile the firmware the way it is flashed: mpy-cross -march=xtensawin, following firmware/manifest.py.

Usage: python -m tools.build_firmware [--out build/firmware] [--march xtensawin] [--no-romfs]
Prints each file and the total .mpy size; any file MicroPython rejects fails the build (exit 1).
Then writes `<out>.romfs` (build/firmware.romfs): a ROMFS image of the build, made by mpremote's own
builder (`mpremote romfs build`), for a box that runs its modules in place from flash (docs/firmware.md,
"Running from ROMFS"); prints firmware_romfs_bytes.
"""

import argparse
import contextlib
import io
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "firmware")


def read_manifest(path):
    """Return [(source_path, dest_relpath, compile)] from a micropython-lib style manifest."""
    entries = []
    base_dir = os.path.dirname(path)

    def package(name, base_path=".", compile=True):
        top = os.path.normpath(os.path.join(base_dir, base_path))
        for dirpath, dirnames, filenames in os.walk(os.path.join(top, name)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for filename in sorted(filenames):
                if filename.endswith(".py"):
                    src = os.path.join(dirpath, filename)
                    entries.append((src, os.path.relpath(src, top), compile))

    def module(name, base_path=".", compile=True):
        top = os.path.normpath(os.path.join(base_dir, base_path))
        entries.append((os.path.join(top, name), name, compile))

    def require(name, **_kw):
        raise SystemExit("manifest: require(%r) is not supported; vendor the module instead" % name)

    with open(path) as f:
        code = compile(f.read(), path, "exec")
    exec(code, {"package": package, "module": module, "require": require})
    return entries


def mpy_cross_binary():
    candidate = os.path.join(os.path.dirname(sys.executable), "mpy-cross")
    return candidate if os.path.exists(candidate) else "mpy-cross"


def build(out_dir, march):
    if os.path.isdir(out_dir):
        shutil.rmtree(out_dir)
    total_mpy = 0
    failures = 0
    for src, rel, compiled in read_manifest(os.path.join(FIRMWARE, "manifest.py")):
        dest = os.path.join(out_dir, rel)
        os.makedirs(os.path.dirname(dest) or out_dir, exist_ok=True)
        if not compiled:
            shutil.copyfile(src, dest)
            print("  copy  %-40s %6d B" % (rel, os.path.getsize(dest)))
            continue
        dest = dest[:-3] + ".mpy"
        cmd = [mpy_cross_binary(), "-march=" + march, "-s", rel, "-o", dest, src]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0:
            failures += 1
            sys.stderr.write("mpy-cross rejected %s:\n%s%s" % (rel, result.stdout, result.stderr))
            continue
        size = os.path.getsize(dest)
        total_mpy += size
        print("  mpy   %-40s %6d B" % (rel, size))
    print("firmware_mpy_total_bytes: %d" % total_mpy)
    return failures


def build_romfs(src_dir, out_path):
    """Write the ROMFS image of `src_dir` (files as they are: the .mpy build, main.py source) with
    mpremote's builder, like `mpremote romfs --no-mpy -o OUT build DIR`; returns its size in bytes."""
    from mpremote.romfs import make_romfs

    with contextlib.redirect_stdout(io.StringIO()):  # its file tree would drown the build's own listing
        image = make_romfs(src_dir, mpy_cross=False)
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(image)
    os.replace(tmp, out_path)
    return len(image)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "firmware"))
    parser.add_argument("--march", default="xtensawin", help="mpy-cross target architecture (ESP32: xtensawin)")
    parser.add_argument("--no-romfs", action="store_true", help="do not write the <out>.romfs image")
    args = parser.parse_args(argv)
    out = os.path.normpath(args.out)
    romfs_path = out + ".romfs"
    if os.path.exists(romfs_path):
        os.remove(romfs_path)  # never leave an image of an older build next to this one
    failures = build(out, args.march)
    if failures:
        print("firmware build FAILED: %d file(s) rejected" % failures)
        return 1
    if not args.no_romfs:
        size = build_romfs(out, romfs_path)
        shown = os.path.relpath(romfs_path, ROOT) if romfs_path.startswith(ROOT + os.sep) else romfs_path
        print("firmware_romfs_bytes: %d (%s)" % (size, shown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
