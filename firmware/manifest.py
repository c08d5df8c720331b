# What goes onto the box, micropython-lib style. tools/build_firmware.py reads this file
# (and so could `mpremote mip`/a frozen build): package() takes a whole folder, module() one file.
# main.py stays source: the ESP32 boot sequence runs main.py, not main.mpy.

package("hal")
package("drivers")
package("app")
package("protocol", base_path="..")
module("main.py", compile=False)
