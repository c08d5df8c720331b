"""The data layer: every SQL statement of the server lives in these modules; views stay thin.

Functions take a `sqlite_utils.Database` first (from `server.db.get_db()` or `server.db.connect()`),
times in epoch seconds, and return plain dicts/ints. Functions that change several rows wrap themselves
in `server.db.write()` (BEGIN IMMEDIATE, or a savepoint when the caller already holds a transaction,
as the sync endpoint does for one frame).
"""

from server.queries import (  # noqa: F401
    agents,
    allowlist,
    audit,
    badge_events,
    box_records,
    boxes,
    equipment,
    maintenance,
    org,
    positions,
    problems,
    reports,
    reservations,
    trips,
)
