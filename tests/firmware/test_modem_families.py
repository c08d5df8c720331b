# The modem contract over the LTE families and the detection: whole conversations, as the A76XX and
# SIM7070/SIM7080/SIM7090 AT command manuals give them, replayed byte by byte or in odd chunks, with the
# asynchronous results (+NETOPEN: 0 after OK), pulled data that looks like AT lines, and dropped bearers.
from serial_script import ScriptedStream, ok, raised, run

from drivers.modem import Modem, ModemError, family_of

HOST = "sync.example.fr"
REQUEST = b"POST /api/v1/sync HTTP/1.0\r\nContent-Length: 12\r\n\r\n\r\nOK\r\nERROR\x00\xff"
ANSWER = (b"HTTP/1.0 200 OK\r\n\r\n\r\n+CARECV: 3,abc\r\n+IPCLOSE: 0,1\r\n+CIPRXGET: 2,0,1,0\r\nOK\r\n"
          + bytes(range(256)) * 5)  # 1356 bytes: two reads

BOOT = [
    (b"AT\r", b"AT\r\r\nOK\r\n"),
    (b"ATE0\r", b"ATE0\r\r\nOK\r\n"),
    ok(b"AT+CMEE=1"),
]
START_A7670 = BOOT + [ok(b"AT+CTZU=1"), ok(b"AT+CPIN?", b"+CPIN: READY", b"OK")]
START_7080 = BOOT + [ok(b"AT+CLTS=1"), ok(b"AT+CNMP=38"), ok(b"AT+CMNB=1"), ok(b"AT+CPIN?", b"+CPIN: READY", b"OK")]

ATTACH_A7670 = [
    ok(b"AT+CEREG?", b'+CEREG: 2,2,"00FE","0812AB01",7', b"OK"),  # LTE still searching
    ok(b"AT+CGREG?", b'+CGREG: 2,1,"1A2B","01C3D4E5"', b"OK"),  # registered on the 2G fallback
    ok(b"AT+CGATT?", b"+CGATT: 1", b"OK"),
    ok(b'AT+CGDCONT=1,"IP","m2m.example"'),
    ok(b"AT+NETOPEN?", b"+NETOPEN: 0", b"OK"),
    ok(b"AT+CIPRXGET=1"),
    (b"AT+NETOPEN\r", b"\r\nOK\r\n\r\n+NETOPEN: 0\r\n"),
]
OPEN_A7670 = (b'AT+CIPOPEN=0,"TCP","sync.example.fr",8080\r', b"\r\nOK\r\n\r\n+CIPOPEN: 0,0\r\n")

ATTACH_7080 = [
    ok(b"AT+CEREG?", b'+CEREG: 4,5,"00FE","0812AB01",9,,,"00000000","00011110"', b"OK"),
    ok(b"AT+CGATT?", b"+CGATT: 1", b"OK"),
    ok(b'AT+CNCFG=0,1,"m2m.example"'),
    ok(b"AT+CNACT?", b'+CNACT: 0,0,"0.0.0.0"', b'+CNACT: 1,0,"0.0.0.0"', b"OK"),
    (b"AT+CNACT=0,1\r", b"\r\nOK\r\n\r\n+APP PDP: 0,ACTIVE\r\n"),
]
OPEN_7080 = ok(b'AT+CAOPEN=0,0,"TCP","sync.example.fr",8080', b"+CAOPEN: 0,0", b"OK")


def _power(calls):
    async def power(on, pulse_ms=1100):
        calls.append((on, pulse_ms))

    return power


def _session(steps, family, chunk, test):
    async def main():
        stream = ScriptedStream(steps, chunk=chunk)
        modem = Modem(stream, family=family, poll_ms=2)
        try:
            await modem.start()
            await modem.attach("m2m.example")
            result = await test(modem)
        finally:
            modem.stop()
        stream.check()
        return modem, result

    return run(main())


def _exchange(modem):
    return modem.tcp_exchange(HOST, 8080, REQUEST, 10000)


def _failing(modem):
    """The ModemError the exchange ends with, or None."""
    return raised(_exchange(modem), ModemError)


def test_family_of_the_model_strings_simcom_modems_give():
    assert family_of("SIMCOM_SIM800L") == "sim800"
    assert family_of("SIM800 R14.18") == "sim800"
    assert family_of("A7670E-LASE") == "a7670"
    assert family_of("SIMCOM_SIM7080G") == "sim7080"
    assert family_of("SIMCOM_SIM7000E") == "sim7000"
    assert family_of("EC21") is None


def test_family_detected_from_cgmm_and_its_power_key_used_from_then_on():
    async def main():
        calls = []
        steps = BOOT + [ok(b"AT+CGMM", b"A7670E-LASE", b"OK")] + START_A7670[3:] + [
            ok(b"AT+CPOF")] + START_A7670
        stream = ScriptedStream(steps, chunk=3)
        modem = Modem(stream, power=_power(calls), poll_ms=2)
        try:
            await modem.start()
            assert modem.family.name == "a7670" and modem.model == "A7670E-LASE"
            await modem.power_off()
            await modem.start()  # known now: no second AT+CGMM
        finally:
            modem.stop()
        stream.check()
        # before detection the 1.1 s press safe for every family, then the A7670's own (>= 50 ms)
        assert calls == [(1, 1100), (0, 100), (1, 100)]

    run(main())


