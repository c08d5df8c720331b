# The modem contract: `Modem` is what the sync client talks to, whatever SIMCom family is behind it
# (power up, identify, register, one TCP exchange, signal, network time, power down, the recovery ladder).
# What differs between families (init commands, bearer, TCP commands, URCs, power-key timing) is a
# `Family` subclass, one module per family: drivers/sim800.py, drivers/a7670.py, drivers/sim7080.py.
# The family is read from AT+CGMM at the first start, or forced (config.json "modem"). The exact AT
# conversations are in docs/modem.md; drivers/at.py routes the lines.
from drivers.aio import TimeoutError, sleep_ms, ticks_diff, ticks_ms, wait_for_ms
from drivers.at import URCS, ATEngine, ModemError, ModemTimeout
from drivers.atparse import REGISTERED, field_ints, info, parse_cclk, registration_status

__all__ = ("Modem", "Family", "ModemError", "ModemTimeout", "FAMILIES", "family_of")

FAMILIES = ("sim800", "sim7000", "a7670", "sim7080")

# Before the family is known the power key is held 1.1 s: longer than every family's power-on minimum
# (SIM800 1 s, SIM7080 1 s, A7670 50 ms) and shorter than the A7670's power-off press (2.5 s).
DEFAULT_PULSE_MS = 1100
T_SHORT = 1000
T_CGATT = 75000
REG_WAIT_MS = 60000


def family_of(model):
    """Family name of an AT+CGMM / ATI model string ("SIMCOM_SIM800L", "A7670E-LASE", "SIMCOM_SIM7080G"),
    or None when unknown."""
    text = model.upper()
    for marker, name in (("A76", "a7670"), ("SIM708", "sim7080"), ("SIM707", "sim7080"), ("SIM709", "sim7080"),
                         ("SIM7000", "sim7000"), ("SIM800", "sim800"), ("SIM808", "sim800")):
        if marker in text:
            return name
    return None


def family_class(name):
    # Imported on demand: a box loads only the module of the modem it carries.
    if name == "a7670":
        from drivers.a7670 import A7670

        return A7670
    if name == "sim7080":
        from drivers.sim7080 import Sim7080

        return Sim7080
    if name == "sim7000":
        from drivers.sim800 import Sim7000

        return Sim7000
    if name == "sim800":
        from drivers.sim800 import Sim800

        return Sim800
    raise ValueError("unknown modem family %s" % name)


class Family:
    """What one SIMCom family does its own way. Subclasses set the attributes and implement the async
    methods; `self.m` is the Modem (its command(), flags and wait_result())."""

    name = ""  # the base class stands for "not identified yet": timings safe for every family
    pulse_ms = DEFAULT_PULSE_MS  # PWRKEY press that powers it on (hardware design manual)
    off_ms = 3000  # wait after switching it off before switching it on again
    boot_ms = 10000  # from power-on to the first AT answered
    init = ()  # type: tuple  # configuration after ATE0 and AT+CMEE=1
    reg = ("AT+CREG?",)  # type: tuple  # registration queries: registered when any says home or roaming
    urcs = ()  # type: tuple  # (prefix, name, exact) in front of drivers/at.py's URCS; names: closed, pdp_deact, rx_ready...
    chunk = 1024  # bytes per send command
    rxget_link = False

    def __init__(self, modem):
        self.m = modem

    async def bring_up(self, apn):
        """Attach the data bearer with `apn` (registration is already checked)."""
        raise NotImplementedError

    async def open(self, host, port, timeout_ms):
        raise NotImplementedError

    async def send(self, part, timeout_ms):
        raise NotImplementedError

    async def pull(self, timeout_ms):
        """Read the data the modem announced (rx_ready) into the engine's rx; nothing for pushed data."""

    async def read_until_drained(self, cmd, prefix, more, timeout_ms):
        """pull() for the families that read with a command: send `cmd` (its data lands in the engine's
        rx) again while `more(numbers of the reply's `prefix` line)` says data is left. An error means the
        connection is already gone: nothing more to read either."""
        while True:
            try:
                lines = await self.m.command(cmd, min(timeout_ms, T_SHORT * 5))
            except ModemError:
                return
            line = info(lines, prefix)
            if line is None or not more(field_ints(line)):
                return

    async def close(self):
        """Close the TCP connection (errors ignored by the caller)."""
        raise NotImplementedError

    async def bring_down(self):
        """Release the bearer (the ladder's bearer reset)."""
        raise NotImplementedError

    async def shutdown(self):
        """Power down by command, before the supply goes."""
        raise NotImplementedError


