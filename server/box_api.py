"""Box API blueprint (`/api/v1/...`): what the boxes talk to over GPRS.

`POST /api/v1/sync` (protocol frames, see docs/architecture.md and docs/protocol.md) is added to this
blueprint by the sync implementation; it uses the data layer in `server.queries` (boxes.get_key,
boxes.accept_counter, box_records.claim, trips.record_start/record_end, positions.add_many,
badge_events.add, boxes.update_health, allowlist.changes_for_box, boxes.pending_commands) inside one
`server.db.write(db)` transaction per frame. No CSRF and no session here: frames carry their own HMAC.
"""

import time

from flask import Blueprint, jsonify

from server.db import get_db, scalar

bp = Blueprint("box_api", __name__, url_prefix="/api/v1")


@bp.get("/health")
def health():
    """Liveness probe for monitoring and the bench: the database answers."""
    db = get_db()
    return jsonify({"status": "ok", "time": int(time.time()),
                    "boxes": scalar(db, "SELECT count(*) FROM boxes", (), 0)})
