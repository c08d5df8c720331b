# The bench's 32-bit Unix build (`make frozen`) in place of a port's default manifest: firmware/manifest.py
# includes "$(PORT_DIR)/boards/manifest.py", which on the ESP32 is ports/esp32/boards/manifest.py (_boot.py,
# asyncio, ...). The Unix port's own default (ports/unix/variants/manifest.py) requires micropython-lib packages
# (mip-cmdline, ssl) the trimmed source does not carry, so the Makefile points $(PORT_DIR) here: asyncio only,
# which is all the firmware needs from the port.
include("$(MPY_DIR)/extmod/asyncio")
