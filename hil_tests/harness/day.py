"""The scripted working day a box plays on the bench (heap benchmark, demo-like checks).

Alice has a reservation in the morning, Bob takes the car on the spot after lunch, the fleet manager
moves it in the evening; each drives a generated route. Returns what the bench did so a caller can
check the server against it.
"""

from hil_tests.harness import gps
from hil_tests.harness.seed import BADGES

HOUR = 3600
MINUTE = 60


def book(bench, box_id):
    now = bench.clock.now()
    return bench.fleet.reserve(box_id, "alice", now + 5 * MINUTE, now + 50 * MINUTE)


def play(bench, box, drive_minutes=(20, 15, 10), kinds=("urban", "mixed", "urban")):
    """Play the day on a started, synced box; returns {"taps": n, "trips": n, "metres": true length}."""
    start = bench.clock.now()
    who = ("alice", "bob", "max")
    done = {"taps": 0, "trips": 0, "metres": 0.0, "granted": 0}
    for i, minutes in enumerate(drive_minutes):
        bench.clock.sleep_until(start + (15 + i * 45) * MINUTE)
        uid = BADGES[who[i % 3]]
        since = box.control.mark()
        box.reader.tap(uid)
        released = box.control.wait_pin("relay", 0, 5, since=since)
        if released is not None:
            box.control.set_ignition(1)  # within the start window, whatever the clock factor
        box.reader.remove()
        done["taps"] += 1
        if released is None:
            continue
        done["granted"] += 1
        route = gps.route(seed=box.box_id * 10 + i, kind=kinds[i % len(kinds)], duration_s=minutes * 60,
                          start=box.gps.position)
        box.gps.drive(route)
        box.control.set_ignition(0)
        bench.clock.sleep(2 * MINUTE)
        since = box.tap(uid)
        done["taps"] += 1
        box.control.wait_pin("relay", 1, 5, since=since)
        done["trips"] += 1
        done["metres"] += getattr(route, "length_m", 0.0)
    return done
