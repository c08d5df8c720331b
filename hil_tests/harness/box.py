"""One emulated box (and a fleet of them): firmware process + pty links + emulators + control client.

A box's four serial lines are `PtyLink`s: the firmware opens end `a` (paths written into its
config.json), the bench opens end `b` (through a pyserial URL). When a real adapter is given for a line
(`--gps-port` ...), no link is made and the emulator opens that URL instead: the firmware side is then a
real box wired to the adapters, and no local firmware process is started for it.
"""

import os
import secrets
import time

from hil_tests.harness.control import ControlClient
from hil_tests.harness.firmware import FirmwareProcess, box_config
from hil_tests.harness.gps import GpsFeed
from hil_tests.harness.ptys import make_link
from hil_tests.harness.simclock import SimClock

LINES = ("gps", "modem", "reader", "control")


def _start(emulator):
    start = getattr(emulator, "start", None)
    if callable(start):
        start()
    return emulator


def _stop(emulator):
    for name in ("stop", "close"):
        method = getattr(emulator, name, None)
        if callable(method):
            try:
                method()
            except Exception:
                pass
            return


class Box:
    """A box under test. `ports` maps line names to real adapter URLs (then no link nor process)."""

    def __init__(self, workdir, box_id, server, key_hex=None, vehicle="AB-123-CD", clock=None,
                 reader="pn532", ports=None, heap=None, extra_config=None, gps_position=None, modem="sim800",
                 interpreter="mpy64", board="unix"):
        self.workdir = workdir
        self.clock = clock or SimClock(1)
        self.gps_position = gps_position
        self.box_id = box_id
        self.key_hex = key_hex or secrets.token_hex(16)
        self.vehicle = vehicle
        self.server = server  # (host, port) the modem emulator connects to
        self.clock_factor = self.clock.factor
        self.reader_kind = reader
        self.modem_family = modem  # the emulated modem: "sim800", "a7670", "sim7080" (hil_tests/emulators)
        self.ports = dict(ports or {})
        self.links = {}
        self.urls = {}
        os.makedirs(workdir, exist_ok=True)
        for line in LINES:
            if self.ports.get(line):
                self.urls[line] = self.ports[line]
            else:
                link = make_link("%s-%d" % (line, box_id))
                self.links[line] = link
                self.urls[line] = link.b
        self.real = bool(self.ports)
        config = box_config(
            box_id, self.key_hex, vehicle, server,
            uarts={k: self.links[k].a for k in ("gps", "modem", "reader") if k in self.links},
            control=self.links["control"].a if "control" in self.links else "",
            data_dir=os.path.join(workdir, "data"), clock_factor=self.clock.factor, reader=reader,
            **dict({"board": "tcall_sim800"} if board == "esp32" else {}, **(extra_config or {})),
        )
        self.firmware = FirmwareProcess(workdir, config, interpreter=interpreter, board=board,
                                        **({"heap": heap} if heap else {}))
        self.control = None
        self.modem = None
        self.reader = None
        self.gps = None

    @property
    def key(self):
        return bytes.fromhex(self.key_hex)

    # --- life cycle ----------------------------------------------------------------------------
    def start_emulators(self, modem=True, reader=True, gps=True, **modem_kwargs):
        """Open the bench ends with the peripheral emulators (the modem one reaches the live server)."""
        if modem and self.modem is None:
            from hil_tests.emulators import modems

            modem_kwargs.setdefault("time_fn", self.clock.now)
            self.modem = _start(modems.make(self.modem_family, self.urls["modem"], server=self.server,
                                            **modem_kwargs))
        if reader and self.reader is None:
            from hil_tests.emulators import reader as reader_module

            cls = reader_module.PN532Emulator if self.reader_kind == "pn532" else reader_module.Rdm6300Emulator
            self.reader = _start(cls(self.urls["reader"]))
        if gps and self.gps is None:
            kwargs = {"seed": self.box_id}
            if self.gps_position:
                kwargs["position"] = self.gps_position
            self.gps = GpsFeed(self.urls["gps"], self.clock, **kwargs).start()
        return self

    def start(self, boot_timeout=20.0, emulators=True, **modem_kwargs):
        if emulators:
            self.start_emulators(**modem_kwargs)
        if self.control is None:
            self.control = ControlClient(self.urls["control"], name="box%d" % self.box_id)
        since = self.control.mark()
        if not self.real:
            self.control.resend_inputs()
            self.firmware.start()
        if self.control.wait_boot(boot_timeout, since) is None:
            raise RuntimeError("box %d did not boot within %.0f s; firmware log:\n%s"
                               % (self.box_id, boot_timeout, self.firmware.log()))
        return self

    def power_cut(self):
        """SIGKILL the firmware (the data dir stays as the flash would). A dead box drives no output: the
        bench's view of the pins falls to 0 (relay released, see docs/installation.md)."""
        self.firmware.kill()
        if self.control is not None:
            self.control.outputs_dead()

    def restart(self, boot_timeout=20.0):
        since = self.control.mark()
        self.firmware.kill()
        self.control.outputs_dead()
        self.control.resend_inputs()
        self.firmware.start()
        if self.control.wait_boot(boot_timeout, since) is None:
            raise RuntimeError("box %d did not reboot; log:\n%s" % (self.box_id, self.firmware.log()))

    def stop(self):
        if not self.real:
            self.firmware.stop()
        for emulator in (self.gps, self.reader, self.modem):
            if emulator is not None:
                _stop(emulator)
        self.gps = self.reader = self.modem = None
        if self.control is not None:
            self.control.close()
            self.control = None
        for link in self.links.values():
            link.close()

    # --- bench actions -------------------------------------------------------------------------
    def tap(self, uid, hold_s=0.3):
        """Present a badge and take it away again; returns the control-channel mark taken before."""
        since = self.control.mark()
        self.reader.tap(uid)
        time.sleep(hold_s)
        self.reader.remove()
        return since

    def wait_gps_read(self, timeout=15.0, settle_s=0.2):
        """Wait until the firmware has read every GPS byte sent so far: a loaded bench lags behind a route played
        fast-forward, and a trip closed before its last fixes were read comes out short. A line that cannot
        tell (a real port, socat) gets a fixed wait. True once read."""
        link = self.links.get("gps")
        if not hasattr(link, "unread_a"):
            time.sleep(settle_s * 5)
            return True
        deadline = time.monotonic() + timeout
        while link.unread_a():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        time.sleep(settle_s)  # read, now parsed
        return True

    def wait_modem_idle(self, quiet_s=0.5, timeout=15.0):
        """Wait until the modem has been powered off for `quiet_s` real seconds (no sync session running,
        the last answer applied; a first boot may chain a counter handshake and a sync). True if so."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if self.control.pin("modem_power", 0) == 0:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= quiet_s:
                    return True
            else:
                quiet_since = None
            time.sleep(0.05)
        return False

    def relay(self):
        return self.control.pin("relay")

    def feedback(self, since, timeout=5.0):
        """Buzzer pulse count of the first feedback pattern after `since`."""
        return self.control.buzzer_pulses(since, timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


class Fleet:
    """Several boxes started together and stopped together (tools/demo.py, multi-box scenarios)."""

    def __init__(self):
        self.boxes = []

    def add(self, box):
        self.boxes.append(box)
        return box

    def start(self, **kwargs):
        for box in self.boxes:
            box.start(**kwargs)
        return self

    def stop(self):
        for box in reversed(self.boxes):
            try:
                box.stop()
            except Exception:
                pass

    def __iter__(self):
        return iter(self.boxes)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
