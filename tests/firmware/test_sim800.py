# The SIM800/SIM7000 driver replays whole modem conversations, byte by byte, with the quirks real
# modems show: echo and \r\r\n after boot, URCs inside replies, the bare-IP answer of AT+CIFSR, payload
# bytes that look like AT lines, late answers after a timeout, resets mid-command, line noise.
from serial_script import ScriptedStream, ok, raised, run
from support import raises

from drivers.aio import sleep_ms
from drivers.atparse import parse_cclk
from drivers.modem import Modem, ModemError, ModemTimeout

START = [
    (b"AT\r", b"AT\r\r\nOK\r\n"),  # boots with echo on: the echo ends in \r, then \r\n
    (b"ATE0\r", b"ATE0\r\r\nOK\r\n"),
    ok(b"AT+CMEE=1"),
    ok(b"AT+CLTS=1"),
    ok(b"AT+CPIN?", b"+CPIN: READY", b"OK"),
]

START_7000 = START[:4] + [ok(b"AT+CNMP=38"), ok(b"AT+CMNB=1"), START[4]]

ATTACH = [
    ok(b"AT+CREG?", b"+CREG: 0,1", b"OK"),
    ok(b"AT+CGATT?", b"+CGATT: 1", b"OK"),
    ok(b"AT+CIPSHUT", b"SHUT OK"),
    ok(b"AT+CIPMUX=0"),
    ok(b"AT+CIPHEAD=1"),
    ok(b'AT+CSTT="m2m.example","",""'),
    ok(b"AT+CIICR"),
    ok(b"AT+CIFSR", b"10.64.12.7"),  # no OK after the address
]

ATTACH_7000 = [
    ok(b"AT+CEREG?", b"+CEREG: 0,5", b"OK"),
    ok(b"AT+CGATT?", b"+CGATT: 1", b"OK"),
    ok(b"AT+CIPSHUT", b"SHUT OK"),
    ok(b"AT+CIPMUX=0"),
    ok(b"AT+CIPRXGET=1"),
    ok(b'AT+CSTT="m2m.example","",""'),
    ok(b"AT+CIICR"),
    ok(b"AT+CIFSR", b"10.64.12.7"),
]

HOST = "sync.example.fr"
CIPSTART = b'AT+CIPSTART="TCP","sync.example.fr",8080\r'
# The request body and the answer carry bytes that look like modem lines and URCs.
REQUEST = b"POST /api/v1/sync HTTP/1.0\r\nContent-Length: 12\r\n\r\n\r\nOK\r\nERROR\x00\xff"
ANSWER = b"HTTP/1.0 200 OK\r\n\r\n\r\nCLOSED\r\n+IPD,3:RING\r\n" + bytes(range(256))


def _modem(steps, profile="sim800", chunk=1, power=None):
    stream = ScriptedStream(steps, chunk=chunk)
    modem = Modem(stream, power=power, family=profile, poll_ms=2)
    return modem, stream


def _power(calls):
    """The HAL's modem_power stand-in: records each switch (on/off)."""
    async def power(on, pulse_ms=1100):
        calls.append(on)

    return power


def _ipd(data, size=100):
    out = b""
    for i in range(0, len(data), size):
        part = data[i:i + size]
        out += b"\r\n+IPD,%d:" % len(part) + part
    return out


def test_start_handles_echo_and_double_cr():
    async def main():
        modem, stream = _modem(START)
        try:
            await modem.start()
        finally:
            modem.stop()
        stream.check()
        assert modem.ready and modem.sim == "READY"
        assert modem.at.stray_lines == 0

    run(main())


def test_start_retries_until_the_modem_answers():
    async def main():
        # The first AT is lost (modem still booting, autobaud); the boot banner arrives meanwhile.
        modem, stream = _modem([(b"AT\r", b"\r\nRDY\r\n\r\n+CFUN: 1\r\n\r\n+CPIN: READY\r\n")] + START)
        try:
            await modem.start()
        finally:
            modem.stop()
        stream.check()
        assert modem.urcs["rdy"] == 1 and modem.urcs["cpin"] == 1

    run(main())


def test_start_fails_on_sim_pin_with_reply():
    async def main():
        steps = START[:4] + [ok(b"AT+CPIN?", b"+CPIN: SIM PIN", b"OK")]
        modem, stream = _modem(steps)
        try:
            err = await raised(modem.start(), ModemError)
        finally:
            modem.stop()
        assert err is not None and err.command == "AT+CPIN?"
        assert err.reply == ["+CPIN: SIM PIN", "OK"]
        assert not modem.ready and modem.sim == "SIM PIN"

    run(main())


