"""Compile the firmware the way it is flashed: mpy-cross -march=xtensawin, following firmware/manifest.py
(the same manifest `make frozen` and the ESP32 image freeze; main.py stays source).

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
DEFAULT_OUT = os.path.join(ROOT, "build", "firmware")


# The boot runs main.py from the filesystem, never main.mpy: the top-level main.py is copied as source.
SOURCE_ONLY = ("main.py",)


def read_manifest(path):
    """Return [(source_path, dest_relpath, compile)] from a MicroPython manifest (the one MicroPython's
    tools/makemanifest.py freezes: include, package, module with their documented arguments).

    An include() of a path that starts with a MicroPython variable ($(PORT_DIR), $(MPY_DIR)...) is the port's
    own frozen modules, which a stock image already holds: skipped. A relative include is read like this file."""
    entries = []

    def run(manifest):
        base_dir = os.path.dirname(os.path.abspath(manifest))

        def add(src, rel):
            entries.append((src, rel, rel not in SOURCE_ONLY))

        def package(package_path, files=None, base_path=".", opt=None):
            top = os.path.normpath(os.path.join(base_dir, base_path))
            if files is not None:
                for name in files:
                    rel = os.path.join(package_path, name)
                    add(os.path.join(top, rel), rel)
                return
            for dirpath, dirnames, filenames in os.walk(os.path.join(top, package_path)):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for filename in sorted(filenames):
                    if filename.endswith(".py"):
                        src = os.path.join(dirpath, filename)
                        add(src, os.path.relpath(src, top))

        def module(module_path, base_path=".", opt=None):
            if not module_path.endswith(".py"):
                raise SystemExit("manifest: module(%r) must be a .py file" % module_path)
            add(os.path.join(os.path.normpath(os.path.join(base_dir, base_path)), module_path), module_path)

        def include(manifest_path, **_options):
            if not manifest_path.startswith("$("):
                run(os.path.join(base_dir, manifest_path))

        def require(name, **_kw):
            raise SystemExit("manifest: require(%r) is not supported; vendor the module instead" % name)

        with open(manifest) as f:
            code = compile(f.read(), manifest, "exec")
        exec(code, {"package": package, "module": module, "include": include, "require": require})

    run(path)
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


def is_stale(out=DEFAULT_OUT):
    """True when the default build is missing, unfinished, or older than a file it is built from."""
    image = out + ".romfs"  # written last: a build without it did not finish
    if not os.path.exists(image):
        return True
    built = os.path.getmtime(image)
    manifest = os.path.join(FIRMWARE, "manifest.py")
    sources = [manifest] + [src for src, _rel, _compiled in read_manifest(manifest)]
    return any(os.path.getmtime(src) > built for src in sources)


def ensure_built():
    """What `make firmware` does, when the build is stale: the demo and the benches run the current code,
    in a fresh clone too. Raises RuntimeError when the build fails."""
    if is_stale() and main([]) != 0:
        raise RuntimeError("firmware build failed: see the mpy-cross messages above")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=DEFAULT_OUT)
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
