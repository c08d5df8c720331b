# Mount a ROMFS image at /rom on the MicroPython Unix port (runs under micropython, not CPython); used by
# tools/romfs_boot.py and by the heap bench's code-heap measurement.
#
# On an ESP32 built with MICROPY_VFS_ROM the image sits in a memory-mapped flash partition mounted at /rom
# and its .mpy bytecode runs in place (zero heap). The Unix port has no such partition: the image is read
# into one bytearray on the GC heap (it counts there once, exactly its size, rounded to a GC block), then
# mounted with vfs.VfsRom.
import vfs


def mount(path, point="/rom"):
    f = open(path, "rb")
    size = f.seek(0, 2)
    f.seek(0)
    image = bytearray(size)  # exactly the image: no growing read buffer
    got = f.readinto(image)
    f.close()
    if got != size:
        raise OSError("romfs image %s: read %d of %d bytes" % (path, got, size))
    vfs.mount(vfs.VfsRom(image), point)
