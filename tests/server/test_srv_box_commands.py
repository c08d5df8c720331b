"""Administrators' box management on a real SQLite file through the real app: commands queued from the pages
and the CLI reach the box in a sync answer (decoded with the box key), disabled boxes get ERR_BOX_DISABLED."""

import os

import pytest
from conftest import future
from test_sync_api import BOX, KEY, Box, dump, post

from protocol import codes, errors, frame
from server.queries import boxes


@pytest.fixture
def box(client, db, fleet):
    boxes.register(db, BOX, fleet.car, KEY.hex())
    return Box(client)


# -- disabled box ---------------------------------------------------------------------------------------------

def test_a_disabled_box_gets_box_disabled_and_nothing_it_sends_is_stored(box, client, db):
    assert box.sync()["error"] == 0
    boxes.set_disabled(db, BOX, True, 1000)
    state = dump(db)
    t0 = future(-2)
    records = [box.record("event", t0, code=codes.EV_IGNITION, value=1),
               box.record("pos", t0 + 1, lat=472186000, lon=-15536000, speed=0, course=0)]
    answer = box.sync(records, rx=box.counter)
    assert answer["error"] == errors.ERR_BOX_DISABLED
    assert answer["last_counter"] == 1  # the counter of the disabled frame was not accepted either
    assert dump(db) == state


def test_a_disabled_box_gets_box_disabled_to_a_resync_request(box, client, db):
    boxes.set_disabled(db, BOX, True, 1000)
    nonce = os.urandom(8)
    reply = frame.decode_resync_reply(post(client, frame.encode_resync(BOX, nonce, KEY)), BOX, nonce, KEY)
    assert reply["error"] == errors.ERR_BOX_DISABLED


def test_an_enabled_box_syncs_again_above_its_counter(box, db):
    assert box.sync()["error"] == 0
    boxes.set_disabled(db, BOX, True, 1000)
    assert box.sync()["error"] == errors.ERR_BOX_DISABLED
    boxes.set_disabled(db, BOX, False, 2000)
    answer = box.sync()
    assert answer["error"] == 0 and boxes.get(db, BOX)["last_counter"] == box.counter
