"""Administrators' box management on a real SQLite file through the real app: commands queued from the pages
and the CLI reach the box in a sync answer (decoded with the box key), disabled boxes get ERR_BOX_DISABLED."""

import os

import pytest
from conftest import future
from test_sync_api import BOX, KEY, Box, dump, post

from protocol import codes, errors, frame
from server.queries import boxes, reservations
from server.queries.common import Rules


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


def test_a_recorded_box_disabled_answer_cannot_be_replayed_to_a_later_resync(box, client, db):
    boxes.set_disabled(db, BOX, True, 1000)
    recorded = post(client, frame.encode_resync(BOX, b"\x01" * 8, KEY))
    boxes.set_disabled(db, BOX, False, 2000)
    nonce = b"\x02" * 8
    post(client, frame.encode_resync(BOX, nonce, KEY))  # the real answer is dropped, the old one played back
    with pytest.raises(errors.ProtocolError) as exc:
        frame.decode_resync_reply(recorded, BOX, nonce, KEY)
    assert exc.value.code == errors.ERR_NONCE


def test_an_enabled_box_syncs_again_above_its_counter(box, db):
    assert box.sync()["error"] == 0
    boxes.set_disabled(db, BOX, True, 1000)
    assert box.sync()["error"] == errors.ERR_BOX_DISABLED
    boxes.set_disabled(db, BOX, False, 2000)
    answer = box.sync()
    assert answer["error"] == 0 and boxes.get(db, BOX)["last_counter"] == box.counter


# -- commands from the pages reach the box ------------------------------------------------------------------------

def _post(client, url, token, **data):
    data["csrf_token"] = token
    return client.post(url, data=data)


def test_an_admin_queues_a_release_for_a_reservation_and_it_reaches_the_box_once(box, client, db, fleet, as_user,
                                                                                    caplog):
    start = future(1)
    res = reservations.create(db, fleet.agent, fleet.car, start, start + 7200, start - 3600, Rules())
    token = as_user(fleet.admin)
    page = client.get("/admin/boitiers/%d" % BOX).get_data(as_text=True)
    assert "jamais moteur tournant" in page and "n° %d" % res in page
    with caplog.at_level("INFO", logger="server.admin"):
        r = _post(client, "/admin/boitiers/%d" % BOX, token, action="command", action_cmd="release",
                  reservation=str(res), version="")
    assert r.status_code == 302
    assert any("box %d release" % BOX in m and fleet.email(fleet.admin) in m for m in caplog.messages)
    assert "en attente" in client.get("/admin/boitiers/%d" % BOX).get_data(as_text=True)
    answer = box.sync(rx=0)
    assert answer["commands"] == [{"cmd": codes.CMD_RELEASE, "arg": res}]
    assert [c["state"] for c in boxes.commands(db, BOX)] == ["sent"]
    again = box.sync(rx=box.counter)  # the box confirms the reply: the command is not sent twice
    assert again["commands"] == []
    assert [c["state"] for c in boxes.commands(db, BOX)] == ["acknowledged"]
    assert "reçue par le boîtier" in client.get("/admin/boitiers/%d" % BOX).get_data(as_text=True)


@pytest.mark.parametrize("action, extra, expected", [
    ("resync", {}, {"cmd": codes.CMD_RESYNC, "arg": 0}),
    ("release", {}, {"cmd": codes.CMD_RELEASE, "arg": 0}),
    ("block", {}, {"cmd": codes.CMD_BLOCK, "arg": 0}),
    ("update", {"version": "1.4.2"}, {"cmd": codes.CMD_FIRMWARE, "arg": 10402}),
])
def test_each_command_from_the_boxes_list_reaches_a_frame(box, client, db, fleet, as_user, action, extra, expected):
    token = as_user(fleet.admin)
    r = _post(client, "/admin/boitiers/commande", token, box_id=str(BOX), action="command", action_cmd=action, **extra)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/boitiers/%d" % BOX)
    assert box.sync()["commands"] == [expected]


def test_a_lost_answer_sends_the_command_again_and_the_page_shows_it_sent_then_received(box, client, db, fleet,
                                                                                         as_user):
    box.sync(rx=0)
    token = as_user(fleet.admin)
    _post(client, "/admin/boitiers/%d" % BOX, token, action="command", action_cmd="block")
    assert box.sync(rx=1)["commands"] == [{"cmd": codes.CMD_BLOCK, "arg": 0}]  # reply 2 is lost on the way back
    assert "envoyée" in client.get("/admin/boitiers/%d" % BOX).get_data(as_text=True)
    assert box.sync(rx=1)["commands"] == [{"cmd": codes.CMD_BLOCK, "arg": 0}]  # rx=1 < 2: sent again
    assert [c["state"] for c in boxes.commands(db, BOX)] == ["sent"]
    assert box.sync(rx=3)["commands"] == []
    assert [c["state"] for c in boxes.commands(db, BOX)] == ["acknowledged"]


@pytest.mark.parametrize("data, field, message", [
    ({"action_cmd": "explode"}, "action_cmd", "choisissez une commande"),
    ({"action_cmd": "update", "version": "1.4"}, "version", "format X.Y.Z"),
    ({"action_cmd": "update", "version": "1.400.2"}, "version", "format X.Y.Z"),
    ({"action_cmd": "release", "reservation": "abc"}, "reservation", "nombre entier"),
    ({"action_cmd": "release", "reservation": "999"}, "reservation", "aucune réservation n° 999"),
])
def test_bad_commands_are_refused_with_a_french_message_and_nothing_is_queued(box, client, db, fleet, as_user, data,
                                                                               field, message):
    token = as_user(fleet.admin)
    r = _post(client, "/admin/boitiers/%d" % BOX, token, action="command", **data)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    assert boxes.commands(db, BOX) == []


