"""Deduplication of journal records by (box, sequence): a retransmitted record is stored once."""


def claim(db, box_id, seq):
    """True when (box_id, seq) is new (and now claimed); False when the record was already stored.

    Call it inside the frame's transaction, before storing the record: a rolled-back frame also
    releases its claims.
    """
    cur = db.execute("INSERT OR IGNORE INTO box_records (box_id, seq) VALUES (?, ?)", (box_id, seq))
    return cur.rowcount == 1


def claim_many(db, box_id, seqs):
    """The subset of `seqs` that was new (claimed now), in the given order."""
    return [s for s in seqs if claim(db, box_id, s)]


def last_seq(db, box_id):
    """The highest journal sequence number stored for this box (0 for none): told to the box in the RESYNC
    answer so that a reflashed box, whose journal restarts at 1, numbers its records above it. The dedup
    rows outlive a reflash and a re-registration, so this survives both (one index seek)."""
    r = db.execute("SELECT max(seq) FROM box_records WHERE box_id = ?", (box_id,)).fetchone()
    return r[0] if r is not None and r[0] is not None else 0
