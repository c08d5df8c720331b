# PN532 over HSU: frames byte for byte, the start-up and polling conversation, held cards, bad frames.
from serial_script import ScriptedStream, run

from drivers.pn532 import (ACK, ACK_FRAME, BAD_FRAME, DATA_FRAME, ERROR_FRAME, NAK, NAK_FRAME, NEED_MORE, PN532,
                           WAKEUP, build_frame, parse_frame, parse_targets)


def answer(data, corrupt=False):
    body = b"\xd5" + data
    dcs = (-sum(body)) & 0xFF
    if corrupt:
        dcs ^= 1
    return b"\x00\x00\xff" + bytes((len(body), (-len(body)) & 0xFF)) + body + bytes((dcs, 0))


SAM = build_frame(b"\x14\x01\x14\x01")
RFCONF = build_frame(b"\x32\x05\xff\x01\x02")
LIST = build_frame(b"\x4a\x01\x00")
START = [(WAKEUP + SAM, ACK + answer(b"\x15")), (RFCONF, ACK + answer(b"\x33"))]
NO_CARD = (LIST, ACK + answer(b"\x4b\x00"))
UID4 = b"\xde\xad\xbe\xef"
UID7 = b"\x04\x11\x22\x33\x44\x55\x66"
UID10 = bytes(range(1, 11))


def card(uid):
    sens = {4: b"\x00\x04", 7: b"\x00\x44", 10: b"\x00\x84"}[len(uid)]
    return (LIST, ACK + answer(b"\x4b\x01\x01" + sens + b"\x08" + bytes((len(uid),)) + uid))


def test_build_frame_matches_the_manual():
    # InListPassiveTarget, 1 target, 106 kbps type A, as in the PN532 user manual examples.
    assert LIST == bytes.fromhex("0000ff04fcd44a0100e100")
    assert build_frame(b"\x02") == bytes.fromhex("0000ff02fed4022a00")


def test_parse_frame_kinds():
    assert parse_frame(ACK) == (ACK_FRAME, None, 6)
    assert parse_frame(NAK) == (NAK_FRAME, None, 6)
    assert parse_frame(bytes.fromhex("0000ff01ff7f8100"))[0] == ERROR_FRAME
    kind, payload, used = parse_frame(b"\x00\x00" + answer(b"\x15") + b"\xaa")
    assert (kind, payload, used) == (DATA_FRAME, b"\xd5\x15", 2 + 9)
    # extended frame: 00 00 FF FF FF LENM LENL LCS TFI data DCS 00
    body = b"\xd5\x4b" + bytes(300)
    n = len(body)
    ext = b"\x00\x00\xff\xff\xff" + bytes((n >> 8, n & 0xFF, (-(n >> 8) - (n & 0xFF)) & 0xFF)) + body
    ext += bytes(((-sum(body)) & 0xFF, 0))
    assert parse_frame(ext) == (DATA_FRAME, body, len(ext))


def test_parse_frame_rejects_damage():
    good = answer(b"\x15")
    assert parse_frame(good[:-1])[0] == NEED_MORE
    assert parse_frame(good[:3] + b"\x03" + good[4:])[0] == BAD_FRAME  # LCS
    assert parse_frame(good[:-2] + b"\x00\x00")[0] == BAD_FRAME  # DCS
    assert parse_frame(good[:-1] + b"\x55")[0] == BAD_FRAME  # postamble
    assert parse_frame(build_frame(b"\x15"))[0] == BAD_FRAME  # host TFI from the reader
    kind, _, used = parse_frame(b"\x12\x34\x56")
    assert kind == NEED_MORE and used == 3  # pure junk is dropped


def test_parse_targets_uid_lengths():
    assert parse_targets(b"\x00") is None
    for uid in (UID4, UID7, UID10):
        assert parse_targets(b"\x01\x01\x00\x04\x08" + bytes((len(uid),)) + uid) == uid
    for bad in (b"", b"\x01\x01\x00", b"\x01\x01\x00\x04\x08\x05abcde", b"\x01\x01\x00\x04\x08\x07abc"):
        try:
            parse_targets(bad)
            raise AssertionError("accepted %r" % bad)
        except ValueError:
            pass


