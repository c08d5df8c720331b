"""Issue 13, server side: roles and rights in one place, scoped permanent access, the append-only audit log.

Each test is an attack or a promise from the issue, played through the real app on a real SQLite file.
"""

import csv
import io
import sqlite3

import pytest
from conftest import PASSWORD, csrf_of, future, login

from protocol import codes
from server.queries import agents as agents_q
from server.queries import allowlist, audit, boxes

KEY = bytes(range(16))


def _post(client, path, token, **data):
    return client.post(path, data=dict(data, csrf_token=token))


def _logout(client):
    client.post("/deconnexion", data={"csrf_token": csrf_of(client, "/compte")})


def _role_entries(db, box_id, now):
    return sorted(e["agent_id"] for e in allowlist.entries_for_box(db, box_id, now) if e["kind"] == codes.KIND_ROLE)


# -- roles and rights --------------------------------------------------------------------------------------

def test_a_manager_cannot_set_the_admins_password_and_log_in_as_admin(client, db, fleet):
    """The attack of the issue: the admin is in the manager's department, the page let the manager set any
    password of the department."""
    token = login(client, fleet.email(fleet.manager))
    r = _post(client, "/admin/agents/%d" % fleet.admin, token, action="password", password="pris-par-le-gestionnaire")
    assert r.status_code == 403
    _logout(client)
    token = csrf_of(client)
    r = client.post("/connexion", data={"email": fleet.email(fleet.admin), "password": "pris-par-le-gestionnaire",
                                        "csrf_token": token})
    assert r.status_code == 400  # not logged in
    assert agents_q.check_login(db, fleet.email(fleet.admin), PASSWORD) is not None


@pytest.mark.parametrize("action", [
    {"action": "invite"},  # not even a password link
    {"action": "settings", "role": "manager"},  # unticked "active": deactivate the account
    {"action": "badge", "badge": "0499999999"},
    {"action": "badge_off", "badge_id": "1"},
    {"action": "permanent", "pool": "1"},
])
def test_a_manager_changes_nothing_on_a_manager_or_admin_account(client, db, fleet, action):
    other_manager = fleet.person("Lou Chef", "lou.chef@ddt.gouv.fr", fleet.ddt, role="manager", badge="0400000001")
    token = login(client, fleet.email(fleet.manager))
    before = db.execute("SELECT * FROM agents ORDER BY id").fetchall()
    badges_before = db.execute("SELECT * FROM badges ORDER BY id").fetchall()
    for target in (fleet.admin, other_manager, fleet.manager):
        assert _post(client, "/admin/agents/%d" % target, token, **action).status_code == 403, target
    assert db.execute("SELECT * FROM agents ORDER BY id").fetchall() == before
    assert db.execute("SELECT * FROM badges ORDER BY id").fetchall() == badges_before
    assert db.execute("SELECT count(*) FROM permanent_grants").fetchone()[0] == 0
    page = client.get("/admin/agents/%d" % fleet.admin).get_data(as_text=True)
    assert 'value="password"' not in page and "Seul un administrateur gère ce compte" in page


def test_a_manager_manages_the_agents_of_their_department_only(client, db, fleet):
    token = login(client, fleet.email(fleet.manager))
    assert _post(client, "/admin/agents/%d" % fleet.agent, token, action="badge", badge="0412345678").status_code == 302
    r = _post(client, "/admin/agents/%d" % fleet.agent2, token, action="badge", badge="0412345679")
    assert r.status_code == 403
    r = _post(client, "/admin/agents/%d" % fleet.agent, token, action="settings", role="admin", active="1")
    assert r.status_code == 400 and "seul un administrateur" in r.get_data(as_text=True)
    assert agents_q.get(db, fleet.agent)["role"] == "agent"
    # a personal habilitation is a change of rights on that account too
    r = _post(client, "/admin/habilitations", token, pool_id=fleet.pool, email=fleet.email(fleet.admin))
    assert r.status_code == 400
    assert db.execute("SELECT count(*) FROM habilitations WHERE agent_id = ?", (fleet.admin,)).fetchone()[0] == 0


