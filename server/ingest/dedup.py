"""Step 3: deduplication by (box, seq). A record sent again because an answer was lost is acknowledged
again but stored once; a sequence number beyond what SQLite holds (a box bug) is dropped."""

from operator import itemgetter

from server.ingest import MAX_SEQ
from server.queries import box_records

_SEQ = itemgetter(1)


def new_records(db, box_id, records):
    """(the records not stored before, duplicates, dropped); claims their numbers (rolled back with the
    frame's transaction)."""
    seqs = list(map(_SEQ, records))  # C-level: this runs for every position of the ingest
    dropped = 0
    if seqs and seqs[-1] > MAX_SEQ:  # seqs ascend within a frame
        records = [r for r, s in zip(records, seqs) if s <= MAX_SEQ]
        dropped = len(seqs) - len(records)
        seqs = seqs[:len(records)]  # ascending: the numbers kept are the first ones
    new = box_records.claim_new(db, box_id, seqs)
    duplicates = len(records) - len(new)
    if duplicates:
        fresh = set(new)
        records = [r for r, s in zip(records, seqs) if s in fresh]
    return records, duplicates, dropped
