"""A whole bench in one object: simulated clock, live server with the bench fleet, boxes.

    with Bench(workdir, factor=60) as bench:
        box = bench.box(1)                    # vehicle in Pool DDT, registered, firmware booted
        bench.fleet.reserve(1, "alice", bench.clock.now() - 600, bench.clock.now() + 7200)
        box.sync_now() ...

Everything it started is stopped by `close()` (boxes first, then the server).
"""

import os
import time

from hil_tests.harness.box import Box
from hil_tests.harness.live_server import ServerProcess
from hil_tests.harness.seed import BenchFleet
from hil_tests.harness.simclock import SimClock


class Bench:
    def __init__(self, workdir, factor=60, ports=None, epoch=None, server_settings=None, modem="sim800",
                 interpreter="mpy64", board="unix"):
        self.workdir = workdir
        self.modem = modem  # the modem family every box of this bench carries (emulated)
        os.makedirs(workdir, exist_ok=True)
        self.clock = SimClock(factor, epoch=epoch)
        self.ports = ports or {}
        self.server = ServerProcess(os.path.join(workdir, "server.sqlite"), clock=self.clock,
                                    settings=server_settings)
        self.server.start()
        self.fleet = BenchFleet(self.server.db_path)
        self.boxes = []
        self.interpreter = interpreter  # every box's, unless box() is told otherwise (harness/firmware.py)
        self.board = board

    def box(self, box_id=1, pool="DDT", start=True, **kwargs):
        """A box in a vehicle of `pool`, registered on the server with a fresh key; started unless asked."""
        kwargs.setdefault("modem", self.modem)
        kwargs.setdefault("interpreter", self.interpreter)
        kwargs.setdefault("board", self.board)
        box = Box(os.path.join(self.workdir, "box%d" % box_id), box_id, self.server.address, clock=self.clock,
                  ports=self.ports, **kwargs)
        self.fleet.add_box(box_id, box.key_hex, pool=pool)
        self.boxes.append(box)
        if start:
            box.start()
        return box

    def last_seen(self, box_id):
        row = self.fleet.box(box_id)
        return (row or {}).get("last_seen"), (row or {}).get("last_counter")

    def wait_sync(self, box_id, timeout=20.0, after=None, settle_s=0.5, give_up=None):
        """Wait until the server has accepted a sync frame from the box (after the `after` state, a value of
        `last_seen()`); then give the box `settle_s` real seconds to apply the answer. True when it came.
        `give_up()` true ends the wait at once (e.g. the firmware process died)."""
        before = self.last_seen(box_id) if after is None else after

        def synced():
            return self.last_seen(box_id)[1] not in (None, 0, before[1])

        if give_up is None:
            ok = self.fleet.wait(synced, timeout)
        else:
            ok = self.fleet.wait(lambda: synced() or give_up(), timeout) and synced()
        if ok:
            box = next((b for b in self.boxes if b.box_id == box_id), None)
            if box is not None and box.control is not None:
                box.wait_modem_idle()  # the session ended: the answer was read and applied
            time.sleep(settle_s)
        return bool(ok)

    def close(self):
        for box in reversed(self.boxes):
            try:
                box.stop()
            except Exception:
                pass
        self.boxes = []
        try:
            self.fleet.close()
        finally:
            self.server.stop()

    def diagnostics(self):
        """Logs worth printing when a scenario fails."""
        parts = ["--- server log\n" + self.server.log(3000)]
        for box in self.boxes:
            parts.append("--- box %d firmware log\n%s" % (box.box_id, box.firmware.log(3000)))
            if box.control is not None:
                parts.append("--- box %d control lines\n%s" % (box.box_id, "\n".join(box.control.lines()[-60:])))
        return "\n".join(parts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
