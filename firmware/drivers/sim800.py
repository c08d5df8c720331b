# SIMCom modem driver (SIM800 2G, SIM7000 LTE-M as a profile of the same engine): GPRS bring-up, one
# TCP exchange per sync, signal, network time, SMS, power and the recovery ladder. The exact AT
# conversation is in docs/modem.md; drivers/at.py does the line routing.
from drivers.aio import TimeoutError, sleep_ms, ticks_diff, ticks_ms, wait_for_ms
from drivers.at import ATEngine, ModemError, ModemTimeout
from drivers.atparse import REGISTERED, field_ints as _field_ints, info as _info, parse_cclk, registration_status

__all__ = ("Modem", "ModemError", "ModemTimeout", "PROFILES", "parse_cclk")

# Per-profile differences only; everything else is the common SIMCom TCP/IP command set.
PROFILES = {  # type: dict
    "sim800": {
        "init": ("AT+CLTS=1",),
        "reg": "AT+CREG?",
        "rx": "ipd",
        "off_ms": 1500,
        "boot_ms": 3000,
    },
    "sim7000": {
        "init": ("AT+CLTS=1", "AT+CNMP=38", "AT+CMNB=1"),
        "reg": "AT+CEREG?",
        "rx": "rxget",
        "off_ms": 1500,
        "boot_ms": 5000,
    },
}

CHUNK = 1024  # bytes per AT+CIPSEND (the SIM800 takes at most 1460 in single-connection mode)
RXGET = 1024  # bytes per AT+CIPRXGET=2 read

# Max response times from the SIM800 AT manual (ms).
T_SHORT = 1000
T_CGATT = 75000
T_CIPSHUT = 65000
T_CIICR = 85000
T_CIPSTART = 75000
T_CIPSEND = 60000
T_CMGS = 60000
T_CPOWD = 5000
REG_WAIT_MS = 60000