def test_urcs_inside_a_reply_are_routed_to_the_table():
    async def main():
        steps = START + [
            ok(b"AT+CSQ", b"+CSQ: 17,0", b"RING", b'+CMTI: "SM",3', b"UNDER-VOLTAGE WARNNING", b"OK"),
            (None, b"\r\n+CPIN: NOT READY\r\n"),  # a URC when no command is in flight
        ]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            assert await modem.signal_quality() == 17
            await sleep_ms(20)
        finally:
            modem.stop()
        stream.check()
        assert modem.rings == 1 and modem.urcs["sms"] == 1 and modem.undervoltage == 1
        assert modem.sim == "NOT READY"
        assert modem.at.stray_lines == 0

    run(main())


def test_cme_and_cms_errors_carry_command_and_reply():
    async def main():
        steps = START + [
            ok(b"AT+CSQ", b"+CME ERROR: 10"),
            ok(b"AT+CPMS?", b"+CMS ERROR: 304"),
            ok(b"AT+CCLK?", b"ERROR"),
        ]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            errors = []
            for call in (modem.signal_quality(), modem.command("AT+CPMS?"), modem.network_time()):
                try:
                    await call
                except ModemError as exc:
                    errors.append((exc.command, exc.reply))
        finally:
            modem.stop()
        stream.check()
        assert errors == [
            ("AT+CSQ", ["+CME ERROR: 10"]),
            ("AT+CPMS?", ["+CMS ERROR: 304"]),
            ("AT+CCLK?", ["ERROR"]),
        ]

    run(main())


def test_timeout_and_late_answer_does_not_confuse_the_next_command():
    async def main():
        steps = START + [(b"AT+CSQ\r", b""), ok(b"AT+CREG?", b"+CREG: 0,5", b"OK")]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            err = None
            try:
                await modem.command("AT+CSQ", 60)
            except ModemTimeout as exc:
                err = exc
            assert err is not None and err.command == "AT+CSQ" and err.ms == 60
            stream.inject(b"\r\n+CSQ: 5,0\r\n\r\nOK\r\n")  # the late answer
            await sleep_ms(30)
            assert await modem.registered() is True
        finally:
            modem.stop()
        stream.check()
        assert modem.at.stray_lines == 2 and modem.at.timeouts == 1

    run(main())


def test_line_noise_is_counted_and_dropped():
    async def main():
        steps = START + [
            (None, b"\r\n\xff\xfe\x80\r\n" + b"x" * 700 + b"\r\n+IPD,zz:\r\n"),
            ok(b"AT+CSQ", b"+CSQ: 99,99", b"OK"),
        ]
        modem, stream = _modem(steps, chunk=7)
        try:
            await modem.start()
            await sleep_ms(20)
            assert await modem.signal_quality() == 99
        finally:
            modem.stop()
        stream.check()
        assert modem.at.bad_lines == 3

    run(main())


def test_reset_during_a_command_fails_it_at_once():
    async def main():
        steps = START + [(b"AT+CSQ\r", b"\x00\xff\r\nRDY\r\n")]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            err = await raised(modem.command("AT+CSQ", 5000), ModemError)
        finally:
            modem.stop()
        stream.check()
        assert err is not None and err.reply[-1] == "RDY"
        assert not modem.ready and modem.restarts == 1

    run(main())


def test_attach_brings_the_bearer_up_and_waits_for_registration():
    async def main():
        steps = START + [
            ok(b"AT+CREG?", b"+CREG: 0,2", b"OK"),  # searching
            ok(b"AT+CREG?", b"+CREG: 0,1", b"OK"),
            ok(b"AT+CGATT?", b"+CGATT: 0", b"OK"),
            ok(b"AT+CGATT=1"),
        ] + ATTACH[2:]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            await modem.attach("m2m.example")
        finally:
            modem.stop()
        stream.check()
        assert modem.bearer and modem.apn == "m2m.example"

    run(main())


def test_attach_gives_up_when_not_registered():
    async def main():
        steps = START + [ok(b"AT+CREG?", b"+CREG: 0,3", b"OK")]
        modem, stream = _modem(steps)
        modem.reg_wait_ms = 0
        try:
            await modem.start()
            err = await raised(modem.attach("m2m.example"), ModemError)
        finally:
            modem.stop()
        stream.check()
        assert err is not None and err.command == "AT+CREG?" and not modem.bearer

    run(main())


