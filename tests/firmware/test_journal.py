# Journal: append-only segments, torn tails dropped at boot, atomic acknowledgement, eviction order.
from support import temp_dir

from app import journal
from hal.fsdir import DirFS

BADGE = b"\x01\x02\x03\x04\x05\x06\x07\x08"


def _records():
    return [
        {"type": "event", "t": 1700000000, "code": 1, "value": -5},
        {"type": "badge", "t": 1700000010, "badge": BADGE, "granted": True, "reason": 1},
        {"type": "trip_start", "t": 1700000011, "trip": 7, "badge": BADGE, "reservation": 42, "odo_m": 123456},
        {"type": "pos", "t": 1700000040, "lat": 472186000, "lon": -15536000, "speed": 1388, "course": 359},
        {"type": "trip_end", "t": 1700000900, "trip": 7, "odo_m": 130000, "distance_m": 6544, "reason": 2},
    ]


def _strip(records):
    out = []
    for r in records:
        r = dict(r)
        del r["seq"]
        out.append(r)
    return out


def _open(root, **kw):
    j = journal.Journal(DirFS(root), **kw)
    j.open()
    return j


def test_records_round_trip_in_order_with_increasing_seq():
    root = temp_dir("jr")
    j = _open(root)
    seqs = [j.append(r) for r in _records()]
    assert seqs == [1, 2, 3, 4, 5]
    got = j.pending()
    assert _strip(got) == _records()
    assert [r["seq"] for r in got] == seqs
    again = _open(root)
    assert _strip(again.pending()) == _records()
    assert again.append(_records()[0]) == 6


def test_bad_records_are_refused_and_counted():
    j = _open(temp_dir("jb"))
    assert j.append({"type": "nope", "t": 1}) == 0
    assert j.append({"type": "pos", "t": 1, "lat": 1, "lon": 2, "speed": 70000, "course": 1}) == 0
    assert j.append({"type": "badge", "t": 1, "badge": b"short", "granted": True, "reason": 1}) == 0
    assert j.append({"type": "event", "t": -1, "code": 1, "value": 0}) == 0
    assert j.append({"type": "event", "t": 1, "code": 1}) == 0
    assert j.rejected == 5
    assert j.pending() == []
    assert j.append({"type": "event", "t": 1, "code": 1, "value": 0}) == 1


def test_acknowledge_deletes_segments_and_survives_reboot():
    root = temp_dir("ja")
    j = _open(root, segment=64)
    for i in range(20):
        j.append({"type": "event", "t": 1000 + i, "code": 2, "value": i})
    files_before = len(DirFS(root).listdir("j"))
    assert j.acknowledge(15)
    assert len(DirFS(root).listdir("j")) < files_before
    assert [r["seq"] for r in j.pending()] == [16, 17, 18, 19, 20]
    assert j.backlog() == 5
    j2 = _open(root, segment=64)
    assert [r["seq"] for r in j2.pending()] == [16, 17, 18, 19, 20]
    assert not j2.acknowledge(3)  # an old ack changes nothing
    assert j2.acknowledge(999)  # clamped to the last sequence given out
    assert j2.pending() == [] and j2.backlog() == 0
    assert _open(root, segment=64).append({"type": "event", "t": 1, "code": 1, "value": 0}) == 21


def test_raise_seq_renumbers_what_goes_out_above_the_servers_last_seq_and_survives_reboot():
    root = temp_dir("jr")
    j = _open(root, segment=64)
    for i in range(6):
        j.append({"type": "event", "t": 1000 + i, "code": 2, "value": i})
    j.acknowledge(2)
    assert not j.raise_seq(7) and not j.raise_seq(5)  # already there: nothing changes
    assert [r["seq"] for r in j.pending()] == [3, 4, 5, 6]
    assert j.raise_seq(101)  # a reflashed box: the server holds seqs up to 100
    assert [r["seq"] for r in j.pending()] == [101, 102, 103, 104]  # unsent records go out above it
    assert j.next_seq_out() == 105
    assert j.append({"type": "event", "t": 2000, "code": 2, "value": 9}) == 105
    assert not j.raise_seq(50)  # never down
    j2 = _open(root, segment=64)  # power cut / reboot: the offset is on flash
    assert [r["seq"] for r in j2.pending()] == [101, 102, 103, 104, 105]
    assert j2.acknowledge(103) and [r["seq"] for r in j2.pending()] == [104, 105]
    assert j2.backlog() == 2
    assert not DirFS(root).exists("j/base.tmp")