class Modem:
    def __init__(self, stream, power=None, profile="sim800", poll_ms=10):
        if profile not in PROFILES:
            raise ValueError("unknown modem profile %s" % profile)
        self.profile = profile
        self.p = dict(PROFILES[profile])  # a copy: tests and boards may tune timings
        self.power = power
        self.at = ATEngine(stream, self._urc, poll_ms)
        self.ready = False
        self.bearer = False
        # Whether we believe the modem is powered: off until start() switches it on when we hold its
        # power line (the pin level at boot is not ours to trust); always "on" without a power line.
        self.powered = power is None
        self.apn = None
        self.sim = None
        self.rings = 0
        self.undervoltage = 0
        self.sms_waiting = []
        self.restarts = 0
        self.recoveries = 0
        self.reg_wait_ms = REG_WAIT_MS
        self._closed = False
        self._deact = False
        self._rx_ready = False

    # ---------------------------------------------------------------- URCs
    def _urc(self, name, line):
        if name == "closed":
            self._closed = True
        elif name == "pdp_deact":
            self._deact = True
            self.bearer = False
        elif name == "rx_ready":
            self._rx_ready = True
        elif name == "ring":
            self.rings += 1
        elif name == "sms":
            index = _field_ints(line)[-1]
            if index is not None and index not in self.sms_waiting:
                self.sms_waiting.append(index)
        elif name in ("undervoltage",):
            self.undervoltage += 1
        elif name in ("rdy", "power_down"):
            if self.ready:
                self.restarts += 1
            self.ready = False
            self.bearer = False
            self._deact = True
        elif name == "cpin":
            self.sim = line[6:].strip()

    @property
    def urcs(self):
        return self.at.urcs

    # ---------------------------------------------------------------- basics
    async def command(self, cmd, timeout_ms=T_SHORT, **kw):
        return await self.at.command(cmd, timeout_ms, **kw)

    async def start(self):
        """Power the modem on if we switched it off, sync with it and configure it (docs/modem.md)."""
        self.at.start()
        if self.power is not None and not self.powered:
            self.at.reset_input()
            self.power(1)
            self.powered = True
        # AT until it answers: covers the boot time after power-on and the autobaud sync. A RDY
        # arriving meanwhile fails the AT in flight at once and the loop simply sends the next one.
        limit = self.p["boot_ms"] + 3000
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
        await self.command("AT+CMGF=1")
        for cmd in self.p["init"]:
            await self.command(cmd)
        lines = await self.command("AT+CPIN?", 5000)
        cpin = _info(lines, "+CPIN:")
        self.sim = cpin[6:].strip() if cpin else None
        if self.sim != "READY":
            raise ModemError("AT+CPIN?", lines)
        self.ready = True

    async def _ensure_ready(self):
        if not self.ready:
            await self.start()

    async def registered(self):
        await self._ensure_ready()
        lines = await self.command(self.p["reg"])
        line = _info(lines, self.p["reg"][2:-1] + ":")
        return line is not None and registration_status(line) in REGISTERED

    async def signal_quality(self):
        await self._ensure_ready()
        line = _info(await self.command("AT+CSQ"), "+CSQ:")
        if line is None:
            return 99
        rssi = _field_ints(line)[0]
        return rssi if rssi is not None and 0 <= rssi <= 31 else 99

    async def network_time(self):
        await self._ensure_ready()
        line = _info(await self.command("AT+CCLK?"), "+CCLK:")
        return parse_cclk(line) if line else None

    # ---------------------------------------------------------------- GPRS
    async def attach(self, apn):
        """Register, attach GPRS and bring the bearer up (docs/modem.md, attach)."""
        await self._ensure_ready()
        self.apn = apn
        self.bearer = False
        start = ticks_ms()
        while True:
            if await self.registered():
                break
            if ticks_diff(ticks_ms(), start) >= self.reg_wait_ms:
                raise ModemError(self.p["reg"], "not registered")
            await sleep_ms(1000)
        line = _info(await self.command("AT+CGATT?"), "+CGATT:")
        if line is None or _field_ints(line)[0] != 1:
            await self.command("AT+CGATT=1", T_CGATT)
        await self.command("AT+CIPSHUT", T_CIPSHUT, ok=("SHUT OK",))
        await self.command("AT+CIPMUX=0")
        if self.p["rx"] == "ipd":
            await self.command("AT+CIPHEAD=1")
        else:
            await self.command("AT+CIPRXGET=1")
        self._deact = False
        await self.command('AT+CSTT="%s","",""' % apn)
        await self.command("AT+CIICR", T_CIICR)
        await self.command("AT+CIFSR", T_SHORT * 2, first_line=True)
        # A +PDP: DEACT read right behind the address (before this task resumed) wins.
        self.bearer = not self._deact

    async def tcp_exchange(self, host, port, data, timeout_ms):
        """Open a TCP connection, send `data`, return everything received until the peer closes."""
        await self._ensure_ready()
        if not self.bearer:
            if self.apn is None:
                raise ModemError("tcp_exchange", "no bearer (attach first)")
            await self.attach(self.apn)
        start = ticks_ms()
        self._closed = False
        self._deact = False
        self._rx_ready = False
        self.at.take_rx()
        await self.command('AT+CIPSTART="TCP","%s",%d' % (host, port), min(T_CIPSTART, timeout_ms),
                           ok=("CONNECT OK",), fail=("CONNECT FAIL", "ALREADY CONNECT"))
        try:
            for i in range(0, len(data), CHUNK):
                part = data[i:i + CHUNK]
                self._check_link()
                await self.command("AT+CIPSEND=%d" % len(part), min(T_CIPSEND, self._left(start, timeout_ms)),
                                   ok=("SEND OK",), fail=("SEND FAIL",), prompt=True, payload=part)
            return await self._receive(start, timeout_ms)
        except Exception:
            if self.ready and not self._closed:
                try:
                    await self.command("AT+CIPCLOSE=1", T_SHORT * 2, ok=("CLOSE OK",))
                except (ModemError, ModemTimeout):
                    pass
            raise

    def _left(self, start, timeout_ms):
        left = timeout_ms - ticks_diff(ticks_ms(), start)
        if left <= 0:
            raise ModemTimeout("tcp_exchange", timeout_ms)
        return left

    def _check_link(self):
        if self._deact or not self.ready:
            raise ModemError("tcp_exchange", "connection lost")

    async def _receive(self, start, timeout_ms):
        net = self.at.net
        while True:
            self._check_link()
            if self.p["rx"] == "rxget" and self._rx_ready:
                self._rx_ready = False
                await self._pull(self._left(start, timeout_ms))
            if self._closed:
                return self.at.take_rx()
            net.clear()
            if self._rx_ready or self._closed or self._deact or not self.ready:
                continue
            left = self._left(start, timeout_ms)
            try:
                await wait_for_ms(net.wait(), left)
            except TimeoutError:
                pass  # the loop re-checks the deadline

    async def _pull(self, left):
        # AT+CIPRXGET=2 until the modem reports nothing left (sim7000 profile).
        while True:
            try:
                lines = await self.command("AT+CIPRXGET=2,%d" % RXGET, min(left, T_SHORT * 5))
            except ModemError:
                return  # nothing to read (connection already gone)
            line = _info(lines, "+CIPRXGET: 2,")
            if line is None:
                return
            fields = _field_ints(line)
            if len(fields) < 3 or not fields[1] or not fields[2]:
                return

    def stop(self):
        """Stop the reader task (tests, or before handing the UART to something else)."""
        self.at.stop()

    async def close(self):
        await self.command("AT+CIPSHUT", T_CIPSHUT, ok=("SHUT OK",))
        self.bearer = False

    # ---------------------------------------------------------------- recovery
    async def recover(self, power=False):
        """One rung up the ladder: bearer reset if the modem answers, else power-cycle."""
        self.recoveries += 1
        if not power:
            for _ in range(3):
                try:
                    await self.command("AT", 500)
                    await self.close()
                    return "bearer"
                except (ModemError, ModemTimeout):
                    pass
        if self.power is None:
            raise ModemTimeout("AT", 1500)
        self.ready = False
        self.bearer = False
        self.power(0)
        self.powered = False
        await sleep_ms(self.p["off_ms"])
        await self.start()  # powers it on again and waits for it
        return "power"

    async def exchange(self, host, port, data, timeout_ms):
        """tcp_exchange with the recovery ladder: retry, bearer reset, power-cycle, then raise."""
        rung = 0
        while True:
            try:
                return await self.tcp_exchange(host, port, data, timeout_ms)
            except (ModemError, ModemTimeout):
                rung += 1
                if rung == 1:
                    continue
                if rung == 2:
                    try:
                        await self.recover()
                        if self.apn is not None:
                            await self.attach(self.apn)
                        continue
                    except (ModemError, ModemTimeout):
                        rung = 3
                if rung == 3 and self.power is not None:
                    try:
                        await self.recover(power=True)
                        if self.apn is not None:
                            await self.attach(self.apn)
                        continue
                    except (ModemError, ModemTimeout):
                        pass
                raise

    async def power_off(self):
        try:
            await self.command("AT+CPOWD=1", T_CPOWD, ok=("NORMAL POWER DOWN",))
        except (ModemError, ModemTimeout):
            pass
        self.ready = False
        self.bearer = False
        if self.power is not None:
            self.power(0)
            self.powered = False

    # ---------------------------------------------------------------- SMS
    async def send_sms(self, number, text):
        await self._ensure_ready()
        lines = await self.command('AT+CMGS="%s"' % number, T_CMGS, prompt=True,
                                   payload=text.encode() + b"\x1a")
        line = _info(lines, "+CMGS:")
        return _field_ints(line)[0] if line else None

    async def read_sms(self, index):
        await self._ensure_ready()
        lines = await self.command("AT+CMGR=%d" % index, 5000)
        head = None
        text = []
        for line in lines[:-1]:
            if head is None and line.startswith("+CMGR:"):
                head = line
            elif head is not None:
                text.append(line)
        if head is None:
            return None
        parts = head.split('"')
        sender = parts[3] if len(parts) > 3 else ""
        return sender, "\n".join(text)

    async def delete_sms(self, index):
        await self._ensure_ready()
        await self.command("AT+CMGD=%d" % index, 5000)
        if index in self.sms_waiting:
            self.sms_waiting.remove(index)
