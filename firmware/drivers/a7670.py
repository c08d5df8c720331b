# SIMCom A7670E (LTE Cat-1, 2G fallback; LilyGO T-A7670E) behind the modem contract (drivers/modem.py).
# A76XX Series AT Command Manual V1.09 and TCPIP Application Note V1.01: the TCP/IP stack is opened with
# AT+NETOPEN, one socket is link 0 (AT+CIPOPEN/AT+CIPSEND/AT+CIPCLOSE), received data is pulled with
# AT+CIPRXGET (manual mode). Several commands answer OK at once and give their result later as a line
# of their own (+NETOPEN: 0, +CIPOPEN: 0,0, +CIPSEND: 0,n,n): Modem.wait_result() waits for it.
from drivers.at import ModemError
from drivers.atparse import field_ints, info
from drivers.modem import Family

LINK = 0
T_NETOPEN = 120000  # AT+CIPTIMEOUT defaults (ms): netopen, cipopen, cipsend
T_CIPOPEN = 120000
T_CIPSEND = 120000
T_SHORT = 1000
RXGET = 1024


def _result_ok(line, command):
    # "+NETOPEN: 0", "+CIPOPEN: 0,0", "+NETCLOSE: 0": the last field is <err>, 0 = success
    fields = field_ints(line)
    if not fields or fields[-1] != 0:
        raise ModemError(command, [line])


class A7670(Family):
    name = "a7670"
    pulse_ms = 100  # A7670 hardware design: PWRKEY low >= 50 ms powers on (>= 2.5 s would power off)
    off_ms = 3000  # AT+CPOF: the module needs up to ~2.5 s to finish
    boot_ms = 10000  # UART ready about 9 s after the key (hardware design, power-on timing)
    init = ("AT+CTZU=1",)  # time zone and time from the network into the RTC (AT+CCLK?)
    reg = ("AT+CEREG?", "AT+CGREG?", "AT+CREG?")  # LTE first, then the 2G fallback
    chunk = 1024  # AT+CIPSEND takes at most 1500 bytes per call
    rxget_link = True
    urcs = (
        ("+CIPRXGET: 1,", "rx_ready", False),
        ("+IPCLOSE:", "closed", False),  # +IPCLOSE: <link>,<reason> (1: closed by the peer)
        ("+CIPEVENT:", "pdp_deact", False),  # +CIPEVENT: NETWORK CLOSED UNEXPECTEDLY
        ("*ATREADY:", "rdy", False),  # the boot banner: a restart
        ("SMS DONE", "sms_ready", True),
        ("PB DONE", "pb_done", True),
        ("+NETOPEN:", "netopen", False),
        ("+NETCLOSE:", "netclose", False),
        ("+CIPOPEN:", "cipopen", False),
        ("+CIPSEND:", "cipsend", False),
        ("+CIPCLOSE:", "cipclose", False),
    )

    async def _then(self, cmd, name, timeout_ms, **kw):
        # a command answered OK at once, its result later: "+NAME: ...,<err>"
        m = self.m
        m.results.pop(name, None)
        lines = await m.command(cmd, T_SHORT * 2, **kw)
        line = info(lines, "+" + name.upper() + ":")
        if line is None:
            line = await m.wait_result(name, timeout_ms, cmd)
        return line

    async def bring_up(self, apn):
        m = self.m
        await m.command('AT+CGDCONT=1,"IP","%s"' % apn)
        line = info(await m.command("AT+NETOPEN?"), "+NETOPEN:")
        if line is not None and field_ints(line)[0] == 1:
            # left open by an interrupted session: close it, AT+CIPRXGET may only be set while closed
            await self.bring_down()
        await m.command("AT+CIPRXGET=1")
        _result_ok(await self._then("AT+NETOPEN", "netopen", T_NETOPEN), "AT+NETOPEN")

    async def open(self, host, port, timeout_ms):
        cmd = 'AT+CIPOPEN=%d,"TCP","%s",%d' % (LINK, host, port)
        _result_ok(await self._then(cmd, "cipopen", min(T_CIPOPEN, timeout_ms)), cmd)

    async def send(self, part, timeout_ms):
        cmd = "AT+CIPSEND=%d,%d" % (LINK, len(part))
        line = await self._then(cmd, "cipsend", min(T_CIPSEND, timeout_ms), prompt=True, payload=part)
        fields = field_ints(line)  # +CIPSEND: <link>,<requested>,<confirmed> (-1: link gone)
        if len(fields) < 3 or fields[2] != len(part):
            raise ModemError(cmd, [line])

    async def pull(self, timeout_ms):
        # +CIPRXGET: 2,<link>,<read>,<rest>: more while it read something and something is left
        await self.read_until_drained("AT+CIPRXGET=2,%d,%d" % (LINK, RXGET), "+CIPRXGET: 2,",
                                      lambda f: len(f) >= 4 and f[2] and f[3], timeout_ms)

    async def close(self):
        await self.m.command("AT+CIPCLOSE=%d" % LINK, T_SHORT * 2)

    async def bring_down(self):
        try:
            await self._then("AT+NETCLOSE", "netclose", T_NETOPEN)
        except ModemError:
            pass  # "network is already closed"

    async def shutdown(self):
        await self.m.command("AT+CPOF", T_SHORT * 5)
