# Feedback patterns: pulses per outcome, LED back to the immobilizer state, a bounded queue.
import asyncio

from boxfakes import RecordingPin

from app import feedback


def _play(pulses_list, steady=0):
    buzzer = RecordingPin()
    led = RecordingPin()
    fb = feedback.Feedback(buzzer, led)
    fb.steady(steady)
    slept = []

    async def sleep_ms(ms):
        slept.append(ms)

    async def go():
        for pulses in pulses_list:
            await fb.play(pulses, sleep_ms)

    asyncio.run(go())
    return buzzer, led, slept


def test_each_outcome_is_that_many_buzzer_pulses():
    for pulses in (1, 2, 3, 4):
        buzzer, led, slept = _play([pulses])
        assert buzzer.writes == [1, 0] * pulses
        assert slept == [feedback.PULSE_MS, feedback.GAP_MS] * pulses


def test_led_blinks_along_then_shows_the_relay_state():
    _, led, _ = _play([2], steady=1)
    assert led.writes == [1, 1, 0, 1, 0, 1]  # steady on, two blinks, back to steady


def test_queue_is_bounded_and_bad_patterns_dropped():
    fb = feedback.Feedback(RecordingPin(), RecordingPin())
    for pulses in (1, 2, 3, 4, 1, 0, 9):
        fb.show(pulses)
    assert fb.queue == [1, 2, 3, 4] and fb.dropped == 3


def test_busy_while_a_pattern_is_queued_or_playing_so_the_box_stays_awake():
    fb = feedback.Feedback(RecordingPin(), RecordingPin())
    assert not fb.busy()
    seen = []

    async def sleep_ms(ms):
        seen.append(fb.busy())
        await asyncio.sleep(0)

    async def go():
        task = asyncio.create_task(fb.run(sleep_ms))
        await asyncio.sleep(0)
        fb.show(2)
        assert fb.busy()
        for _ in range(20):
            await asyncio.sleep(0)
        task.cancel()

    asyncio.run(go())
    assert seen and all(seen)  # busy through the pulses and the gap after them
    assert not fb.busy()