def _exchange_steps(request, answer, ipd_size=100):
    steps = [(CIPSTART, b"\r\nOK\r\n\r\nCONNECT OK\r\n")]
    for i in range(0, len(request), 1024):
        part = request[i:i + 1024]
        steps.append((b"AT+CIPSEND=%d\r" % len(part), b"\r\n> "))
        steps.append((part, b"\r\nSEND OK\r\n"))
    last = steps.pop()
    steps.append((last[0], last[1] + _ipd(answer, ipd_size) + b"\r\nCLOSED\r\n"))
    return steps


def test_tcp_exchange_ipd_byte_by_byte():
    async def main():
        modem, stream = _modem(START + ATTACH + _exchange_steps(REQUEST, ANSWER))
        try:
            await modem.start()
            await modem.attach("m2m.example")
            got = await modem.tcp_exchange(HOST, 8080, REQUEST, 10000)
        finally:
            modem.stop()
        stream.check()
        assert got == ANSWER
        assert modem.rings == 0 and modem.at.stray_lines == 0

    run(main())


def test_tcp_exchange_sends_large_requests_in_chunks_and_reattaches():
    async def main():
        request = bytes(i & 0xFF for i in range(2500))
        answer = b"A" * 3000
        # The bearer dropped since the last sync: the driver re-attaches with the same APN first.
        steps = START + ATTACH + ATTACH + _exchange_steps(request, answer, 1460)
        modem, stream = _modem(steps, chunk=64)
        try:
            await modem.start()
            await modem.attach("m2m.example")
            stream.inject(b"\r\n+PDP: DEACT\r\n")
            await sleep_ms(20)
            assert not modem.bearer
            got = await modem.tcp_exchange(HOST, 8080, request, 10000)
        finally:
            modem.stop()
        stream.check()
        assert got == answer
        assert stream.written.count(b"AT+CIPSEND=") == 3

    run(main())


def test_tcp_exchange_sim7000_pulls_with_ciprxget():
    async def main():
        answer = bytes(range(256)) * 6  # 1536 bytes: two pulls
        steps = START_7000 + ATTACH_7000 + [
            (CIPSTART, b"\r\nOK\r\n\r\nCONNECT OK\r\n"),
            (b"AT+CIPSEND=%d\r" % len(REQUEST), b"\r\n> "),
            (REQUEST, b"\r\nSEND OK\r\n\r\n+CIPRXGET: 1\r\n"),
            (b"AT+CIPRXGET=2,1024\r", b"\r\n+CIPRXGET: 2,1024,512\r\n" + answer[:1024] + b"\r\nOK\r\n"),
            (b"AT+CIPRXGET=2,1024\r", b"\r\n+CIPRXGET: 2,512,0\r\n" + answer[1024:] + b"\r\nOK\r\n\r\nCLOSED\r\n"),
        ]
        modem, stream = _modem(steps, profile="sim7000", chunk=5)
        try:
            await modem.start()
            await modem.attach("m2m.example")
            got = await modem.tcp_exchange(HOST, 8080, REQUEST, 10000)
        finally:
            modem.stop()
        stream.check()
        assert got == answer

    run(main())


def test_tcp_exchange_fails_when_the_bearer_drops():
    async def main():
        steps = START + ATTACH + [
            (CIPSTART, b"\r\nOK\r\n\r\nCONNECT OK\r\n"),
            (b"AT+CIPSEND=%d\r" % len(REQUEST), b"\r\n> "),
            (REQUEST, b"\r\nSEND OK\r\n" + _ipd(b"HTTP/1.0 2") + b"\r\n+PDP: DEACT\r\n"),
            ok(b"AT+CIPCLOSE=1", b"ERROR"),
        ]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            await modem.attach("m2m.example")
            err = await raised(modem.tcp_exchange(HOST, 8080, REQUEST, 10000), ModemError)
        finally:
            modem.stop()
        stream.check()
        assert err is not None and err.command == "tcp_exchange"
        assert not modem.bearer

    run(main())


def test_tcp_exchange_times_out_and_closes():
    async def main():
        steps = START + ATTACH + [
            (CIPSTART, b"\r\nOK\r\n\r\nCONNECT OK\r\n"),
            (b"AT+CIPSEND=%d\r" % len(REQUEST), b"\r\n> "),
            (REQUEST, b"\r\nSEND OK\r\n" + _ipd(b"HTTP/1.0 2")),
            ok(b"AT+CIPCLOSE=1", b"CLOSE OK"),
        ]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            await modem.attach("m2m.example")
            err = None
            try:
                await modem.tcp_exchange(HOST, 8080, REQUEST, 300)
            except ModemTimeout as exc:
                err = exc
        finally:
            modem.stop()
        stream.check()
        assert err is not None and err.command == "tcp_exchange" and err.ms == 300

    run(main())


