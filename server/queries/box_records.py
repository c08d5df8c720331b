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