def test_a_held_card_is_one_tap_and_comes_back_after_removal():
    async def main():
        steps = START + [NO_CARD, card(UID4), card(UID4), card(UID4), NO_CARD, card(UID4), NO_CARD, NO_CARD,
                         card(UID4), card(UID7), card(UID10)]
        stream = ScriptedStream(steps, chunk=1)
        reader = PN532(stream)
        assert await reader.start()
        got = []
        for _ in range(11):
            got.append(await reader.poll())
        stream.check()
        # One miss (a flaky read while held) is not a removal; two are.
        assert got == [None, UID4, None, None, None, None, None, None, UID4, UID7, UID10]
        assert reader.taps == 4 and reader.bad_frames == 0

    run(main())


def test_bad_frames_are_counted_and_a_silent_reader_is_woken_again():
    async def main():
        steps = START + [
            (LIST, ACK + answer(b"\x4b\x01\x01\x00\x04\x08\x04" + UID4, corrupt=True)),
            (LIST, ACK + bytes.fromhex("0000ff01ff7f8100")),
            (LIST, ACK + answer(b"\x15") + answer(b"\x4b\x01\x01\x00\x04\x08\x09" + UID4)),
            (LIST, b""),  # no answer at all
        ] + START + [card(UID4)]
        stream = ScriptedStream(steps, chunk=3)
        reader = PN532(stream, timeout_ms=40)
        assert await reader.start()
        got = []
        for _ in range(5):  # (no await inside comprehensions: MicroPython refuses them)
            got.append(await reader.poll())
        stream.check()
        assert got == [None, None, None, None, UID4]
        # corrupt DCS, error frame, stale answer + malformed target list
        assert reader.bad_frames == 4 and reader.timeouts == 1

    run(main())


def test_firmware_version():
    async def main():
        stream = ScriptedStream(START + [(build_frame(b"\x02"), ACK + answer(b"\x03\x32\x01\x06\x07"))])
        reader = PN532(stream)
        await reader.start()
        assert await reader.firmware_version() == (0x32, 0x01, 0x06)
        stream.check()

    run(main())


ARM = [(build_frame(b"\x32\x05\xff\x01\xff"), ACK + answer(b"\x33")), (LIST, ACK)]  # endless retries, then wait


def test_an_armed_reader_answers_only_when_a_card_comes_and_polls_normally_after():
    async def main():
        stream = ScriptedStream(START + ARM + [(RFCONF, ACK + answer(b"\x33")), card(UID4), NO_CARD, NO_CARD]
                                + ARM, chunk=2)
        reader = PN532(stream)
        assert await reader.start()
        assert await reader.arm() and reader.armed
        written = len(stream.written)
        got = [await reader.poll(), await reader.poll()]  # nothing came: nothing written, nothing read
        assert got == [None, None] and len(stream.written) == written and reader.armed
        stream.inject(answer(b"\x4b\x01\x01\x00\x04\x08\x04" + UID4))  # a card: the pending command answers
        assert await reader.poll() == UID4 and not reader.armed
        assert not await reader.arm()  # the card is still held: no arming (it would answer at once)
        # bounded polls again (retries restored first) until the card is gone, then armed again
        got = [await reader.poll(), await reader.poll(), await reader.poll()]
        assert got == [None, None, None]
        assert await reader.arm()
        stream.check()
        assert reader.taps == 1 and reader.bad_frames == 0

    run(main())


def test_disarming_aborts_the_pending_command_and_a_damaged_wake_up_answer_disarms():
    async def main():
        stream = ScriptedStream(START + ARM + [(ACK + RFCONF, ACK + answer(b"\x33")), NO_CARD] + ARM, chunk=1)
        reader = PN532(stream)
        assert await reader.start() and await reader.arm()
        await reader.disarm()  # the ignition came on: an ACK aborts the pending InListPassiveTarget
        assert not reader.armed
        assert await reader.poll() is None
        assert await reader.arm()
        stream.inject(answer(b"\x4b\x01\x01\x00\x04\x08\x04" + UID4, corrupt=True))
        polls = 0
        while reader.armed and polls < 3:  # byte by byte: a bounded read per poll, the frame ends later
            assert await reader.poll() is None
            polls += 1
        assert polls == 2 and not reader.armed and reader.bad_frames == 1
        stream.check()

    run(main())
