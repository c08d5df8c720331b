# A small world around the real box core (app.box.Box) for the immobilizer properties: random taps,
# ignition changes, speeds, waits, reboots, sync answers and server commands. The relay pin checks the
# safety invariant at every write against the world's truth (not the box's belief):
#   the relay never goes 0 -> 1 while the ignition is on or the car moves faster than moving_mms.
# Used by tests/firmware/test_immobilizer_corpus.py (a seeded corpus, both interpreters) and
# tests/properties/test_immobilizer_props.py (hypothesis, CPython).
from boxfakes import Fix, ManualClock
from support import remove_tree, temp_dir

from app import box
from hal.fsdir import DirFS
from protocol import codes, keys

KEY = bytes(range(100, 116))
T0 = 1750000000
UIDS = (b"\x04\x01\x01\x01", b"\x04\x02\x02\x02", b"\x04\x03\x03\x03", b"\x04\x04\x04\x04")  # res, role, spot, ?
SPEEDS = (0, 500, 1400, 1600, 3000, 8000, 30000)
COMMANDS = (codes.CMD_RESYNC, codes.CMD_RELEASE, codes.CMD_FIRMWARE, codes.CMD_REBOOT, codes.CMD_BLOCK, 0, 77, -3)
OPS = ("tap", "ign", "speed", "wait", "reboot", "sync", "cmd", "gps_off")


class Violation(AssertionError):
    pass


class WatchedRelay:
    def __init__(self, world):
        self.world = world
        self.level = 0  # a booting ESP32 drives the relay pin low: released
        self.writes = []

    def value(self, v=None):
        if v is None:
            return self.level
        v = 1 if v else 0
        if self.level == 0 and v == 1:
            w = self.world
            limit = w.box.settings.get("moving_mms") if w.box is not None else 1500
            if w.ignition or w.speed >= limit or limit > 3000:
                raise Violation("relay blocked with ignition=%d speed=%d limit=%d" % (w.ignition, w.speed, limit))
        self.level = v
        self.writes.append(v)
        return None


def allow_section():
    h = [keys.badge_hash(KEY, uid) for uid in UIDS]
    return {"version": 1, "full": True, "remove": [], "add": [
        {"id": 1, "badge": h[0], "kind": codes.KIND_RESERVATION, "start": T0, "end": T0 + 6 * 3600,
         "reservation": 9},
        {"id": 2, "badge": h[1], "kind": codes.KIND_ROLE, "start": 0, "end": 0, "reservation": 0},
        {"id": 3, "badge": h[2], "kind": codes.KIND_SPOT, "start": 0, "end": 0, "reservation": 0}]}


class World:
    def __init__(self, root=None):
        self.root = root or temp_dir("world")
        self.clock = ManualClock(T0)
        self.ignition = 0
        self.speed = 0
        self.gps = True
        self.box = None
        self.relay = None
        self.boots = 0
        self.boot()
        self.box.apply_response({"allow": allow_section()})

    def boot(self):
        self.boots += 1
        self.relay = WatchedRelay(self)
        self.box = None
        b = box.Box(DirFS(self.root), self.clock, self.relay, KEY)
        self.box = b
        b.boot(self.ignition)
        self.report()

    def report(self):
        """What the GPS says now (one fix), if it has a fix."""
        if self.gps:
            self.box.fix(Fix(t=self.clock.time(), speed_mms=self.speed))

    def step(self, op, arg):
        b = self.box
        if op == "tap":
            b.tap(UIDS[arg % len(UIDS)])
        elif op == "ign":
            self.ignition = arg % 2
            if not self.ignition and self.speed > 3000:
                self.speed = 3000  # engine off: the car rolls to a stop
            if not self.ignition and not self.gps:
                self.speed = 0  # no fix and engine off: see "speed" below
            b.set_ignition(self.ignition)
        elif op == "speed":
            s = SPEEDS[arg % len(SPEEDS)]
            self.speed = s if self.ignition or s <= 3000 else 3000  # coasting at most ~11 km/h
            if not self.ignition and not self.gps:
                # Engine off and no fix: the box cannot know the car rolls (documented limit), so the
                # world does not roll then.
                self.speed = 0
            self.report()
        elif op == "wait":
            seconds = (1, 5, 30, 200, 400, 1000)[arg % 6]
            for _ in range(seconds if seconds <= 30 else 30):
                self.clock.advance(ms=seconds * 1000 // (seconds if seconds <= 30 else 30))
                self.report()
                b.tick()
        elif op == "reboot":
            if arg % 3 == 0:
                self.clock.reboot()  # a power cut: the time is lost too
            else:
                self.clock.advance(ms=300)  # a watchdog reset: the RTC keeps the time
            self.boot()
        elif op == "sync":
            b.apply_response(sync_answer(arg, self))
        elif op == "cmd":
            b.command({"cmd": COMMANDS[arg % len(COMMANDS)], "arg": arg})
        elif op == "gps_off":
            self.gps = bool(arg % 2)
            if not self.gps and not self.ignition:
                self.speed = 0

    def settle(self):
        """Engine off, car stopped, GPS on, long wait: the box must end up armed."""
        self.gps = True
        self.step("ign", 0)
        self.speed = 0
        self.report()
        s = self.box.settings
        total = max(s.get("grace_s"), s.get("start_window_s")) + 60
        for _ in range(total // 10 + 1):
            self.clock.advance(10)
            self.report()
            self.box.tick()

    def close(self):
        remove_tree(self.root)


def sync_answer(arg, world):
    """A server answer chosen by arg: acks (also absurd ones), time, allow-list, config, commands."""
    kind = arg % 6
    if kind == 0:
        return {"ack": world.box.journal.next_seq - 1, "time": world.clock.time() or T0, "error": 0}
    if kind == 1:
        return {"ack": 10 ** 9, "time": 5, "commands": [{"cmd": codes.CMD_REBOOT, "arg": 0}]}
    if kind == 2:
        return {"config": {"grace_s": 30 + arg % 600, "moving_mms": 100000, "start_window_s": 15,
                           "journal_kb": 64}}
    if kind == 3:
        return {"allow": {"version": 2, "full": False, "remove": [1, 2, 3], "add": []},
                "commands": [{"cmd": codes.CMD_RELEASE, "arg": 1}]}
    if kind == 4:
        return {"allow": allow_section(), "time": T0 + arg * 60}
    return {"error": 18, "commands": "junk", "allow": "junk", "config": [1, 2], "ack": "x"}


def run(ops):
    """Play ops (a list of (op, arg)); raise Violation on a broken invariant. Returns the world."""
    world = World()
    try:
        for op, arg in ops:
            world.step(op, arg)
        world.settle()
        if world.relay.level != 1:
            raise Violation("not re-armed after engine off and %d s parked" % world.box.settings.get("grace_s"))
        records = world.box.journal.pending(100000)
        seqs = [r["seq"] for r in records]
        if seqs != sorted(seqs) or len(set(seqs)) != len(seqs):
            raise Violation("journal sequence broken")
        return world
    finally:
        world.close()


def lcg_ops(seed, n):
    """A deterministic op sequence (the corpus replayed under MicroPython)."""
    state = seed * 2654435761 % (1 << 32) or 1
    out = []
    for _ in range(n):
        state = (state * 1103515245 + 12345) % (1 << 31)
        op = OPS[(state >> 8) % len(OPS)]
        state = (state * 1103515245 + 12345) % (1 << 31)
        out.append((op, (state >> 8) % 1000))
    return out
