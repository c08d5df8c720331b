"""`make demo`: the server with the demo fleet, and emulated boxes running the real firmware through a
working day, so the pages fill with trips and kilometres.

    python -m tools.demo                      # http://127.0.0.1:5000, 4 boxes, 1 real minute = 1 simulated hour
    python -m tools.demo --once --factor 600  # play one day fast, print what the server got, exit
    python -m tools.demo --duration 120       # stop after two real minutes

The server's mails (booking confirmations, reminders, releases...) go to a local SMTP sink (aiosmtpd) and
are shown at /demo/courriels, a page that exists only in the demo.

The whole demo shares one simulated clock (server, boxes, GPS): the day starts at 07:55 today and runs
`--factor` times faster than real time. Data lives in instance/demo/ (recreated at each start unless
--keep). Ctrl-C (or SIGTERM) stops every process the demo started. Exit codes: 0 done, 1 a part failed
to start or (with --once) the server got no trip, 2 bad arguments.
"""

import argparse
import os
import shutil
import signal
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

HOUR = 3600
MINUTE = 60
DAY_START = 7 * HOUR + 55 * MINUTE  # simulated day starts at 07:55 UTC today
# (start offset from 08:00, reservation length, drive minutes, route kind) per trip of a box's day.
TRIPS = (
    (5 * MINUTE, 2 * HOUR, 25, "urban"),
    (2 * HOUR + 40 * MINUTE, 2 * HOUR, 40, "mixed"),
    (6 * HOUR, 2 * HOUR + 30 * MINUTE, 30, "mixed"),
    (8 * HOUR + 40 * MINUTE, HOUR, 15, "urban"),
)


class Stopped(Exception):
    pass


_SAY_LOCK = threading.Lock()


def say(text):
    # Boxes report from their own threads: one whole line at a time.
    with _SAY_LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


