"""Deduplication of journal records by (box, sequence): a retransmitted record is stored once.

What was stored is kept as runs of consecutive sequence numbers (`box_record_runs`: box, first, last):
a box numbers its records 1, 2, 3..., so its history is one run or a few and a frame claims its numbers
with one read and two writes.
"""


def _overlapping_runs(db, box_id, lo, hi):
    """The box's runs that overlap or touch [lo, hi], as [first, last] lists in ascending order."""
    runs = db.execute("""
SELECT first, last
FROM box_record_runs
WHERE box_id = ?
  AND first < ?
ORDER BY first DESC
LIMIT 1""", (box_id, lo)).fetchall()
    runs = [list(r) for r in runs if r[1] >= lo - 1]
    runs += [list(r) for r in db.execute("""
SELECT first, last
FROM box_record_runs
WHERE box_id = ?
  AND first BETWEEN ? AND ?
ORDER BY first""", (box_id, lo, hi + 1))]
    return runs


def claim_new(db, box_id, seqs):
    """Claim the journal sequence numbers of one frame (strictly ascending, as the decoder guarantees);
    returns the list of those that were new, in order. Call it inside the frame's transaction, before
    storing the records: a rolled-back frame also releases its claims."""
    if not seqs:
        return []
    lo, hi = seqs[0], seqs[-1]
    runs = _overlapping_runs(db, box_id, lo, hi)
    if hi - lo == len(seqs) - 1 and all(r[1] < lo or r[0] > hi for r in runs):
        # the usual frame: one stretch of new numbers, maybe touching the run before or after it
        first = min([lo] + [r[0] for r in runs])
        last = max([hi] + [r[1] for r in runs])
        _replace_runs(db, box_id, runs, [[first, last]])
        return list(seqs)
    if runs:
        new = []
        i = 0
        for s in seqs:
            while i < len(runs) and runs[i][1] < s:
                i += 1
            if i == len(runs) or s < runs[i][0]:
                new.append(s)
    else:
        new = list(seqs)
    if not new:
        return new
    stretches = []  # the new numbers as runs (they ascend)
    for s in new:
        if stretches and s == stretches[-1][1] + 1:
            stretches[-1][1] = s
        else:
            stretches.append([s, s])
    merged = []  # the union of the touched runs and the new stretches
    for first, last in sorted(runs + stretches):
        if merged and first <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], last)
        else:
            merged.append([first, last])
    _replace_runs(db, box_id, runs, merged)
    return new


def _replace_runs(db, box_id, old, new):
    if old:
        db.conn.executemany("""
DELETE FROM box_record_runs
WHERE box_id = ?
  AND first = ?""", [(box_id, r[0]) for r in old])
    db.conn.executemany("""
INSERT INTO box_record_runs (box_id, first, last)
VALUES (?, ?, ?)""", [(box_id, r[0], r[1]) for r in new])


def claim(db, box_id, seq):
    """True when (box_id, seq) is new (and now claimed); False when the record was already stored."""
    return bool(claim_new(db, box_id, [seq]))


def claim_many(db, box_id, seqs):
    """The subset of `seqs` (any order, repeats allowed) that was new (claimed now), in the given order."""
    new = set(claim_new(db, box_id, sorted(set(seqs))))
    out = []
    for s in seqs:
        if s in new:
            out.append(s)
            new.discard(s)
    return out


def stored_seqs(db, box_id):
    """Every sequence number stored for the box, ascending (tests and the bench's checks)."""
    out = []
    for first, last in db.execute("""
SELECT first, last
FROM box_record_runs
WHERE box_id = ?
ORDER BY first""", (box_id,)):
        out.extend(range(first, last + 1))
    return out


def last_seq(db, box_id):
    """The highest journal sequence number stored for this box (0 for none): told to the box in the RESYNC
    answer so that a reflashed box, whose journal restarts at 1, numbers its records above it. The runs
    outlive a reflash and a re-registration, so this survives both (one index seek)."""
    r = db.execute("""
SELECT last
FROM box_record_runs
WHERE box_id = ?
ORDER BY first DESC
LIMIT 1""", (box_id,)).fetchone()
    return r[0] if r is not None else 0
