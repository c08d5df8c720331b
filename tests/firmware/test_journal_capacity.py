# Capacity: 30 days of a busy car, never acknowledged (no network for a month), fit in 512 KB with
# nothing evicted. Busy car: 8 trips a day, 4 h of driving, a position every 30 s while driving,
# two badge taps per trip, ignition and relay events.
from support import temp_dir

from app import journal
from hal.fsdir import DirFS

BADGE = b"\x11\x22\x33\x44\x55\x66\x77\x88"


def busy_day(j, day):
    t = 1700000000 + day * 86400
    for trip in range(8):
        t += 1800
        j.append({"type": "badge", "t": t, "badge": BADGE, "granted": True, "reason": 1})
        j.append({"type": "trip_start", "t": t, "trip": day * 8 + trip, "badge": BADGE, "reservation": 9,
                  "odo_m": 100000})
        j.append({"type": "event", "t": t, "code": 1, "value": 1})
        j.append({"type": "event", "t": t, "code": 2, "value": 0})
        for _ in range(60):  # 30 min of driving
            t += 30
            j.append({"type": "pos", "t": t, "lat": 472186000 + t % 100000, "lon": -15536000 - t % 100000,
                      "speed": 1500, "course": 180})
        j.append({"type": "event", "t": t, "code": 1, "value": 0})
        j.append({"type": "badge", "t": t, "badge": BADGE, "granted": True, "reason": 1})
        j.append({"type": "trip_end", "t": t, "trip": day * 8 + trip, "odo_m": 120000, "distance_m": 20000,
                  "reason": 1})
        j.append({"type": "event", "t": t, "code": 2, "value": 1})


def test_thirty_busy_days_fit_in_512_kb_without_eviction():
    root = temp_dir("jcap")
    j = journal.Journal(DirFS(root), budget=512 * 1024)
    j.open()
    for day in range(30):
        busy_day(j, day)
    assert j.rejected == 0 and j.evicted == 0
    assert j.backlog() == 30 * 8 * 68
    on_disk = 0
    for name in DirFS(root).listdir("j"):
        on_disk += DirFS(root).size("j/" + name)
    assert on_disk <= 512 * 1024, on_disk
