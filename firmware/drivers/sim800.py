# SIM800 (2G GPRS) and SIM7000 (LTE-M, same TCP/IP command set): the SIMCom "CIP" family behind the
# modem contract (drivers/modem.py). One connection (AT+CIPMUX=0); the exact conversation is in
# docs/modem.md. SIM800 Series AT Command Manual V1.09; SIM7000 Series AT Command Manual V1.03.
from drivers.modem import Family

# Max response times from the SIM800 AT manual (ms).
T_SHORT = 1000
T_CIPSHUT = 65000
T_CIICR = 85000
T_CIPSTART = 75000
T_CIPSEND = 60000
T_CPOWD = 5000
RXGET = 1024  # bytes per AT+CIPRXGET=2 read


class Sim800(Family):
    name = "sim800"
    pulse_ms = 1100  # SIM800 hardware design: PWRKEY low >= 1 s powers it on
    off_ms = 1500
    boot_ms = 3000
    init = ("AT+CLTS=1",)  # type: tuple  # network time into the RTC (AT+CCLK?)
    reg = ("AT+CREG?",)  # type: tuple
    chunk = 1024  # the SIM800 takes at most 1460 bytes per AT+CIPSEND in single-connection mode
    pulled = False  # data pushed as +IPD (AT+CIPHEAD=1); SIM7000: pulled with AT+CIPRXGET

    async def bring_up(self, apn):
        m = self.m
        await m.command("AT+CIPSHUT", T_CIPSHUT, ok=("SHUT OK",))
        await m.command("AT+CIPMUX=0")
        await m.command("AT+CIPRXGET=1" if self.pulled else "AT+CIPHEAD=1")
        await m.command('AT+CSTT="%s","",""' % apn)
        await m.command("AT+CIICR", T_CIICR)
        await m.command("AT+CIFSR", T_SHORT * 2, first_line=True)  # the address alone, no OK

    async def open(self, host, port, timeout_ms):
        await self.m.command('AT+CIPSTART="TCP","%s",%d' % (host, port), min(T_CIPSTART, timeout_ms),
                             ok=("CONNECT OK",), fail=("CONNECT FAIL", "ALREADY CONNECT"))

    async def send(self, part, timeout_ms):
        await self.m.command("AT+CIPSEND=%d" % len(part), min(T_CIPSEND, timeout_ms),
                             ok=("SEND OK",), fail=("SEND FAIL",), prompt=True, payload=part)

    async def pull(self, timeout_ms):
        # SIM7000: +CIPRXGET: 2,<read>,<rest>: more while it read something and something is left
        if self.pulled:
            await self.read_until_drained("AT+CIPRXGET=2,%d" % RXGET, "+CIPRXGET: 2,",
                                          lambda f: len(f) >= 3 and f[1] and f[2], timeout_ms)

    async def close(self):
        await self.m.command("AT+CIPCLOSE=1", T_SHORT * 2, ok=("CLOSE OK",))

    async def bring_down(self):
        await self.m.command("AT+CIPSHUT", T_CIPSHUT, ok=("SHUT OK",))

    async def shutdown(self):
        await self.m.command("AT+CPOWD=1", T_CPOWD, ok=("NORMAL POWER DOWN",))


class Sim7000(Sim800):
    name = "sim7000"
    boot_ms = 5000
    init = ("AT+CLTS=1", "AT+CNMP=38", "AT+CMNB=1")  # LTE only, CAT-M
    reg = ("AT+CEREG?",)
    pulled = True
