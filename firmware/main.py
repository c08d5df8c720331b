# Box entry point: wires the asyncio tasks around app.box.Box; nothing else.
# ESP32: runs at boot. Unix port: `micropython main.py --config PATH` from build/firmware or firmware/.
# Tasks: control/ignition/timers, GPS, badge reader, feedback, sync (modem), watchdog. The reader task
# decides and drives the relay synchronously (Box.tap); only the sync task talks to the modem, so a
# slow or hung modem never delays a badge decision.
import sys

import asyncio
import gc

try:
    import protocol  # noqa: F401  (on the box and in build/firmware it sits next to main.py)
except ImportError:
    sys.path.append("..")  # running from the source tree: protocol/ is at the repository root

import hal
from drivers.aio import sleep_ms, wait_for_ms
from app import box as boxmod
from app import feedback
from app import supervisor
from app.version import VERSION
from protocol import keys

RESTART_MS = 2000  # a crashed task is restarted after this
GPS_STALE_MS = 5000
CONTROL_MS = 100  # control tick while the car is in use or a timer runs
GPS_IDLE_MS = 50
PARKED_GPS_MS = 250  # 240 bytes at 9600 baud: well within the 1 KB UART buffer (hal/esp32.py)
PARKED_CONTROL_MS = 1000  # parked (armed, ignition off, nothing pending): a tap wakes the task at once
DOZE_MAX_MS = 10000  # box time: the longest sleep of a parked box (well inside the watchdog's 30 s)
AWAKE_AFTER_DOZE_MS = 20  # real time: a round for the other tasks (reader, GPS, sync check) after a sleep
ARMED_READER_MS = 10  # an armed reader is looked at this often (a read, no command): taps decided at once
BADGE_RESERVE = 2048  # heap bytes held back for the badge path (app/supervisor.py, Reserve)


def _rand(n):
    import random

    return random.getrandbits(16) % n if n > 1 else 0


def _log(*parts):
    print(*parts)


def supervise(name, factory, state):
    return supervisor.supervise(name, factory, state, sleep_ms, RESTART_MS, _log)


def doze_ms(box, plan, state, fb, reader):
    """How long (box ms) the parked box may sleep now, 0 when something needs it awake: a sync session,
    a buzzer pattern, a reader that could not be armed to wake it, a sync due."""
    if state["session"] or fb.busy() or (reader is not None and not reader.armed):
        return 0
    wait = DOZE_MAX_MS if plan is None else plan.next_due_ms(box.clock.ticks_ms(), box)
    if wait is None or wait > DOZE_MAX_MS:
        return DOZE_MAX_MS
    return wait


async def control_task(board, box, ignition, wake, sleep_plan):
    # Ignition sense, timers (grace time, pending arm), the Unix control line. Parked with nothing
    # pending the whole box sleeps (board.doze: no task runs) until the next sync is due or the ignition,
    # the reader or (Unix) the control line wakes it, then gives the other tasks a round; when it may
    # not sleep it ticks ten times less often. The reader task sets `wake` after a tap so a release is
    # followed at once by the fast tick (ignition, grace time).
    while True:
        board.poll()
        box.set_ignition(ignition.value())
        box.supply(board.supply_mv())
        box.tick()
        if box.parked():
            wake.clear()
            ms = sleep_plan()
            if ms:
                board.doze(ms)
                await board.wait_input(wake, AWAKE_AFTER_DOZE_MS)
            else:
                await board.wait_input(wake, PARKED_CONTROL_MS)
        else:
            await sleep_ms(CONTROL_MS)


async def gps_task(box, uart, state):
    from drivers import nmea

    parser = nmea.NmeaParser()
    state["gps_parser"] = parser
    burst = 0
    while True:
        line = uart.readline()
        if not line or burst >= 8:
            burst = 0
            # idle (less often when parked: the receiver's lines wait in the UART buffer), or let the
            # other tasks run during a burst
            await sleep_ms(0 if line else (PARKED_GPS_MS if box.parked() else GPS_IDLE_MS))
            if not line:
                continue
        burst += 1
        fix = parser.feed(line)
        if fix is not None:
            state["gps_fix_ms"] = box.clock.ticks_ms()
            box.fix(fix)


def _modem_family(config):
    """config.json "modem": a family name forces it; absent, "auto" or unknown: read from the modem."""
    from drivers import modem as modems

    name = config["modem"]
    if name not in modems.FAMILIES:
        if name != "auto":
            _log("config: unknown modem", name, "- asking the modem")
        name = None
    return name


def make_reader(kind, uart):
    if kind == "rdm6300":
        from drivers import rdm6300

        return rdm6300.RDM6300(uart)
    from drivers import pn532

    return pn532.PN532(uart)


