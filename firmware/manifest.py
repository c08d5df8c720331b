# What goes onto the box: a MicroPython manifest (docs/reference/manifest.html), read by MicroPython's own
# tools/makemanifest.py to freeze the firmware into an image (`make frozen`, the ESP32 image: docs/firmware.md)
# and by tools/build_firmware.py to compile the same files to .mpy for a box that runs them from its filesystem.

# The port's own frozen modules come first: on the ESP32 ports/esp32/boards/manifest.py (_boot.py, which mounts
# the flash filesystem, asyncio, ...); for the bench's 32-bit Unix build the Makefile points $(PORT_DIR) at
# tools/frozen32 (asyncio). build_firmware.py skips this include: a stock image already holds those modules.
include("$(PORT_DIR)/boards/manifest.py")

package("hal")
package("drivers")
package("app")
package("protocol", base_path="..")
# Frozen, main.py is what the ESP32 runs at boot (a frozen main.py comes before the filesystem's);
# build_firmware.py copies it as source (the boot runs main.py, never main.mpy).
module("main.py")
