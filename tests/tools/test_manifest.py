"""firmware/manifest.py is one MicroPython's own manifest reader accepts (tools/manifestfile.py from the vendored
v1.28.0 source, the code tools/makemanifest.py runs for a frozen image), and it lists the same files for the
frozen image as tools/build_firmware.py compiles for a box's filesystem."""

import os
import sys
import tarfile

import pytest

from tools import build_firmware

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ARCHIVE = os.path.join(ROOT, "third_party", "micropython", "micropython-1.28.0-trimmed.tar.xz")
MANIFEST = os.path.join(ROOT, "firmware", "manifest.py")


@pytest.fixture(scope="module")
def micropython_source(tmp_path_factory):
    """The vendored source's tools/ and extmod/asyncio, extracted from the committed archive."""
    top = tmp_path_factory.mktemp("mpy")
    with tarfile.open(ARCHIVE) as tar:
        members = [m for m in tar.getmembers()
                   if m.name.startswith(("micropython-1.28.0/tools/manifestfile.py",
                                         "micropython-1.28.0/extmod/asyncio/"))]
        tar.extractall(top, members=members, filter="data")
    return str(top / "micropython-1.28.0")


def micropython_manifest(source, port_dir):
    sys.path.insert(0, os.path.join(source, "tools"))
    try:
        import manifestfile
    finally:
        sys.path.pop(0)
    manifest = manifestfile.ManifestFile(manifestfile.MODE_FREEZE, {
        "MPY_DIR": source, "MPY_LIB_DIR": None, "PORT_DIR": port_dir, "BOARD_DIR": None})
    manifest.execute(MANIFEST)
    return {(os.path.realpath(f.full_path), f.target_path) for f in manifest.files()}


def test_micropython_freezes_the_manifest_with_the_files_build_firmware_compiles(micropython_source):
    frozen = micropython_manifest(micropython_source, os.path.join(ROOT, "tools", "frozen32"))
    ours = {(os.path.realpath(src), rel) for src, rel, _compiled in build_firmware.read_manifest(MANIFEST)}
    port = {(src, rel) for src, rel in frozen if src.startswith(os.path.realpath(micropython_source))}
    assert {"asyncio/__init__.py", "asyncio/core.py", "asyncio/stream.py"} <= {rel for _src, rel in port}
    assert frozen - port == ours
    names = {rel for _src, rel in ours}
    assert {"main.py", "hal/esp32.py", "app/box.py", "drivers/sim800.py", "protocol/frame.py"} <= names


def test_build_firmware_keeps_main_source_and_compiles_the_rest():
    entries = {rel: compiled for _src, rel, compiled in build_firmware.read_manifest(MANIFEST)}
    assert entries.pop("main.py") is False
    assert entries and all(entries.values())


def test_a_build_is_stale_when_missing_unfinished_or_older_than_a_source(tmp_path):
    out = str(tmp_path / "firmware")
    assert build_firmware.is_stale(out)  # never built
    assert build_firmware.main(["--out", out]) == 0
    assert not build_firmware.is_stale(out)
    os.utime(out + ".romfs", (0, 0))  # built before the sources were last written
    assert build_firmware.is_stale(out)
    os.remove(out + ".romfs")  # the image is written last: an interrupted build
    assert build_firmware.is_stale(out)
