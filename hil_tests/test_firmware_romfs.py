"""The real firmware boots from its ROMFS image (tools/build_firmware.py's image of the .mpy build, mounted at
/rom by tools/romfs_boot.py through the harness's `romfs=True`), takes a badge and drives the relay.

The process runs in the box's own directory, which holds no firmware module: every import comes from the
image. Only serial lines are used (helpers of test_firmware_boot.py: raw ptys, an RDM6300 card frame, the
control channel).
"""

import json
import os
import shutil
import time

import pytest

from hil_tests.harness.firmware import ROMFS_BOOT, FirmwareProcess, box_config, firmware_dir, romfs_image
from hil_tests.test_firmware_boot import KEY, MANAGER_UID, STRANGER_UID, Control, Line, hold_card, rmc
from protocol import codes, keys
from tools.build_firmware import build_romfs

BUILT = os.path.exists(os.path.join(firmware_dir(), "hal", "unix.mpy"))


@pytest.mark.skipif(not BUILT, reason="run `make firmware` first")
def test_firmware_boots_from_its_romfs_image_and_a_badge_releases_the_relay(tmp_path):
    firmware = str(tmp_path / "firmware")
    shutil.copytree(firmware_dir(), firmware)
    size = build_romfs(firmware, romfs_image(firmware))
    with open(romfs_image(firmware), "rb") as f:
        assert f.read(3) == b"\xd2\xcd\x31" and size > 0  # ROMFS header
    shutil.rmtree(os.path.join(firmware, "app"))  # only the image remains to import app/ from

    lines = {name: Line() for name in ("gps", "modem", "reader", "control")}
    control = Control(lines["control"])
    box_dir = tmp_path / "box"
    data = box_dir / "data"
    data.mkdir(parents=True)
    manager = keys.badge_hash(KEY, MANAGER_UID).hex()
    (data / "allow").write_text(json.dumps({"v": 1, "loaded": True, "e": [[1, manager, codes.KIND_ROLE, 0, 0, 0]]}))
    config = box_config(3, KEY.hex(), "AB-123-CD", ("127.0.0.1", 9),
                        uarts={k: lines[k].path for k in ("gps", "modem", "reader")},
                        control=lines["control"].path, data_dir=str(data), reader="rdm6300")
    proc = FirmwareProcess(str(box_dir), config, heap="512K", firmware=firmware, romfs=True)
    proc.start()
    try:
        assert control.wait("BOOT ") is not None, proc.log()
        assert proc.proc.args[3:5] == [ROMFS_BOOT, romfs_image(firmware)]  # not main.py from a directory
        t = int(time.time())
        for i in range(3):
            lines["gps"].write(rmc(t + i))
        assert control.wait("PIN relay 1") is not None, proc.log()  # armed at first boot
        control.send("PING")
        assert control.wait("PONG") is not None
        mark = len(control.lines)
        hold_card(lines["reader"], STRANGER_UID)
        control.wait("NO SUCH LINE", 2.5)
        assert control.lines[mark:].count("PIN buzzer 1") == 3, control.lines  # denied: 3 pulses
        hold_card(lines["reader"], MANAGER_UID, 0.3)
        assert control.wait("PIN relay 0", 5) is not None, control.lines  # granted: relay released
        control.send("MEM")
        assert control.wait("MEM ", 5) is not None
        assert proc.alive(), proc.log()
        assert "Traceback" not in proc.log(100000), proc.log()
    finally:
        proc.kill()
        for line in lines.values():
            line.close()
