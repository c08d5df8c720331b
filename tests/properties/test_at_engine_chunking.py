"""The AT engine's routing does not depend on how the UART cuts the byte stream: any split of a
conversation (partial lines, a `+IPD` header cut in two, payload cut anywhere) gives the same reply lines,
the same payload bytes and the same URCs as feeding it whole."""

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.at import ATEngine, _Pending

PAYLOAD = b"HTTP/1.0 200 OK\r\n\r\n\r\nOK\r\nCLOSED\r\n+IPD,9:" + bytes(range(256))
STREAM = (
    b"AT+CSQ\r\r\n+CSQ: 17,0\r\n\r\nRING\r\n"
    + b"\r\n+IPD,%d:" % len(PAYLOAD) + PAYLOAD
    + b'\r\n+CMTI: "SM",2\r\n\r\nOK\r\n'
    + b"\r\n+CIPRXGET: 1\r\n\xff\xfe\r\n\r\nUNDER-VOLTAGE WARNNING\r\n\r\nCLOSED\r\n"
)


def _run(pieces):
    seen = []
    engine = ATEngine(None, on_urc=lambda name, line: seen.append(name))
    pending = _Pending("AT+CSQ", ("OK",), (), False, False)
    engine._pending = pending
    for piece in pieces:
        engine.feed(piece)
    return pending.lines, pending.done, bytes(engine.rx), seen, engine.bad_lines, engine.stray_lines


WHOLE = _run([STREAM])


def test_whole_stream_routing():
    lines, done, rx, seen, bad, stray = WHOLE
    assert lines == ["+CSQ: 17,0", "OK"] and done
    assert rx == PAYLOAD
    assert seen == ["ring", "sms", "rx_ready", "undervoltage", "closed"]
    assert bad == 1 and stray == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=40))
def test_any_split_routes_the_same(cuts):
    points = sorted(set(cuts))
    pieces = [STREAM[a:b] for a, b in zip([0] + points, points + [len(STREAM)])]
    assert _run(pieces) == WHOLE
