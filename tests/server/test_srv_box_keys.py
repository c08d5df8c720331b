"""Replay protection across re-registration and a database restored from a backup: real SQLite files, the
real app and CLI, frames of the real protocol."""

import sqlite3

import pytest
from test_sync_api import BOX, KEY, Box, post

from protocol import errors, frame
from server.queries import boxes


@pytest.fixture
def box(client, db, fleet):
    boxes.register(db, BOX, fleet.car, KEY.hex())
    return Box(client)


def _copy_database(source, target):
    src, dst = sqlite3.connect(source), sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def _resync_last_counter(client, key=KEY):
    nonce = b"\x5a" * 8
    return frame.decode_resync_reply(post(client, frame.encode_resync(BOX, nonce, key)), BOX, nonce, key)[
        "last_counter"]


def test_registering_a_box_again_with_the_same_key_keeps_its_replay_protection(box, client, db, fleet):
    recorded = []
    for _ in range(3):
        data, counter = box.frame()
        recorded.append((data, counter))
        assert frame.decode_response(post(client, data), BOX, counter, KEY)["error"] == 0
    boxes.register(db, BOX, fleet.car, KEY.hex())  # provisioning run again (tools/provision)
    data, counter = recorded[0]
    replayed = frame.decode_response(post(client, data), BOX, counter, KEY)
    assert replayed["error"] == errors.ERR_STALE and replayed["last_counter"] == 3
    assert _resync_last_counter(client) == 3, "a reflashed box continues above its old counters"


def test_a_new_key_keeps_the_counter_too_so_an_old_key_back_never_reuses_one(box, client, db, fleet):
    assert box.sync()["error"] == 0 and box.sync()["error"] == 0
    other = bytes(range(100, 116))
    boxes.register(db, BOX, fleet.car, other.hex())
    boxes.register(db, BOX, fleet.car, KEY.hex())  # back to the first key
    assert _resync_last_counter(client) == 2


def test_after_restoring_a_backup_the_counters_are_advanced_past_anything_used_since(box, client, app, runner,
                                                                                   tmp_path):
    assert box.sync()["error"] == 0
    path = app.config["DATABASE"]
    backup = str(tmp_path / "backup.sqlite")
    _copy_database(path, backup)  # the nightly backup (SQLite's online backup, as docs/security.md says)
    recorded = []
    for _ in range(4):  # syncs after the backup was taken, recorded by an attacker
        data, counter = box.frame()
        recorded.append((data, counter))
        assert frame.decode_response(post(client, data), BOX, counter, KEY)["error"] == 0
    _copy_database(backup, path)  # the restore
    assert _resync_last_counter(client) == 1, "restored: the server forgot the four syncs"
    result = runner.invoke(args=["box-counters-restored", "--days", "2"])
    assert result.exit_code == 0, result.output
    assert "1 boîtier" in result.output
    data, counter = recorded[-1]
    replayed = frame.decode_response(post(client, data), BOX, counter, KEY)
    assert replayed["error"] == errors.ERR_STALE
    assert replayed["last_counter"] == 1 + 3 * boxes.COUNTERS_PER_DAY
    assert _resync_last_counter(client) == 1 + 3 * boxes.COUNTERS_PER_DAY