def test_a_release_for_another_cars_or_cancelled_reservation_is_refused(box, client, db, fleet, as_user):
    start = future(2)
    other = reservations.create(db, fleet.agent2, fleet.car2, start, start + 3600, start - 7200, Rules())
    token = as_user(fleet.admin)
    r = _post(client, "/admin/boitiers/%d" % BOX, token, action="command", action_cmd="release", reservation=str(other))
    assert r.status_code == 400 and "pour le véhicule de ce boîtier" in r.get_data(as_text=True)
    mine = reservations.create(db, fleet.agent, fleet.car, start, start + 3600, start - 7200, Rules())
    reservations.cancel(db, mine, fleet.agent, start - 7200)
    r = _post(client, "/admin/boitiers/%d" % BOX, token, action="command", action_cmd="release", reservation=str(mine))
    assert r.status_code == 400 and "annulée ou terminée" in r.get_data(as_text=True)
    assert boxes.commands(db, BOX) == []


def test_the_same_command_twice_waits_only_once(box, client, db, fleet, as_user):
    token = as_user(fleet.admin)
    assert _post(client, "/admin/boitiers/%d" % BOX, token, action="command", action_cmd="resync").status_code == 302
    r = _post(client, "/admin/boitiers/%d" % BOX, token, action="command", action_cmd="resync")
    assert r.status_code == 400 and "attend déjà" in r.get_data(as_text=True)
    assert len(boxes.commands(db, BOX)) == 1


def test_a_command_without_csrf_token_is_refused(box, client, db, fleet, as_user):
    as_user(fleet.admin)
    r = client.post("/admin/boitiers/%d" % BOX, data={"action": "command", "action_cmd": "resync"})
    assert r.status_code == 400 and boxes.commands(db, BOX) == []


def test_roles_agents_never_managers_only_their_department_admins_everything(box, client, db, fleet, as_user):
    boxes.register(db, 9, fleet.car2, "11" * 16)  # a DDPP car
    token = as_user(fleet.agent)
    assert _post(client, "/admin/boitiers/%d" % BOX, token, action="command", action_cmd="resync").status_code == 403
    client.get("/deconnexion")
    token = as_user(fleet.manager)  # DDT
    assert client.get("/admin/boitiers/9").status_code == 403
    assert _post(client, "/admin/boitiers/9", token, action="command", action_cmd="resync").status_code == 403
    assert _post(client, "/admin/boitiers/commande", token, box_id="9", action_cmd="resync").status_code == 403
    assert _post(client, "/admin/boitiers/%d" % BOX, token, action="command", action_cmd="resync").status_code == 302
    assert _post(client, "/admin/boitiers/%d" % BOX, token, action="disable").status_code == 403
    assert not boxes.is_disabled(db, BOX)
    assert [c["created_by"] for c in boxes.commands(db, BOX)] == [fleet.manager]
    assert boxes.commands(db, 9) == []


def test_an_admin_disables_and_enables_a_box_from_its_page(box, client, db, fleet, as_user, caplog):
    token = as_user(fleet.admin)
    with caplog.at_level("INFO", logger="server.admin"):
        assert _post(client, "/admin/boitiers/%d" % BOX, token, action="disable").status_code == 302
    assert any("box disable: box %d" % BOX in m for m in caplog.messages)
    assert boxes.is_disabled(db, BOX)
    assert "désactivé" in client.get("/admin/boitiers").get_data(as_text=True)
    assert box.sync()["error"] == errors.ERR_BOX_DISABLED
    r = _post(client, "/admin/boitiers/commande", token, box_id=str(BOX), action_cmd="resync")
    assert r.status_code == 400 and "réactivez-le" in r.get_data(as_text=True)
    assert _post(client, "/admin/boitiers/%d" % BOX, token, action="enable").status_code == 302
    assert box.sync()["error"] == 0


# -- CLI -----------------------------------------------------------------------------------------------------------

def test_cli_box_command_reaches_the_box_and_reports_errors_in_french(box, runner, db, fleet):
    r = runner.invoke(args=["box-command", str(BOX), "update", "--version", "2.0.1"])
    assert r.exit_code == 0, r.output
    assert box.sync()["commands"] == [{"cmd": codes.CMD_FIRMWARE, "arg": 20001}]
    r = runner.invoke(args=["box-command", str(BOX), "update", "--version", "deux"])
    assert r.exit_code != 0 and "format X.Y.Z" in r.output
    r = runner.invoke(args=["box-command", "77", "resync"])
    assert r.exit_code != 0 and "aucun boîtier" in r.output
    r = runner.invoke(args=["box-command", str(BOX), "release", "--reservation", "5"])
    assert r.exit_code != 0 and "aucune réservation n° 5" in r.output
    r = runner.invoke(args=["box-command", str(BOX), "release"])
    assert r.exit_code == 0
    assert box.sync()["commands"] == [{"cmd": codes.CMD_RELEASE, "arg": 0}]


def test_cli_box_disable_and_enable(box, runner, db):
    r = runner.invoke(args=["box-disable", str(BOX)])
    assert r.exit_code == 0 and "désactivé" in r.output
    assert box.sync()["error"] == errors.ERR_BOX_DISABLED
    assert runner.invoke(args=["box-enable", str(BOX)]).exit_code == 0
    assert box.sync()["error"] == 0
    r = runner.invoke(args=["box-disable", "77"])
    assert r.exit_code != 0 and "aucun boîtier" in r.output
