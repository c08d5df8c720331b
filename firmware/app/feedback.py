# What the agent sees and hears after a tap: buzzer pulses (and the LED blinking with them):
# 1 granted, 2 no reservation now, 3 denied, 4 box not ready (the outcome numbers of app/access.py).
# Between patterns the LED shows the immobilizer: lit = starter released.
# Patterns play in real time (a person listens), whatever the simulated clock factor.
PULSE_MS = 120
GAP_MS = 180


class Feedback:
    def __init__(self, buzzer, led):
        self.buzzer = buzzer
        self.led = led
        self.queue = []
        self.led_steady = 0
        self.played = 0
        self.dropped = 0
        self._event = None  # an asyncio.Event, made by run() (no event loop work at construction)
        self._playing = False

    def show(self, pulses):
        if 1 <= pulses <= 4 and len(self.queue) < 4:
            self.queue.append(pulses)
            if self._event is not None:
                self._event.set()
        else:
            self.dropped += 1

    def steady(self, on):
        self.led_steady = 1 if on else 0
        if not self.queue:
            self.led.value(self.led_steady)

    async def play(self, pulses, sleep_ms):
        for _ in range(pulses):
            self.buzzer.value(1)
            self.led.value(1)
            await sleep_ms(PULSE_MS)
            self.buzzer.value(0)
            self.led.value(0)
            await sleep_ms(GAP_MS)
        self.played += 1
        self.led.value(self.led_steady)

    def busy(self):
        """A pattern is queued or playing (the box must stay awake to play it)."""
        return bool(self.queue) or self._playing

    async def run(self, sleep_ms):
        """Play queued patterns forever; sleep_ms is a real-time async sleep. Idle costs nothing: the
        task waits on an event that show() sets."""
        import asyncio

        self._event = asyncio.Event()
        while True:
            if not self.queue:
                await self._event.wait()
                self._event.clear()
                continue
            self._playing = True
            try:
                await self.play(self.queue.pop(0), sleep_ms)
                await sleep_ms(1000)  # patterns apart from each other
            finally:
                self._playing = False
