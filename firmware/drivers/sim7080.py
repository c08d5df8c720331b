# SIMCom SIM7080G (LTE-M / NB-IoT, no 2G; LilyGO T-SIM7080G) behind the modem contract (drivers/modem.py).
# SIM7070/SIM7080/SIM7090 Series AT Command Manual V1.04: the bearer is PDP index 0 (AT+CNCFG, AT+CNACT,
# +APP PDP: 0,ACTIVE|DEACTIVE), the socket is connection 0 of the "CA" application (AT+CAOPEN, AT+CASEND,
# AT+CARECV, AT+CACLOSE); +CADATAIND announces data, +CASTATE: 0,0 the peer's close.
from drivers.at import ModemError
from drivers.atparse import field_ints, info
from drivers.modem import Family

CID = 0
PDP = 0
T_CNACT = 30000
T_CAOPEN = 75000
T_CASEND = 60000
T_SHORT = 1000
T_CPOWD = 5000
RECV = 1024


class Sim7080(Family):
    name = "sim7080"
    pulse_ms = 1100  # SIM7080 hardware design: PWRKEY low >= 1 s powers it on
    off_ms = 2000
    boot_ms = 6000
    # network time into the RTC; LTE only (no GSM in this module); CAT-M (LTE-M: every French operator)
    init = ("AT+CLTS=1", "AT+CNMP=38", "AT+CMNB=1")
    reg = ("AT+CEREG?",)
    chunk = 1024  # AT+CASEND takes at most 1460 bytes
    urcs = (
        ("+CADATAIND:", "rx_ready", False),
        ("+CASTATE:", "closed", False),  # +CASTATE: <cid>,0: the peer closed
        ("+APP PDP: 0,DEACTIVE", "pdp_deact", False),
        ("+APP PDP:", "app_pdp", False),
    )

    async def bring_up(self, apn):
        m = self.m
        await m.command('AT+CNCFG=%d,1,"%s"' % (PDP, apn))
        for line in await m.command("AT+CNACT?"):
            fields = field_ints(line)  # +CNACT: <pdpidx>,<status>,<address>
            if line.startswith("+CNACT:") and len(fields) > 1 and fields[0] == PDP and fields[1] == 1:
                return  # already active
        m.results.pop("app_pdp", None)
        await m.command("AT+CNACT=%d,1" % PDP)
        await m.wait_result("app_pdp", T_CNACT, "AT+CNACT=%d,1" % PDP)

    async def open(self, host, port, timeout_ms):
        cmd = 'AT+CAOPEN=%d,%d,"TCP","%s",%d' % (CID, PDP, host, port)
        lines = await self.m.command(cmd, min(T_CAOPEN, timeout_ms))
        line = info(lines, "+CAOPEN:")  # +CAOPEN: <cid>,<result>; 0 = success
        fields = field_ints(line) if line else []
        if len(fields) < 2 or fields[1] != 0:
            raise ModemError(cmd, lines)

    async def send(self, part, timeout_ms):
        await self.m.command("AT+CASEND=%d,%d" % (CID, len(part)), min(T_CASEND, timeout_ms), prompt=True,
                             payload=part)

    async def pull(self, timeout_ms):
        # +CARECV: <length>,<data>: more until a read of 0 bytes
        await self.read_until_drained("AT+CARECV=%d,%d" % (CID, RECV), "+CARECV:", lambda f: f[0], timeout_ms)

    async def close(self):
        await self.m.command("AT+CACLOSE=%d" % CID, T_SHORT * 2)

    async def bring_down(self):
        await self.m.command("AT+CNACT=%d,0" % PDP, T_CNACT)

    async def shutdown(self):
        await self.m.command("AT+CPOWD=1", T_CPOWD, ok=("NORMAL POWER DOWN",))
