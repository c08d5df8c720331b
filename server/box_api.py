"""Box API blueprint (`/api/v1/...`): what the boxes talk to over GPRS.

`POST /api/v1/sync`: body = one request frame of the protocol (docs/architecture.md "Transport",
docs/protocol.md), `Content-Type: application/octet-stream`; the answer body is the response frame, with HTTP 200 —
protocol errors travel inside an (authenticated when possible) error frame. Only when the database cannot
even give the box's key is the answer an empty 503 (docs/protocol.md: non-200 = no answer, retry later). The frame is
applied by `server.sync.handle` in one transaction. No CSRF and no session here: frames carry their own
HMAC.
"""

import time

from flask import Blueprint, current_app, jsonify, request
from flask.sessions import SecureCookieSessionInterface

from protocol import errors, frame
from server import sync
from server.db import get_db
from server.queries import boxes

bp = Blueprint("box_api", __name__, url_prefix="/api/v1")

OCTETS = "application/octet-stream"


class SessionInterface(SecureCookieSessionInterface):
    """The app's cookie sessions, except on the box API: a box has no cookie, so its requests get an empty
    read-only session (no cookie parsed, signed or sent; part of each sync's cost otherwise)."""

    def open_session(self, app, request):
        if request.path.startswith(bp.url_prefix + "/"):
            return self.null_session_class()
        return super().open_session(app, request)


@bp.get("/health")
def health():
    """Liveness probe for monitoring and the bench: the database answers."""
    db = get_db()
    return jsonify({"status": "ok", "time": int(time.time()),
                    "boxes": boxes.count(db)})


def _frame_bytes():
    """The request body, at most MAX_FRAME + 1 bytes read (a larger frame is refused, never buffered)."""
    length = request.content_length
    if length is not None and length > frame.MAX_FRAME:
        return None
    data = request.stream.read(frame.MAX_FRAME + 1)
    return None if len(data) > frame.MAX_FRAME else data


@bp.post("/sync")
def sync_frame():
    data = _frame_bytes()
    if data is None:
        body = frame.encode_plain_error(errors.ERR_TOO_BIG)
    else:
        hours = int(current_app.config.get("ALLOW_HORIZON_HOURS", 48))
        config = current_app.config
        try:
            result = sync.handle(get_db(), data, int(time.time()), horizon_s=hours * 3600,
                                 settings=config.get("BOX_SETTINGS") or None,
                                 allow_refresh_s=int(config.get("SYNC_ALLOW_REFRESH_S", sync.ALLOW_REFRESH_S)))
        except Exception:
            # Only a database that cannot even give the box's key gets here (sync.handle answers everything
            # else with a frame): no frame can be authenticated, so "no answer" — the box retries later.
            current_app.logger.exception("sync endpoint: database unavailable")
            return current_app.response_class(b"", status=503, mimetype=OCTETS)
        body = result.body
    return current_app.response_class(body, status=200, mimetype=OCTETS)
