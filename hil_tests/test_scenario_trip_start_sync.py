"""Issue 16: the server learns of a badge-in while the car is being driven, not at the trip-end sync, so
the no-show release never frees a booking on the road and the car is not offered to someone else."""

from hil_tests.harness import gps
from hil_tests.harness.control import GRANTED
from hil_tests.harness.seed import BADGES

HOUR = 3600
MINUTE = 60


def test_a_badge_in_reaches_the_server_during_the_drive_and_the_booking_is_never_released(make_bench):
    from server.queries import reservations
    from server.queries.common import Rules

    bench = make_bench(factor=120)  # 1 real second = 2 simulated minutes
    box = bench.box(6, start=False)
    now = bench.clock.now()
    # the agent comes 25 minutes late: the no-show release is due 5 minutes after the badge-in
    booking = bench.fleet.reserve(6, "alice", now - 25 * MINUTE, now + 2 * HOUR)
    box.start()
    assert bench.wait_sync(6, timeout=30), "the box never synced:\n" + bench.diagnostics()
    since = box.control.mark()
    box.reader.tap(BADGES["alice"])
    released = box.control.wait_pin("relay", 0, 5, since=since)
    box.control.set_ignition(1)
    box.reader.remove()
    assert released is not None and box.feedback(since) == GRANTED, bench.diagnostics()
    badge_in = bench.clock.now()
    done = box.gps.drive(gps.route(seed=6, kind="mixed", duration_s=40 * MINUTE, start=box.gps.position),
                         wait=False)
    try:
        open_trips = bench.fleet.wait(lambda: [t for t in bench.fleet.trips(6) if t["end"] is None], timeout=15)
        assert open_trips, "the trip start never reached the server during the drive:\n" + bench.diagnostics()
        assert not done.is_set(), "the drive ended before the server heard of it"
        arrived = bench.clock.now()
        assert arrived - badge_in <= 5 * MINUTE, "the trip-start sync came %d s after the badge-in" % (
            arrived - badge_in)
        assert open_trips[0]["reservation_id"] == booking
        # past the no-show time, still driving: the server's release keeps the booking
        bench.fleet.wait(lambda: bench.clock.now() > badge_in + 10 * MINUTE, timeout=15)
        outcome = reservations.release_no_shows(bench.fleet.db, int(bench.clock.now()), Rules().no_show_delay_s)
        assert outcome["released"] == 0
        row = bench.fleet.rows("SELECT status, started_at FROM reservations WHERE id = ?", (booking,))[0]
        assert row["status"] == "booked" and row["started_at"]
        assert not done.is_set()
    finally:
        done.wait(60)