def test_ack_cut_before_rename_keeps_previous_ack():
    root = temp_dir("jt")
    j = _open(root)
    for r in _records():
        j.append(r)
    j.acknowledge(2)
    fs = DirFS(root)
    f = fs.open("j/ack.tmp", "wb")
    f.write(b"4")  # power cut between write and rename
    f.close()
    j2 = _open(root)
    assert [r["seq"] for r in j2.pending()] == [3, 4, 5]
    assert not fs.exists("j/ack.tmp")


def _cut_case(tail):
    # Write the records once, then for every byte offset replay a power cut there (optionally followed
    # by what a flash page may hold after a torn write) and check what boot recovers.
    root = temp_dir("jc")
    j = _open(root)
    ends = []
    for r in _records():
        j.append(r)
        ends.append(DirFS(root).size("j/00000001"))
    full = j._read("j/00000001")
    for cut in range(len(full) + 1):
        case = temp_dir("jcut")
        fs = DirFS(case)
        fs.mkdir("j")
        f = fs.open("j/00000001", "wb")
        f.write(full[:cut] + tail)
        f.close()
        k = _open(case)
        committed = len([e for e in ends if e <= cut])
        got = k.pending()
        assert _strip(got) == _records()[:committed], cut
        assert [r["seq"] for r in got] == list(range(1, committed + 1)), cut
        # The box goes on: the next record follows the last committed one and reads back cleanly.
        seq = k.append(_records()[0])
        assert seq == committed + 1, cut
        assert [r["seq"] for r in _open(case).pending()] == list(range(1, committed + 2)), cut


def test_cut_at_every_byte_offset_recovers_exactly_the_committed_records():
    _cut_case(b"")


def test_cut_followed_by_erased_or_garbage_bytes():
    _cut_case(b"\xff" * 7)
    _cut_case(b"\xa5\x05\x00\x00\x00\x09garbage")


def test_positions_are_evicted_first_then_events_badges_last():
    root = temp_dir("je")
    j = _open(root, budget=2048, segment=256)
    badges = []
    for i in range(200):
        if i % 10 == 0:
            badges.append(j.append({"type": "badge", "t": i, "badge": BADGE, "granted": True, "reason": 1}))
        elif i % 10 == 5:
            j.append({"type": "event", "t": i, "code": 3, "value": i})
        else:
            j.append({"type": "pos", "t": i, "lat": i, "lon": -i, "speed": 100, "course": 5})
        assert j.size() <= 2048
    kept = j.pending(1000)
    kinds = [r["type"] for r in kept]
    assert [r["seq"] for r in kept if r["type"] == "badge"] == badges  # every badge decision kept
    assert j.evicted > 0
    # the positions left are the newest ones
    pos = [r["t"] for r in kept if r["type"] == "pos"]
    assert pos and min(pos) > 100
    assert kinds.count("event") > 0
    seqs = [r["seq"] for r in kept]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    # eviction state is on disk: a reboot reads the same records
    assert _open(root, budget=2048, segment=256).pending(1000) == kept


def test_badges_evicted_oldest_segment_first_when_nothing_else_left():
    j = _open(temp_dir("jf"), budget=1024, segment=128)
    for i in range(200):
        j.append({"type": "badge", "t": i, "badge": BADGE, "granted": False, "reason": 3})
        assert j.size() <= 1024
    kept = j.pending(1000)
    assert kept[-1]["seq"] == 200
    assert [r["seq"] for r in kept] == list(range(kept[0]["seq"], 201))