class Demo:
    def __init__(self, args):
        self.args = args
        self.dir = os.path.abspath(args.dir)
        self.stop_event = threading.Event()
        self.server = None
        self.fleet = None
        self.boxes = []
        self.threads = []
        self.errors = []
        self.trips_played = 0
        self.sink = None
        self.mailbox = None

    # --- set-up --------------------------------------------------------------------------------
    def prepare(self):
        from hil_tests.harness.simclock import SimClock

        if os.path.isdir(self.dir) and not self.args.keep:
            shutil.rmtree(self.dir)
        os.makedirs(self.dir, exist_ok=True)
        today = int(time.time()) // 86400 * 86400
        self.clock = SimClock(self.args.factor, epoch=today + DAY_START)
        self.db_path = os.path.join(self.dir, "autopartage.sqlite")
        say("[1/4] database %s: demo fleet (DDT, DDPP, DDCS, DSDEN)" % self.db_path)
        from server.queries import demo as server_demo
        from server.db import connect
        from server.migrations import apply

        db = connect(self.db_path)
        apply(db)
        self.logins = server_demo.populate(db, now=int(self.clock.now()))
        db.conn.close()

    def start_mail_sink(self):
        """A local SMTP server that keeps the server's mails (shown at /demo/courriels); the demo runs without
        mail when aiosmtpd (a development dependency) is missing."""
        try:
            from server.mail.sink import Sink
        except ImportError:
            say("      no mail sink (aiosmtpd missing: make setup): the server's mails stay queued")
            return {}
        self.mailbox = os.path.join(self.dir, "courriels.mbox")
        self.sink = Sink(mbox_path=self.mailbox).start()
        settings = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.sink.port, "SMTP_SECURITY": "none",
                    "MAIL_FROM": "Autopartage (démo) <autopartage@demo.gouv.fr>", "MAIL_WORKER_THREAD": True,
                    "MAIL_POLL_SECONDS": 1, "DEMO_MAILBOX": self.mailbox}
        if self.args.port:
            settings["PUBLIC_URL"] = "http://%s:%d" % (self.args.host, self.args.port)
        return settings

    def start_server(self):
        from hil_tests.harness.live_server import ServerProcess

        settings = self.start_mail_sink()
        self.server = ServerProcess(self.db_path, host=self.args.host, port=self.args.port, clock=self.clock,
                                    log_path=os.path.join(self.dir, "server.log"), settings=settings)
        self.server.start()
        say("[2/4] server on %s (log %s)" % (self.server.url, self.server.log_path))
        if settings:
            say("      mail sink on 127.0.0.1:%d: the server's mails at %s/demo/courriels"
                % (self.sink.port, self.server.url))

    def start_boxes(self):
        from hil_tests.harness.box import Box
        from hil_tests.harness.firmware import firmware_dir
        from hil_tests.harness.seed import connect
        from server.queries import boxes as boxes_q
        from tools import tracks

        db = connect(self.db_path)
        # The boxes go into the first cars of the shared pool (on-the-spot use allowed there).
        cars = [dict(r) for r in db.execute(
            "SELECT v.id, v.plate, v.pool_id FROM vehicles v JOIN pools p ON p.id = v.pool_id "
            "ORDER BY p.on_the_spot DESC, v.id LIMIT ?", (self.args.boxes,)).fetchall()]
        self.box_db = db
        for n, car in enumerate(cars):
            box_id = 101 + n
            say("[3/4] box %d in %s: firmware %s, GPS, SIM800 and PN532 emulators"
                % (box_id, car["plate"], firmware_dir()))
            _name, lat, lon = tracks.PREFECTURES[n % len(tracks.PREFECTURES)]
            box = Box(os.path.join(self.dir, "boxes", str(box_id)), box_id, self.server.address, clock=self.clock,
                      vehicle=car["plate"], gps_position=(lat, lon))
            boxes_q.register(db, box_id, car["id"], box.key_hex)
            box.car = car
            self.boxes.append(box)
        # The day's bookings exist before the boxes boot: their first sync brings them.
        self.plans = self.book_day()
        for box in self.boxes:
            box.start(boot_timeout=30)
        for box in self.boxes:
            deadline = time.monotonic() + 60
            while not (db.execute("SELECT last_counter FROM boxes WHERE id = ?", (box.box_id,)).fetchone()[0]):
                if time.monotonic() > deadline:
                    raise RuntimeError("box %d never synced; log:\n%s" % (box.box_id, box.firmware.log()))
                time.sleep(0.2)
            box.wait_modem_idle(quiet_s=1.0)  # a first boot chains the counter handshake and the sync
            say("      box %d synced with the server" % box.box_id)

    # --- the working day -------------------------------------------------------------------------
    def drivers_for(self, car):
        """Agents habilitated for the car's pool who carry a badge, with their clear UID (tapped on the reader)."""
        return [dict(r) for r in self.box_db.execute(
            "SELECT a.id, a.name, b.uid_hex FROM agents a JOIN badges b ON b.agent_id = a.id AND b.active "
            "JOIN habilitations h ON h.pool_id = ? AND (h.department_id = a.department_id OR h.agent_id = a.id) "
            "WHERE a.active AND a.role = 'agent' ORDER BY a.id", (car["pool_id"],)).fetchall()]

    def book_day(self):
        from server.queries import reservations
        from server.queries.common import Rules

        day0 = int(self.clock.epoch) - DAY_START + 8 * HOUR
        plans = {}
        for n, box in enumerate(self.boxes):
            drivers = self.drivers_for(box.car)
            plan = []
            for i, (offset, length, minutes, kind) in enumerate(TRIPS[:self.args.trips]):
                driver = drivers[(n * 7 + i * 3) % len(drivers)]
                start = day0 + offset
                try:
                    rid = reservations.create(self.box_db, driver["id"], box.car["id"], start, start + length,
                                              now=start - HOUR, rules=Rules())
                except Exception as exc:  # a demo booking the rules refuse: drive on the spot instead
                    say("  booking refused (%s): on-the-spot trip" % exc)
                    rid = None
                plan.append((start, driver, minutes, kind, rid))
            plans[box.box_id] = plan
        return plans

    def wait_until(self, epoch):
        while self.clock.now() < epoch:
            if self.stop_event.wait(min(0.2, max(0.01, (epoch - self.clock.now()) / self.clock.factor))):
                raise Stopped()

    def play_box(self, box, plan):
        from hil_tests.harness import gps

        try:
            for number, (start, driver, minutes, kind, _rid) in enumerate(plan):
                self.wait_until(start + 2 * MINUTE)
                uid = bytes.fromhex(driver["uid_hex"])
                since = box.control.mark()
                box.reader.tap(uid)
                released = box.control.wait_pin("relay", 0, 5, since=since)
                if released is not None:
                    box.control.set_ignition(1)  # the driver starts the engine at once (start window)
                box.reader.remove()
                pulses = box.feedback(since, timeout=5)
                say("  %s box %d: %s badges in -> %s" % (self.hhmm(), box.box_id, driver["name"],
                                                         {1: "granted", 2: "no reservation now", 3: "denied",
                                                          4: "box not ready"}.get(pulses, "%d pulses" % pulses)))
                if released is None:
                    continue
                route = gps.route(seed=box.box_id * 10 + number, kind=kind, duration_s=minutes * 60,
                                  start=box.gps.position)
                done = box.gps.drive(route, wait=False)
                while not done.wait(0.2):
                    if self.stop_event.is_set():
                        raise Stopped()
                box.control.set_ignition(0)
                self.wait_until(self.clock.now() + 3 * MINUTE)
                box.tap(uid)
                self.trips_played += 1
                say("  %s box %d: %s returns the car after %d min (%.1f km driven)"
                    % (self.hhmm(), box.box_id, driver["name"], minutes, getattr(route, "length_m", 0) / 1000))
        except Stopped:
            pass
        except Exception as exc:
            self.errors.append("box %d: %r" % (box.box_id, exc))
            say("  box %d stopped playing: %r" % (box.box_id, exc))

    def hhmm(self):
        return time.strftime("%H:%M", time.gmtime(self.clock.now()))

    def play_day(self):
        plans = self.plans
        say("[4/4] playing the day from %s (x%d: one real minute = %d simulated minutes)"
            % (self.hhmm(), self.clock.factor, self.clock.factor))
        for box in self.boxes:
            t = threading.Thread(target=self.play_box, args=(box, plans[box.box_id]), daemon=True)
            t.start()
            self.threads.append(t)

    def day_done(self):
        return all(not t.is_alive() for t in self.threads)

    def summary(self):
        from hil_tests.harness.seed import connect

        db = connect(self.db_path)
        try:
            row = db.execute("SELECT count(*), coalesce(sum(distance_m), 0) FROM trips WHERE box_id >= 101 "
                             "AND box_id < ?", (101 + len(self.boxes),)).fetchone()
            # bookings a trip was driven under, and those of them the server released as no-shows (must be 0)
            driven = db.execute("SELECT count(*), coalesce(sum(status = 'no_show'), 0) FROM reservations "
                                "WHERE unplanned = 0 AND id IN (SELECT reservation_id FROM trips WHERE box_id >= 101 "
                                "AND box_id < ?)", (101 + len(self.boxes),)).fetchone()
            return row[0], row[1], driven[0], driven[1]
        finally:
            db.conn.close()

    def stop(self):
        self.stop_event.set()
        for t in self.threads:
            t.join(3)
        for box in reversed(self.boxes):
            try:
                box.stop()
            except Exception:
                pass
        if self.server is not None:
            self.server.stop()
        if self.sink is not None:
            self.sink.stop()
        if getattr(self, "box_db", None) is not None:
            self.box_db.conn.close()
            self.box_db = None


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tools.demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to serve on")
    parser.add_argument("--port", type=int, default=5000, help="HTTP port (0: any free port)")
    parser.add_argument("--boxes", type=int, default=4, help="emulated boxes (default 4)")
    parser.add_argument("--trips", type=int, default=len(TRIPS), help="trips per box in the day (1..%d)" % len(TRIPS))
    parser.add_argument("--factor", type=int, default=60, help="simulated seconds per real second (default 60)")
    parser.add_argument("--dir", default=os.path.join(ROOT, "instance", "demo"), help="data directory")
    parser.add_argument("--keep", action="store_true", help="keep the previous demo data instead of starting afresh")
    parser.add_argument("--once", action="store_true", help="exit once the day is played and synced")
    parser.add_argument("--duration", type=float, default=None, help="exit after this many real seconds")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host != "localhost":
        parser.error("the demo serves on loopback only")
    if not 1 <= args.trips <= len(TRIPS) or not 0 <= args.boxes <= 44 or args.factor < 1:
        parser.error("--trips 1..%d, --boxes 0..44, --factor >= 1" % len(TRIPS))
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    demo = Demo(args)

    def on_signal(_sig, _frame):
        raise KeyboardInterrupt

    # SIGINT too: a shell starting the demo in the background leaves SIGINT ignored, Python then keeps it so.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    status = 0
    started = time.monotonic()
    try:
        demo.prepare()
        demo.start_server()
        demo.start_boxes()
        say("")
        for line in demo.logins:
            say("  " + line)
        say("\nOpen %s  (Ctrl-C stops the server and the boxes)\n" % demo.server.url)
        demo.play_day()
        while True:
            time.sleep(0.5)
            if args.duration is not None and time.monotonic() - started >= args.duration:
                break
            if args.once and demo.day_done():
                # The last trip-end syncs: give them a few simulated minutes.
                time.sleep(max(2.0, 600 / args.factor))
                break
            if not demo.server.alive():
                say("the server stopped:\n" + demo.server.log())
                status = 1
                break
    except KeyboardInterrupt:
        say("\nstopping...")
    except Exception as exc:
        say("demo failed: %s" % exc)
        status = 1
    finally:
        try:
            if demo.server is not None and os.path.exists(demo.db_path):
                trips, metres, driven, no_show = demo.summary()
                say("trips_on_server: %d" % trips)
                say("km_on_server: %.1f" % (metres / 1000))
                say("driven_bookings: %d" % driven)
                say("driven_bookings_released_as_no_show: %d" % no_show)
                if demo.sink is not None:
                    say("mails_caught: %d" % len(demo.sink.messages))
                if args.once and trips == 0:
                    status = 1
        except Exception as exc:
            say("could not read the database: %s" % exc)
        demo.stop()
        for error in demo.errors:
            say("error: " + error)
    return status


if __name__ == "__main__":
    sys.exit(main())
