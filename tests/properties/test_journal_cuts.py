"""Power cuts at random points of a day's journal writes (records, acknowledgements, segment rolls):
after the reboot the journal holds exactly the committed, unacknowledged records, in order, none
duplicated, and appends go on cleanly. (The every-byte-offset case of a short journal runs under both
interpreters in tests/firmware/test_journal.py.)"""

import os
import sys

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "firmware"))

from support import remove_tree, temp_dir  # noqa: E402

from app import journal  # noqa: E402
from hal.fsdir import DirFS  # noqa: E402

BADGE = bytes(range(8))


class PowerCut(Exception):
    pass


class CutFile:
    def __init__(self, f, fs):
        self.f = f
        self.fs = fs

    def write(self, data):
        fs = self.fs
        if fs.budget is not None and fs.written + len(data) > fs.budget:
            keep = fs.budget - fs.written
            self.f.write(bytes(data[:keep]) + fs.junk)  # the torn write, then what the medium holds
            fs.written = fs.budget
            self.f.close()
            raise PowerCut()
        fs.written += len(data)
        return self.f.write(data)

    def read(self, *a):
        return self.f.read(*a)

    def close(self):
        self.f.close()


class CutFS(DirFS):
    """The real directory filesystem, with the power going off after `budget` bytes written."""

    def __init__(self, root, budget=None, junk=b""):
        super().__init__(root)
        self.budget = budget
        self.junk = junk
        self.written = 0

    def open(self, name, mode="rb"):
        f = super().open(name, mode)
        return CutFile(f, self) if "w" in mode or "a" in mode else f


def day_ops(draw_kinds):
    """A day: positions, badge decisions, trips, events, and acknowledgements now and then."""
    ops = []
    t = 1750000000
    for i, kind in enumerate(draw_kinds):
        t += 30
        if kind == 0:
            ops.append(("rec", {"type": "pos", "t": t, "lat": 472000000 + i, "lon": -15000000 - i, "speed": 1200,
                                "course": i % 360}))
        elif kind == 1:
            ops.append(("rec", {"type": "badge", "t": t, "badge": BADGE, "granted": i % 2 == 0, "reason": 1}))
        elif kind == 2:
            ops.append(("rec", {"type": "trip_start", "t": t, "trip": i, "badge": BADGE, "reservation": 3,
                                "odo_m": 1000 * i}))
        elif kind == 3:
            ops.append(("rec", {"type": "event", "t": t, "code": 1, "value": i}))
        else:
            ops.append(("ack", kind))
    return ops


def play(root, ops, budget=None, junk=b""):
    """Run ops until the end or the power cut; returns (fs, committed records, committed ack)."""
    fs = CutFS(root, budget, junk)
    j = journal.Journal(fs, budget=4 * 1024 * 1024, segment=1024)
    j.open()
    committed = []
    acked = 0
    try:
        for op, arg in ops:
            if op == "rec":
                seq = j.append(arg)
                assert seq
                committed.append(dict(arg, seq=seq))
            elif committed:
                target = committed[len(committed) * (arg - 3) // 8]["seq"]  # somewhere in what exists
                if j.acknowledge(target):
                    acked = max(acked, target)
    except PowerCut:
        pass
    return fs, committed, acked


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]), min_size=50, max_size=600),
       st.data(), st.sampled_from([b"", b"\xff" * 9, b"\xa5\x07\x00\x00\x00\x01junk", b"\x00" * 40]))
def test_cut_anywhere_in_a_day_keeps_exactly_the_committed_records(kinds, data, junk):
    ops = day_ops(kinds)
    dry = temp_dir("jd")
    try:
        fs, _, _ = play(dry, ops)
        total = fs.written
    finally:
        remove_tree(dry)
    cut = data.draw(st.integers(min_value=0, max_value=total), label="cut")
    root = temp_dir("jcd")
    try:
        _, committed, acked = play(root, ops, budget=cut, junk=junk)
        j = journal.Journal(DirFS(root), budget=4 * 1024 * 1024, segment=1024)
        j.open()
        got = j.pending(100000)
        expected = [r for r in committed if r["seq"] > acked]
        assert got == expected
        # the box goes on: new records follow, nothing read twice
        seq = j.append({"type": "event", "t": 1, "code": 2, "value": 0})
        assert seq > (committed[-1]["seq"] if committed else 0)
        again = journal.Journal(DirFS(root), budget=4 * 1024 * 1024, segment=1024)
        again.open()
        assert [r["seq"] for r in again.pending(100000)] == [r["seq"] for r in expected] + [seq]
    finally:
        remove_tree(root)