def test_connect_fail_is_an_error_with_the_state():
    async def main():
        steps = START + ATTACH + [(CIPSTART, b"\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n\r\nCONNECT FAIL\r\n")]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            await modem.attach("m2m.example")
            err = await raised(modem.tcp_exchange(HOST, 8080, REQUEST, 10000), ModemError)
        finally:
            modem.stop()
        stream.check()
        assert err.reply == ["OK", "STATE: TCP CLOSED", "CONNECT FAIL"]

    run(main())


def test_recovery_ladder_retry_bearer_reset_then_power_cycle():
    async def main():
        fail = [(CIPSTART, b"\r\nOK\r\n\r\nSTATE: TCP CLOSED\r\n\r\nCONNECT FAIL\r\n")]
        steps = (START + ATTACH + fail + fail  # first try, then the plain retry
                 + [ok(b"AT"), ok(b"AT+CIPSHUT", b"SHUT OK")] + ATTACH + fail  # bearer reset
                 + START + ATTACH + _exchange_steps(REQUEST, ANSWER))  # power cycle
        calls = []

        modem, stream = _modem(steps, chunk=16, power=_power(calls))
        modem.family.off_ms = 5
        try:
            await modem.start()
            await modem.attach("m2m.example")
            got = await modem.exchange(HOST, 8080, REQUEST, 10000)
        finally:
            modem.stop()
        stream.check()
        assert got == ANSWER
        assert calls == [1, 0, 1]  # on at start, then the power cycle
        assert modem.recoveries == 2

    run(main())


def test_network_time_and_cclk_parsing():
    async def main():
        steps = START + [
            ok(b"AT+CCLK?", b'+CCLK: "26/11/27,05:12:30+04"', b"OK"),
            ok(b"AT+CCLK?", b'+CCLK: "04/01/01,00:00:28+00"', b"OK"),
        ]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            assert await modem.network_time() == 1795752750
            assert await modem.network_time() is None
        finally:
            modem.stop()
        stream.check()

    run(main())
    assert parse_cclk('+CCLK: "24/02/29,23:00:00+00"') == 1709247600
    assert parse_cclk('+CCLK: "30/03/01,00:00:00-00"') == 1898553600
    assert parse_cclk('+CCLK: "30/03/01,02:00:00-08"') == 1898553600 + 4 * 3600
    assert parse_cclk('+CCLK: "garbage"') is None
    assert parse_cclk('+CCLK: "26/13/01,00:00:00+00"') is None


def test_power_off():
    async def main():
        calls = []
        steps = START + [ok(b"AT+CPOWD=1", b"NORMAL POWER DOWN")]
        modem, stream = _modem(steps, power=_power(calls))
        try:
            await modem.start()
            await modem.power_off()
        finally:
            modem.stop()
        stream.check()
        assert calls == [1, 0] and not modem.ready and not modem.powered

    run(main())


def test_unknown_profile_is_refused():
    assert raises(ValueError, Modem, ScriptedStream([]), None, "sim900")


def test_registered_sees_a_modem_that_reports_its_location():
    # AT+CREG=2 (location reporting) survives in the modem's profile: the status is the 2nd field, not the last.
    async def main():
        steps = START + [
            ok(b"AT+CREG?", b'+CREG: 2,1,"1A2B","01C3D4E5"', b"OK"),
            ok(b"AT+CREG?", b'+CREG: 2,5,"1A2B","01C3D4E5",0', b"OK"),
            ok(b"AT+CREG?", b'+CREG: 2,2,"1A2B","01C3D4E5",0', b"OK"),
        ]
        modem, stream = _modem(steps)
        try:
            await modem.start()
            assert await modem.registered()
            assert await modem.registered()
            assert not await modem.registered()
        finally:
            modem.stop()
        stream.check()

    run(main())


def test_recovery_ladder_stays_within_the_exchange_timeout():
    # A modem that never answers the open: the ladder does not retry past the caller's deadline.
    async def main():
        steps = START + ATTACH + [(CIPSTART, b"")]
        modem, stream = _modem(steps, chunk=16)
        err = None
        try:
            await modem.start()
            await modem.attach("m2m.example")
            try:
                await modem.exchange(HOST, 8080, REQUEST, 300)
            except ModemTimeout as exc:
                err = exc
        finally:
            modem.stop()
        stream.check()
        assert err is not None and err.command.startswith("AT+CIPSTART")
        assert stream.written.count(b"AT+CIPSTART") == 1 and modem.recoveries == 0

    run(main())
