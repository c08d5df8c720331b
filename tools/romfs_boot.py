# Run the firmware from its ROMFS image on the MicroPython Unix port (runs under micropython, not CPython):
#
#     micropython -X heapsize=N tools/romfs_boot.py build/firmware.romfs --config PATH
#
# The image is mounted at /rom (tools/romfs_mount.py), and /rom goes first on sys.path instead of this
# script's directory. The working directory is left alone (a relative data_dir stays writable: /rom is
# read-only). main.py then runs from /rom with the argv it expects (`main.py --config PATH`; hal/unix.py
# reads --config).
import sys

from romfs_mount import mount

if len(sys.argv) < 2:
    print("usage: micropython tools/romfs_boot.py IMAGE.romfs [--config PATH]")
    sys.exit(2)
mount(sys.argv[1])
sys.path[0] = "/rom"  # was this script's directory: only the image's modules are importable first
sys.argv[:] = ["main.py"] + sys.argv[2:]
del mount
import main  # noqa: E402,F401  (/rom/main.py: asyncio.run(main()) at import)
