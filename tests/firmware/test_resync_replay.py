# A recorded "box disabled" answer to an earlier RESYNC, played back to the box, must not silence it.
from boxfakes import ManualClock, RecordingPin
from support import temp_dir

from app import box, sync
from hal.fsdir import DirFS
from protocol import errors, frame

KEY = bytes(range(16, 32))
BOX_ID = 7
T = 1750000000
CONFIG = {"box_id": BOX_ID, "server_host": "127.0.0.1", "server_port": 8080, "server_path": "/api/v1/sync"}


def _http(body):
    return b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def _client():
    b = box.Box(DirFS(temp_dir("rr")), ManualClock(T), RecordingPin(), KEY, BOX_ID)
    b.boot(False)
    c = sync.SyncClient(b, CONFIG, KEY)
    c.load()
    return c


def test_a_replayed_box_disabled_answer_is_refused_and_does_not_make_the_box_wait_a_day():
    c = _client()
    recorded = frame.encode_resync_reply(BOX_ID, b"\x01" * 8, 3, T - 86400, KEY, error=errors.ERR_BOX_DISABLED)
    outcome = c.handle_resync(_http(recorded), b"\x02" * 8)
    assert not outcome.ok and outcome.error == errors.ERR_NONCE
    plan = sync.SyncPlan(c.box.settings, lambda n: 0)
    assert plan.failed(0, outcome.error) < 86400 * 1000  # an ordinary retry, not the disabled box's day
    # the genuine answer to this RESYNC still says "disabled"
    genuine = frame.encode_resync_reply(BOX_ID, b"\x02" * 8, 3, T, KEY, error=errors.ERR_BOX_DISABLED)
    outcome = c.handle_resync(_http(genuine), b"\x02" * 8)
    assert not outcome.ok and outcome.error == errors.ERR_BOX_DISABLED


def test_an_unbound_error_frame_to_a_resync_is_refused_too():
    c = _client()
    unbound = frame.encode_response(BOX_ID, 0, {"error": errors.ERR_BOX_DISABLED, "last_counter": 3,
                                                "time": T}, KEY)
    outcome = c.handle_resync(_http(unbound), b"\x02" * 8)
    assert not outcome.ok and outcome.error == errors.ERR_NONCE