def test_unknown_model_is_an_error_and_a_forced_family_skips_detection():
    async def main():
        stream = ScriptedStream(BOOT + [ok(b"AT+CGMM", b"EC21", b"OK")])
        modem = Modem(stream, poll_ms=2)
        try:
            err = await raised(modem.start(), ModemError)
        finally:
            modem.stop()
        assert err is not None and err.command == "AT+CGMM" and err.reply == ["EC21", "OK"]
        assert not modem.ready

    run(main())
    # forced (config.json "modem"): the script has no AT+CGMM, a detection would break it
    modem, _ = _session(START_7080 + ATTACH_7080, "sim7080", 1, lambda m: _noop())
    assert modem.model is None and modem.bearer


async def _noop():
    return None


def test_a7670_exchange_pulls_the_answer_and_ends_on_ipclose():
    steps = START_A7670 + ATTACH_A7670 + [
        OPEN_A7670,
        (b"AT+CIPSEND=0,%d\r" % len(REQUEST), b"\r\n>"),
        (REQUEST, b"\r\nOK\r\n\r\n+CIPSEND: 0,%d,%d\r\n\r\n+CIPRXGET: 1,0\r\n" % (len(REQUEST), len(REQUEST))),
        (b"AT+CIPRXGET=2,0,1024\r", b"\r\n+CIPRXGET: 2,0,1024,332\r\n" + ANSWER[:1024] + b"\r\nOK\r\n"),
        (b"AT+CIPRXGET=2,0,1024\r", b"\r\n+CIPRXGET: 2,0,332,0\r\n" + ANSWER[1024:] + b"\r\nOK\r\n"
         + b"\r\n+IPCLOSE: 0,1\r\n"),
    ]
    for chunk in (1, 7, 64):
        modem, got = _session(steps, "a7670", chunk, _exchange)
        assert got == ANSWER, chunk
        assert modem.bearer and modem.at.stray_lines == 0


def test_a7670_cipopen_failure_and_dropped_network_are_errors():
    steps = START_A7670 + ATTACH_A7670 + [
        (OPEN_A7670[0], b"\r\nOK\r\n\r\n+CIPOPEN: 0,4\r\n"),  # <err> 4: operation not allowed
    ]

    _modem, err = _session(steps, "a7670", 5, _failing)
    assert err.command.startswith("AT+CIPOPEN=0") and err.reply == ["+CIPOPEN: 0,4"]

    steps = START_A7670 + ATTACH_A7670 + [
        OPEN_A7670,
        (b"AT+CIPSEND=0,%d\r" % len(REQUEST), b"\r\n>"),
        (REQUEST, b"\r\nOK\r\n\r\n+CIPSEND: 0,%d,%d\r\n\r\n+CIPEVENT: NETWORK CLOSED UNEXPECTEDLY\r\n"
         % (len(REQUEST), len(REQUEST))),
        ok(b"AT+CIPCLOSE=0", b"ERROR"),
    ]
    modem, err = _session(steps, "a7670", 5, _failing)
    assert err is not None and err.command == "tcp_exchange" and not modem.bearer


def test_a7670_network_left_open_is_closed_before_the_receive_mode_is_set():
    steps = START_A7670 + ATTACH_A7670[:4] + [
        ok(b"AT+NETOPEN?", b"+NETOPEN: 1", b"OK"),
        (b"AT+NETCLOSE\r", b"\r\nOK\r\n\r\n+NETCLOSE: 0\r\n"),
    ] + ATTACH_A7670[5:]
    modem, _ = _session(steps, "a7670", 4, lambda m: _noop())
    assert modem.bearer


def test_sim7080_exchange_reads_carecv_data_inline_and_ends_on_castate():
    steps = START_7080 + ATTACH_7080 + [
        OPEN_7080,
        (b"AT+CASEND=0,%d\r" % len(REQUEST), b"\r\n>"),
        (REQUEST, b"\r\nOK\r\n\r\n+CADATAIND: 0\r\n"),
        (b"AT+CARECV=0,1024\r", b"\r\n+CARECV: 1024," + ANSWER[:1024] + b"\r\nOK\r\n"),
        (b"AT+CARECV=0,1024\r", b"\r\n+CARECV: 332," + ANSWER[1024:] + b"\r\nOK\r\n"),
        (b"AT+CARECV=0,1024\r", b"\r\n+CARECV: 0\r\n\r\nOK\r\n\r\n+CASTATE: 0,0\r\n"),
    ]
    for chunk in (1, 9, 100):
        modem, got = _session(steps, "sim7080", chunk, _exchange)
        assert got == ANSWER, chunk
        assert modem.at.stray_lines == 0 and modem.at.bad_lines == 0


def test_sim7080_refused_open_and_deactivated_pdp_are_errors():
    steps = START_7080 + ATTACH_7080 + [ok(OPEN_7080[0][:-1], b"+CAOPEN: 0,27", b"OK")]
    _modem, err = _session(steps, "sim7080", 6, _failing)
    assert err.command.startswith("AT+CAOPEN=0,0") and "+CAOPEN: 0,27" in err.reply

    steps = START_7080 + ATTACH_7080 + [
        OPEN_7080,
        (b"AT+CASEND=0,%d\r" % len(REQUEST), b"\r\n>"),
        (REQUEST, b"\r\nOK\r\n\r\n+APP PDP: 0,DEACTIVE\r\n"),
        ok(b"AT+CACLOSE=0"),
    ]
    modem, err = _session(steps, "sim7080", 6, _failing)
    assert err is not None and err.command == "tcp_exchange" and not modem.bearer


def test_sim7080_bearer_already_active_is_kept():
    steps = START_7080 + ATTACH_7080[:3] + [ok(b"AT+CNACT?", b'+CNACT: 0,1,"10.94.12.7"', b"OK")]
    modem, _ = _session(steps, "sim7080", 3, lambda m: _noop())
    assert modem.bearer
