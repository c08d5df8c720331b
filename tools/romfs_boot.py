# Run the firmware from its ROMFS image on the MicroPython Unix port (runs under micropython, not CPython):
#
#     micropython -X heapsize=N tools/romfs_boot.py build/firmware.romfs --config PATH
#
# On an ESP32 built with MICROPY_VFS_ROM the image sits in a memory-mapped flash partition mounted at /rom
# and its .mpy bytecode runs in place (zero heap). The Unix port has no such partition: the image is read
# into one bytearray on the GC heap (it counts there once, exactly its size, rounded to a GC block), then
# mounted at /rom with vfs.VfsRom, and /rom goes first on sys.path instead of this script's directory.
# The working directory is left alone (a relative data_dir stays writable: /rom is read-only). main.py
# then runs from /rom with the argv it expects (`main.py --config PATH`; hal/unix.py reads --config).
import sys
import vfs


def _mount(path):
    f = open(path, "rb")
    size = f.seek(0, 2)
    f.seek(0)
    image = bytearray(size)  # exactly the image: no growing read buffer
    got = f.readinto(image)
    f.close()
    if got != size:
        raise OSError("romfs image %s: read %d of %d bytes" % (path, got, size))
    vfs.mount(vfs.VfsRom(image), "/rom")


if len(sys.argv) < 2:
    print("usage: micropython tools/romfs_boot.py IMAGE.romfs [--config PATH]")
    sys.exit(2)
_mount(sys.argv[1])
sys.path[0] = "/rom"  # was this script's directory: only the image's modules are importable first
sys.argv[:] = ["main.py"] + sys.argv[2:]
del _mount
import main  # noqa: E402,F401  (/rom/main.py: asyncio.run(main()) at import)