def test_a_manager_cannot_grant_permanent_access_not_even_to_themself(client, db, fleet):
    """Today: a manager ticks permanent access on their own account and their badge starts all 44 cars."""
    agents_q.add_badge(db, fleet.manager, "0411223344")
    boxes.register(db, 3, fleet.car, KEY.hex())
    token = login(client, fleet.email(fleet.manager))
    for target in (fleet.manager, fleet.agent):
        assert _post(client, "/admin/agents/%d" % target, token, action="permanent", pool=fleet.pool,
                     department=fleet.ddt).status_code == 403
    # the old form's checkbox does nothing either
    _post(client, "/admin/agents/%d" % fleet.agent, token, action="settings", role="agent", active="1",
          permanent_access="1")
    assert db.execute("SELECT count(*) FROM permanent_grants").fetchone()[0] == 0
    assert _role_entries(db, 3, future(1)) == []


def test_permanent_access_from_an_admin_reaches_only_the_chosen_cars_and_a_scope_change_the_next_sync(
        client, db, fleet):
    box_ddt, box_ddpp = 3, 4
    boxes.register(db, box_ddt, fleet.car, KEY.hex())
    boxes.register(db, box_ddpp, fleet.car2, KEY.hex())
    mechanic = fleet.person("Max Méca", "max.meca@ddt.gouv.fr", fleet.ddt, badge="0455667788")
    now = future(1)
    for box_id in (box_ddt, box_ddpp):
        allowlist.changes_for_box(db, box_id, now)  # both boxes hold their list
    token = login(client, fleet.email(fleet.admin))
    r = _post(client, "/admin/agents/%d" % mechanic, token, action="permanent", pool=fleet.pool_ddpp)
    assert r.status_code == 302
    assert _role_entries(db, box_ddt, now) == [] and _role_entries(db, box_ddpp, now) == [mechanic]
    assert allowlist.changes_for_box(db, box_ddt, now) is None  # nothing for the car out of scope
    assert [e["kind"] for e in allowlist.changes_for_box(db, box_ddpp, now)["add"]] == [codes.KIND_ROLE]
    # the scope moves to the DDT department (owner of fleet.car): both boxes learn it at their next sync
    stamp = allowlist.inputs_stamp(db, box_ddt)
    _post(client, "/admin/agents/%d" % mechanic, token, action="permanent", department=fleet.ddt)
    assert allowlist.inputs_stamp(db, box_ddt) != stamp
    added = allowlist.changes_for_box(db, box_ddt, now)["add"]
    assert [e["kind"] for e in added if e["kind"] == codes.KIND_ROLE] == [codes.KIND_ROLE]
    assert allowlist.changes_for_box(db, box_ddpp, now)["remove"]
    # an out-of-range pool id is refused and changes nothing
    assert _post(client, "/admin/agents/%d" % mechanic, token, action="permanent", pool="999").status_code == 400
    assert agents_q.permanent_scopes(db, mechanic) == {"pools": [], "departments": [fleet.ddt]}
    entry = audit.entries(db, action="permanent_access.set")[0]
    assert entry["actor_id"] == fleet.admin and entry["target"] == "agent:%d" % mechanic
    assert '"pools": [%d]' % fleet.pool_ddpp in entry["before"] and '"departments": [%d]' % fleet.ddt in entry["after"]


def test_a_department_scoped_grant_follows_the_car_when_its_owner_changes(db, fleet):
    boxes.register(db, 3, fleet.car2, KEY.hex())
    agents_q.set_permanent_access(db, fleet.agent, department_ids=[fleet.ddt])
    now = future(1)
    allowlist.changes_for_box(db, 3, now)
    stamp = allowlist.inputs_stamp(db, 3)
    db.execute("UPDATE vehicles SET department_id = ? WHERE id = ?", (fleet.ddt, fleet.car2))
    assert allowlist.inputs_stamp(db, 3) != stamp
    assert _role_entries(db, 3, now) == [fleet.agent]


# -- audit log ---------------------------------------------------------------------------------------------

def test_the_audit_log_refuses_update_and_delete(db):
    entry = audit.record(db, "agent.role", actor_id=None, address="192.0.2.1", target="agent:1", before="agent",
                         after="admin")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("UPDATE audit_log SET after = 'agent' WHERE id = ?", (entry,))
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        db.execute("DELETE FROM audit_log")
    assert [(e["action"], e["before"], e["after"]) for e in audit.entries(db)] == [("agent.role", "agent", "admin")]