class Modem:
    """Modem(stream, power=None, family=None, poll_ms=10). `power` is an async callable
    `power(on, pulse_ms)` (the HAL's modem_power) or None (always on, no power-cycle). `family` None:
    read from AT+CGMM at the first start()."""

    def __init__(self, stream, power=None, family=None, poll_ms=10):
        if family is not None and family not in FAMILIES:
            raise ValueError("unknown modem family %s" % family)
        self.power = power
        self.at = ATEngine(stream, self._urc, poll_ms)
        self.family = Family(self)
        self.model = None
        self.ready = False
        self.bearer = False
        # Whether we believe the modem is powered: off until start() switches it on when we hold its
        # power line (the pin level at boot is not ours to trust); always "on" without a power line.
        self.powered = power is None
        self.apn = None
        self.sim = None
        self.rings = 0
        self.undervoltage = 0
        self.restarts = 0
        self.recoveries = 0
        self.reg_wait_ms = REG_WAIT_MS
        self.results = {}  # name -> line: asynchronous results (+CIPOPEN: 0,0 after OK)
        self.closed = False
        self.lost = False
        self.rx_ready = False
        if family is not None:
            self._use(family)

    def _use(self, name):
        self.family = family_class(name)(self)
        self.at.table = self.family.urcs + URCS
        self.at.rxget_link = self.family.rxget_link

    # ---------------------------------------------------------------- URCs
    def _urc(self, name, line):
        if name == "closed":
            self.closed = True
        elif name == "pdp_deact":
            self.lost = True
            self.bearer = False
        elif name == "rx_ready":
            self.rx_ready = True
        elif name == "ring":
            self.rings += 1
        elif name == "undervoltage":
            self.undervoltage += 1
        elif name in ("rdy", "power_down"):
            if self.ready:
                self.restarts += 1
            self.ready = False
            self.bearer = False
            self.lost = True
        elif name == "cpin":
            self.sim = line[6:].strip()
        else:
            self.results[name] = line

    @property
    def urcs(self):
        return self.at.urcs

    # ---------------------------------------------------------------- basics
    async def command(self, cmd, timeout_ms=T_SHORT, **kw):
        return await self.at.command(cmd, timeout_ms, **kw)

    async def wait_result(self, name, timeout_ms, command):
        """The asynchronous result `name` (e.g. +CIPOPEN: after OK), or ModemTimeout(command, ms).
        Clear `results[name]` before sending the command."""
        start = ticks_ms()
        net = self.at.net
        while name not in self.results:
            self.check_link()
            left = timeout_ms - ticks_diff(ticks_ms(), start)
            if left <= 0:
                raise ModemTimeout(command, timeout_ms)
            net.clear()
            if name in self.results:
                break
            try:
                await wait_for_ms(net.wait(), left)
            except TimeoutError:
                pass
        return self.results.pop(name)

    async def _switch(self, on):
        await self.power(1 if on else 0, self.family.pulse_ms)
        self.powered = bool(on)

    async def start(self):
        """Power the modem on if we switched it off, sync with it, identify it once, configure it."""
        self.at.start()
        if self.power is not None and not self.powered:
            self.at.reset_input()
            await self._switch(1)
        # AT until it answers: covers the boot time after power-on and the autobaud sync. A RDY
        # arriving meanwhile fails the AT in flight at once and the loop simply sends the next one.
        limit = self.family.boot_ms + 3000
        begin = ticks_ms()
        while True:
            try:
                await self.command("AT", 500)
                break
            except (ModemTimeout, ModemError):
                if ticks_diff(ticks_ms(), begin) >= limit:
                    raise
        await self.command("ATE0")
        await self.command("AT+CMEE=1")
        if not self.family.name:
            await self.identify()
        for cmd in self.family.init:
            await self.command(cmd)
        lines = await self.command("AT+CPIN?", 5000)
        cpin = info(lines, "+CPIN:")
        self.sim = cpin[6:].strip() if cpin else None
        if self.sim != "READY":
            raise ModemError("AT+CPIN?", lines)
        self.ready = True

    async def identify(self):
        """AT+CGMM -> the model; picks the family unless it was forced. ModemError if unknown."""
        lines = await self.command("AT+CGMM")
        model = None
        for line in lines[:-1]:
            if line and not line.startswith("+"):
                model = line
        self.model = model
        if not self.family.name:
            name = family_of(model or "")
            if name is None:
                raise ModemError("AT+CGMM", lines)
            self._use(name)
        return self.model

    async def _ensure_ready(self):
        if not self.ready:
            await self.start()

    async def registered(self):
        await self._ensure_ready()
        for query in self.family.reg:
            line = info(await self.command(query), query[2:-1] + ":")
            if line is not None and registration_status(line) in REGISTERED:
                return True
        return False

    async def signal_quality(self):
        await self._ensure_ready()
        line = info(await self.command("AT+CSQ"), "+CSQ:")
        if line is None:
            return 99
        rssi = field_ints(line)[0]
        return rssi if rssi is not None and 0 <= rssi <= 31 else 99

    async def network_time(self):
        await self._ensure_ready()
        line = info(await self.command("AT+CCLK?"), "+CCLK:")
        return parse_cclk(line) if line else None

    # ---------------------------------------------------------------- data
    async def attach(self, apn):
        """Wait for registration (reg_wait_ms), attach and bring the family's bearer up."""
        await self._ensure_ready()
        self.apn = apn
        self.bearer = False
        start = ticks_ms()
        while True:
            if await self.registered():
                break
            if ticks_diff(ticks_ms(), start) >= self.reg_wait_ms:
                raise ModemError(self.family.reg[0], "not registered")
            await sleep_ms(1000)
        line = info(await self.command("AT+CGATT?"), "+CGATT:")
        if line is None or field_ints(line)[0] != 1:
            await self.command("AT+CGATT=1", T_CGATT)
        self.lost = False
        await self.family.bring_up(apn)
        # A bearer-lost URC read right behind the last answer (before this task resumed) wins.
        self.bearer = not self.lost

    def check_link(self):
        if self.lost or not self.ready:
            raise ModemError("tcp_exchange", "connection lost")

    def left(self, start, timeout_ms):
        left = timeout_ms - ticks_diff(ticks_ms(), start)
        if left <= 0:
            raise ModemTimeout("tcp_exchange", timeout_ms)
        return left

    async def tcp_exchange(self, host, port, data, timeout_ms):
        """Open a TCP connection, send `data`, return everything received until the peer closes."""
        await self._ensure_ready()
        if not self.bearer:
            if self.apn is None:
                raise ModemError("tcp_exchange", "no bearer (attach first)")
            await self.attach(self.apn)
        start = ticks_ms()
        self.closed = False
        self.lost = False
        self.rx_ready = False
        self.at.take_rx()
        family = self.family
        await family.open(host, port, timeout_ms)
        try:
            for i in range(0, len(data), family.chunk):
                self.check_link()
                await family.send(data[i:i + family.chunk], self.left(start, timeout_ms))
            return await self._receive(start, timeout_ms)
        except Exception:
            if self.ready and not self.closed:
                try:
                    await family.close()
                except (ModemError, ModemTimeout):
                    pass
            raise

    async def _receive(self, start, timeout_ms):
        net = self.at.net
        while True:
            self.check_link()
            if self.rx_ready:
                self.rx_ready = False
                await self.family.pull(self.left(start, timeout_ms))
            if self.closed:
                if self.rx_ready:
                    continue  # data announced just before the close: read it first
                return self.at.take_rx()
            net.clear()
            if self.rx_ready or self.closed or self.lost or not self.ready:
                continue
            left = self.left(start, timeout_ms)
            try:
                await wait_for_ms(net.wait(), left)
            except TimeoutError:
                pass  # the loop re-checks the deadline

    def stop(self):
        """Stop the reader task (tests, or before handing the UART to something else)."""
        self.at.stop()

    # ---------------------------------------------------------------- recovery
    async def recover(self, power=False):
        """One rung up the ladder: bearer reset if the modem answers, else power-cycle."""
        self.recoveries += 1
        if not power:
            for _ in range(3):
                try:
                    await self.command("AT", 500)
                    await self.family.bring_down()
                    self.bearer = False
                    return "bearer"
                except (ModemError, ModemTimeout):
                    pass
        if self.power is None:
            raise ModemTimeout("AT", 1500)
        self.ready = False
        self.bearer = False
        await self._switch(0)
        await sleep_ms(self.family.off_ms)
        await self.start()  # powers it on again and waits for it
        return "power"

    async def exchange(self, host, port, data, timeout_ms):
        """tcp_exchange with the recovery ladder, all within `timeout_ms`: 1st failure retry at once,
        2nd bearer reset and attach again, 3rd (or a failed bearer reset) power-cycle, start and attach;
        the error after that (or once the time is up) is raised."""
        start = ticks_ms()
        rung = 0
        while True:
            try:
                return await self.tcp_exchange(host, port, data, self.left(start, timeout_ms))
            except (ModemError, ModemTimeout) as exc:
                error = exc
            rung += 1
            if ticks_diff(ticks_ms(), start) >= timeout_ms:
                raise error
            if rung == 1:
                continue
            if rung == 2:
                try:
                    await self.recover()
                    await self._reattach()
                    continue
                except (ModemError, ModemTimeout) as exc:
                    error = exc
                    rung = 3
            if rung == 3 and self.power is not None:
                try:
                    await self.recover(power=True)
                    await self._reattach()
                    continue
                except (ModemError, ModemTimeout) as exc:
                    error = exc
            raise error

    async def _reattach(self):
        if self.apn is not None:
            await self.attach(self.apn)

    async def power_off(self):
        if self.family.name:
            try:
                await self.family.shutdown()
            except (ModemError, ModemTimeout):
                pass
        self.ready = False
        self.bearer = False
        if self.power is not None:
            await self._switch(0)
