"""Flask CLI commands on a real database file."""

import os

from server.queries import agents as agents_q
from server.queries import audit, boxes, org

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_init_db_then_import_fleet_and_agents(runner, db, tmp_path):
    assert runner.invoke(args=["init-db"]).exit_code == 0
    fleet_csv = os.path.join(ROOT, "tools", "fleet_example.csv")
    result = runner.invoke(args=["import-fleet", fleet_csv])
    assert result.exit_code == 0, result.output
    assert db.execute("SELECT count(*) FROM vehicles").fetchone()[0] == 44
    assert {d["code"] for d in org.departments(db)} == {"DDT", "DDPP", "DDCS", "DSDEN"}
    assert runner.invoke(args=["import-fleet", fleet_csv]).exit_code == 0  # idempotent
    assert db.execute("SELECT count(*) FROM vehicles").fetchone()[0] == 44
    agents_csv = tmp_path / "agents.csv"
    agents_csv.write_text("name;department;email;badges\n"
                          "Camille Martin;DDT;camille.martin@ddt.gouv.fr;04:A1:B2:C3 04a1b2c4\n"
                          "Sans Mail;DDT;pas-un-mail;\n"
                          "Mauvais Badge;DDPP;mb@ddpp.gouv.fr;zz\n", encoding="utf-8")
    result = runner.invoke(args=["import-agents", str(agents_csv)])
    assert result.exit_code == 1
    assert "ligne 3" in result.output and "ligne 4" in result.output and "1 ligne(s) importée(s)" in result.output
    camille = agents_q.by_email(db, "camille.martin@ddt.gouv.fr")
    assert [b["masked"] for b in agents_q.badges(db, camille["id"])] == ["…b2c3", "…b2c4"]


def test_imported_roles_and_permanent_access_are_scoped_and_audited(runner, db, fleet, tmp_path):
    agents_csv = tmp_path / "agents.csv"
    agents_csv.write_text("name,department,email,role,permanent_access\n"
                          "Max Méca,DDPP,max@ddpp.gouv.fr,manager,oui\n", encoding="utf-8")
    assert runner.invoke(args=["import-agents", str(agents_csv)]).exit_code == 0
    max_id = agents_q.by_email(db, "max@ddpp.gouv.fr")["id"]
    # the import grants the agent's own department only, never every car
    assert agents_q.permanent_scopes(db, max_id) == {"pools": [], "departments": [fleet.ddpp]}
    assert [(e["action"], e["actor_id"]) for e in audit.entries(db)][::-1] == [
        ("agent.role", None), ("permanent_access.set", None)]
    assert runner.invoke(args=["import-agents", str(agents_csv)]).exit_code == 0  # again: nothing changes
    assert len(audit.entries(db)) == 2


def test_bad_fleet_lines_are_reported_with_their_number(runner, db, tmp_path):
    path = tmp_path / "fleet.csv"
    path.write_text("plate,model,department,pool,cost_per_km_cents,monthly_fixed_cents\n"
                    "AB-123-CD,Clio,DDT,Pool DDT,12,30000\n"
                    ",Clio,DDT,Pool DDT,12,30000\n"
                    "CD-456-EF,Clio,DDT,Pool DDT,douze,30000\n", encoding="utf-8")
    result = runner.invoke(args=["import-fleet", str(path)])
    assert result.exit_code == 1
    assert "ligne 3" in result.output and "ligne 4 : cost_per_km_cents" in result.output
    assert db.execute("SELECT plate FROM vehicles").fetchall()[0][0] == "AB-123-CD"


def test_create_admin_box_register_purge_and_demo(runner, db, tmp_path):
    result = runner.invoke(args=["create-admin", "chef@ddt.gouv.fr", "--password-file", "-"], input="un-long-secret\n")
    assert result.exit_code == 0, result.output
    assert agents_q.check_login(db, "chef@ddt.gouv.fr", "un-long-secret")["role"] == "admin"
    result = runner.invoke(args=["create-admin", "chef@ddt.gouv.fr", "--password-file", "-"], input="court\n")
    assert result.exit_code != 0
    # never on the command line, where `ps` shows it to every user of the machine
    assert runner.invoke(args=["create-admin", "chef@ddt.gouv.fr", "--password", "un-long-secret"]).exit_code == 2
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "admin@demo.gouv.fr" in result.output
    assert db.execute("SELECT count(*) FROM vehicles").fetchone()[0] == 44
    assert 190 <= db.execute("SELECT count(*) FROM badges").fetchone()[0] <= 220
    assert db.execute("SELECT count(*) FROM trips").fetchone()[0] > 100
    plate = db.execute("SELECT plate FROM vehicles ORDER BY id LIMIT 1").fetchone()[0]
    result = runner.invoke(args=["box-register", "500", plate], input="ab" * 16 + "\n")
    assert result.exit_code == 0, result.output
    assert boxes.get_key(db, 500) == bytes.fromhex("ab" * 16)
    key_file = tmp_path / "key"
    key_file.write_text("cd" * 16 + "\n")
    assert runner.invoke(args=["box-register", "503", plate, "--key-file", str(key_file)]).exit_code == 0
    assert boxes.get_key(db, 503) == bytes.fromhex("cd" * 16)
    assert runner.invoke(args=["box-register", "501", plate], input="xyz\n").exit_code != 0
    assert runner.invoke(args=["box-register", "502", "ZZ-000-ZZ"], input="ab" * 16 + "\n").exit_code != 0
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "position(s) supprimée(s)" in result.output
    assert runner.invoke(args=["maintenance"]).exit_code == 0


def test_no_command_takes_a_secret_on_its_command_line(runner):
    """`ps` and the shell history keep a command line: a password or a key must come from a file or stdin."""
    for command in ("create-admin", "box-register", "demo-data"):
        help_text = runner.invoke(args=[command, "--help"]).output
        assert "--password " not in help_text and "--key-hex" not in help_text, (command, help_text)
    result = runner.invoke(args=["create-admin", "chef@ddt.gouv.fr", "--password", "un-long-secret"])
    assert result.exit_code == 2 and "No such option" in result.output


def test_cli_changes_of_rights_and_boxes_are_audited(runner, db, fleet):
    runner.invoke(args=["create-admin", "chef@ddt.gouv.fr", "--password-file", "-"], input="un-long-secret\n")
    assert runner.invoke(args=["box-register", "7", "AB-123-CD"], input="ab" * 16 + "\n").exit_code == 0
    assert runner.invoke(args=["box-register", "7", "AB-123-CD"], input="cd" * 16 + "\n").exit_code == 0
    assert runner.invoke(args=["box-command", "7", "resync"]).exit_code == 0
    assert runner.invoke(args=["box-disable", "7"]).exit_code == 0
    logged = [(r["action"], r["target"], r["actor_id"]) for r in audit.entries(db)][::-1]
    admin = agents_q.by_email(db, "chef@ddt.gouv.fr")["id"]
    assert logged == [("agent.role", "agent:%d" % admin, None), ("agent.password_set", "agent:%d" % admin, None),
                      ("box.register", "box:7", None), ("box.key", "box:7", None), ("box.command", "box:7", None),
                      ("box.disable", "box:7", None)]
    assert all("ab" * 16 not in (r["after"] or "") for r in audit.entries(db))  # never a key in the log
