# RDM6300 (EM4100): frame parsing, checksum, junk, and one tap per presentation under a fake clock.
from serial_script import ScriptedStream, run

from drivers.rdm6300 import RDM6300, parse

UID = bytes.fromhex("0A001B2C3E")


def frame(uid, check_delta=0):
    check = 0
    for b in uid:
        check ^= b
    return b"\x02" + ("%s%02X" % (uid.hex().upper(), check ^ check_delta)).encode() + b"\x03"


def test_frame_layout():
    # 0A ^ 00 ^ 1B ^ 2C ^ 3E = 0x03
    assert frame(UID) == b"\x020A001B2C3E03\x03"


def test_parse_accepts_good_frames_and_counts_damage():
    uids, bad, rest = parse(frame(UID) + frame(UID))
    assert (uids, bad, rest) == ([UID, UID], 0, b"")
    uids, bad, rest = parse(b"\xff\x00" + frame(UID, 1) + b"\x020A001B2C3EZZ\x03" + b"\x0201\x03" + frame(UID)[:9])
    assert uids == [] and bad == 4 and rest == frame(UID)[:9]
    uids, bad, rest = parse(rest + frame(UID)[9:])
    assert uids == [UID] and bad == 0 and rest == b""
    # lower-case hex is accepted (some clones send it)
    assert parse(frame(UID).lower())[0] == [UID]


def test_held_card_is_one_tap_and_a_new_presentation_is_another():
    async def main():
        now = [0]
        stream = ScriptedStream([], chunk=64)
        reader = RDM6300(stream, ticks=lambda: now[0])
        await reader.start()
        taps = []

        async def step(ms, data=b""):
            now[0] += ms
            stream.inject(data)
            taps.append(await reader.poll())

        await step(0)
        for _ in range(10):  # held: a frame every 100 ms, split across reads
            await step(100, frame(UID))
        await step(100, frame(UID)[:5])
        await step(100, frame(UID)[5:])
        await step(1000, frame(UID) * 5)  # a slow caller finds frames queued: still the same presentation
        await step(300)  # removed: quiet but not long enough yet
        await step(300)  # released
        await step(100, frame(UID))  # presented again
        other = bytes.fromhex("0100000001")
        await step(100, frame(other))  # swapped for another card at once
        assert [t for t in taps if t] == [UID, UID, other]
        assert taps[1] == UID and taps[16] == UID and taps[17] == other
        assert reader.taps == 3 and reader.bad_frames == 0 and reader.frames == 18

    run(main())


def test_bad_checksum_is_not_a_tap():
    async def main():
        stream = ScriptedStream([], chunk=64)
        reader = RDM6300(stream, ticks=lambda: 0)
        await reader.start()
        stream.inject(frame(UID, 0x10) + b"garbage")
        assert await reader.poll() is None
        assert reader.bad_frames == 2 and reader.taps == 0
        stream.inject(frame(UID))
        assert await reader.poll() == UID

    run(main())