async def reader_task(box, reader, fb, wake, reserve):
    # Parked, the reader is armed: it answers only when a card comes, which wakes a sleeping box.
    reserve.release()  # a restart after a MemoryError: arming the reader needs the room first
    await reader.start()
    while True:
        reserve.take()
        if box.parked():
            if not reader.armed:
                await reader.arm()
        elif reader.armed:
            await reader.disarm()
        uid = await reader.poll()
        if uid:
            reserve.release()
            decision = box.tap(uid)
            reserve.take(now=True)  # nothing else ran meanwhile (no await): the room is still there
            fb.show(decision.outcome)
            wake.set()
        else:
            await sleep_ms(ARMED_READER_MS if reader.armed else 40)


async def sync_task(box, board, modem, client, plan, state, apn):
    settings = box.settings

    def health(csq):
        gps = 0
        last = state.get("gps_fix_ms")
        if last is not None and box.clock.ticks_ms() - last < GPS_STALE_MS * board.clock.factor:
            gps = 1
        return box.health(VERSION, csq, board.supply_mv(), gps, client.rx)

    while True:
        await sleep_ms(500)
        now_ms = box.clock.ticks_ms()
        reason = plan.due(now_ms, box)
        if not reason:
            continue
        wanted = box.sync_wanted
        box.sync_wanted = 0
        timeout_ms = settings.get("sync_timeout_s") * 1000
        state["session"] = True  # the box stays awake for the whole session
        try:
            ok = await wait_for_ms(client.run_once(modem, health, apn, timeout_ms),
                                   timeout_ms * 2)
        except asyncio.TimeoutError:
            ok = False
            try:
                await modem.power_off()
            except Exception:
                pass
            modem.stop()
        finally:
            state["session"] = False
        state["syncs"] += 1
        if ok:
            plan.succeeded(box.clock.ticks_ms(), reason, box)
        else:
            box.sync_wanted |= wanted
            if not client.retry_now:
                plan.failed(box.clock.ticks_ms(), client.last_error)


async def watchdog_task(dog):
    while True:
        dog.feed()
        await sleep_ms(1000)


async def main():
    board = hal.board()
    board.announce(VERSION)
    from app import config as box_config  # config.json: one schema, checked once, problems named on the console

    config = box_config.checked(board.config, _log)
    try:
        key = keys.parse_hex_key(config["key"])
    except Exception:
        key = None
    state = {"crashes": 0, "syncs": 0, "gps_fix_ms": None, "session": False}
    fb = feedback.Feedback(board.pin("buzzer"), board.pin("led"))

    odometer = None
    try:
        from app.odometer import Odometer

        odometer = Odometer()
    except ImportError:
        pass
    box = boxmod.Box(board.fs, board.clock, board.pin("relay"), key or bytes(16), config["box_id"],
                     odometer, on_relay=lambda v: fb.steady(v == 0))
    ignition = board.pin("ignition")
    board.poll()
    box.boot(ignition.value(), board.reset_cause())
    gc.collect()
    if key is None:
        box.ready = False  # no valid key: every tap answers "not ready" (4 pulses); the relay logic runs
        _log("config: no valid key")

    wake = asyncio.Event()
    # filled below: the sync plan and the reader decide with the rest whether the parked box may sleep
    parts = {"plan": None, "reader": None}  # type: dict

    def sleep_plan():
        return doze_ms(box, parts["plan"], state, fb, parts["reader"])

    tasks = [
        supervise("control", lambda: control_task(board, box, ignition, wake, sleep_plan), state),
        supervise("feedback", lambda: fb.run(sleep_ms), state),
        watchdog_task(board.watchdog(config["watchdog_ms"])),
    ]
    gps_uart = board.uart("gps")
    if gps_uart is not None:
        tasks.append(supervise("gps", lambda: gps_task(box, gps_uart, state), state))
    reader_uart = board.uart("reader")
    if reader_uart is not None:
        reader = parts["reader"] = make_reader(config["reader"], reader_uart)
        reserve = supervisor.Reserve(BADGE_RESERVE)
        tasks.append(supervise("reader", lambda: reader_task(box, reader, fb, wake, reserve), state))
    modem_uart = board.uart("modem")
    if modem_uart is not None and key is not None:
        gc.collect()
        from app import sync  # frame/records/crypto: loaded only on a box that can sync
        from drivers import modem as modems

        modem = modems.Modem(modem_uart, power=board.modem_power, family=_modem_family(config))
        client = sync.SyncClient(box, config, key, hal.urandom)
        client.load()
        plan = parts["plan"] = sync.SyncPlan(box.settings, _rand)
        tasks.append(supervise("sync", lambda: sync_task(box, board, modem, client, plan, state, config["apn"]), state))
    gc.collect()
    await asyncio.gather(*[asyncio.create_task(t) for t in tasks])


asyncio.run(main())