def test_every_change_of_rights_made_on_the_pages_is_audited_with_who_and_from_where(client, db, fleet):
    boxes.register(db, 9, fleet.car2, KEY.hex())
    token = login(client, fleet.email(fleet.admin))
    page = "/admin/agents/%d" % fleet.agent
    steps = [
        (page, {"action": "settings", "role": "manager", "active": "1"}, "agent.role"),
        (page, {"action": "settings", "role": "manager"}, "agent.active"),
        (page, {"action": "badge", "badge": "04:12:34:56"}, "badge.add"),
        (page, {"action": "badge_off", "badge_id": "1"}, "badge.deactivate"),
        (page, {"action": "permanent", "pool": str(fleet.pool)}, "permanent_access.set"),
        ("/admin/habilitations", {"pool_id": fleet.pool_ddpp, "email": fleet.email(fleet.agent)}, "habilitation.add"),
        ("/admin/boitiers", {"box_id": "5", "vehicle_id": fleet.car}, "box.register"),
        ("/admin/boitiers", {"box_id": "5", "vehicle_id": fleet.car, "replace": "1"}, "box.key"),
        ("/admin/boitiers/9", {"action": "command", "action_cmd": "resync"}, "box.command"),
        ("/admin/boitiers/9", {"action": "disable"}, "box.disable"),
    ]
    for path, data, action in steps:
        r = _post(client, path, token, **data)
        assert r.status_code in (200, 302), (action, r.status_code)
        last = audit.entries(db, limit=1)[0]
        assert (last["action"], last["actor_id"], last["address"]) == (action, fleet.admin, "127.0.0.1"), last
    hab = db.execute("SELECT id FROM habilitations WHERE agent_id = ?", (fleet.agent,)).fetchone()[0]
    _post(client, "/admin/habilitations", token, action="remove", habilitation_id=hab)
    assert audit.entries(db, limit=1)[0]["action"] == "habilitation.remove"
    role = audit.entries(db, action="agent.role")[0]
    assert (role["target"], role["before"], role["after"]) == ("agent:%d" % fleet.agent, "agent", "manager")
    assert all(KEY.hex() not in (e["after"] or "") for e in audit.entries(db))


def test_the_audit_page_is_for_admins_filters_and_exports_csv_and_has_no_way_to_edit(client, db, fleet):
    audit.record(db, "agent.role", actor_id=fleet.admin, address="192.0.2.7", target="agent:%d" % fleet.agent,
                 before="agent", after="manager")
    audit.record(db, "box.register", target="box:3", after={"vehicle": fleet.car})
    login(client, fleet.email(fleet.manager))
    assert client.get("/admin/journal-audit").status_code == 403
    assert client.get("/admin/journal-audit.csv").status_code == 403
    _logout(client)
    token = login(client, fleet.email(fleet.admin))
    page = client.get("/admin/journal-audit").get_data(as_text=True)
    assert "192.0.2.7" in page and "<td>box:3</td>" in page and "ligne de commande" in page
    filtered = client.get("/admin/journal-audit?action=box.register").get_data(as_text=True)
    assert "<td>box:3</td>" in filtered and "192.0.2.7" not in filtered
    assert "<td>box:3</td>" not in client.get("/admin/journal-audit?cible=agent:").get_data(as_text=True)
    assert client.get("/admin/journal-audit?du=hier").status_code == 400
    export = client.get("/admin/journal-audit.csv?qui=Anne")
    assert export.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert lines[0][:5] == ["date", "auteur", "email_auteur", "adresse", "action"]
    assert [(r[1], r[3], r[4], r[6], r[7]) for r in lines[1:]] == [("Anne Admin", "192.0.2.7", "agent.role", "agent",
                                                                    "manager")]
    for method in (client.post, client.put, client.delete):
        assert method("/admin/journal-audit", data={"csrf_token": token}).status_code == 405
    assert db.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 2


def test_upgrading_keeps_the_old_permanent_holders_working_and_says_so_in_the_audit_log(tmp_path):
    from server import migrations
    from server.db import connect

    db = connect(tmp_path / "old.sqlite")
    migrations.migrations.apply(db, stop_before="0008a_audit_log")
    d1 = db.execute("INSERT INTO departments (code, name) VALUES ('DDT', 'DDT')").lastrowid
    d2 = db.execute("INSERT INTO departments (code, name) VALUES ('DDPP', 'DDPP')").lastrowid
    mechanic = db.execute("INSERT INTO agents (name, email, department_id, permanent_access, ical_token) "
                          "VALUES ('Méca', 'meca@ddt.gouv.fr', ?, 1, 't')", (d1,)).lastrowid
    migrations.apply(db)
    assert agents_q.permanent_scopes(db, mechanic) == {"pools": [], "departments": sorted([d1, d2])}
    assert [(e["action"], e["target"]) for e in audit.entries(db)] == [("permanent_access.migrated",
                                                                        "agent:%d" % mechanic)]
    db.conn.close()
