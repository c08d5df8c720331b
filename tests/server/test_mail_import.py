"""Agents CSV import: a dry run that lists what would change and saves nothing, then the import, which
queues one invitation per agent without a password (delivered to a real SMTP server), once."""

import html
import io

import pytest
from conftest import login
from mail_support import run_worker

from server.queries import agents as agents_q

CSV = ("name;department;email;badges;role\n"
       "Lou Nouvel;DDT;lou.nouvel@ddt.gouv.fr;04:AA:BB:CC;\n"
       "Camille Martin-Durand;DDPP;camille.martin@ddt.gouv.fr;;manager\n"
       "Dominique Petit;DDPP;dominique.petit@ddpp.gouv.fr;;\n"
       "Sans Mail;DDT;pas-un-mail;;\n"
       "Noé Neuf;DSDEN;noe.neuf@dsden.gouv.fr;;\n")


@pytest.fixture
def app(mail_app):  # the conftest client, db and fleet fixtures follow this app
    return mail_app


def _state(db):
    return [tuple(r) for r in db.execute("SELECT a.name, a.email, d.code, a.role FROM agents a "
                                         "JOIN departments d ON d.id = a.department_id ORDER BY a.id")]


def test_cli_dry_run_lists_the_changes_and_saves_nothing_then_the_import_invites_once(app, runner, db, fleet,
                                                                                     sink, tmp_path):
    path = tmp_path / "agents.csv"
    path.write_text(CSV, encoding="utf-8")
    before = _state(db)
    result = runner.invoke(args=["import-agents", "--dry-run", str(path)])
    assert result.exit_code == 1  # a bad line
    out = result.output
    assert "Simulation : rien n'est enregistré." in out
    assert "ligne 2 : création de Lou Nouvel <lou.nouvel@ddt.gouv.fr> (DDT), invitation à envoyer" in out
    assert ("ligne 3 : Camille Martin-Durand <camille.martin@ddt.gouv.fr> : nom Camille Martin → Camille "
            "Martin-Durand, direction DDT → DDPP, rôle agent → manager") in out
    assert "ligne 4 : Dominique Petit <dominique.petit@ddpp.gouv.fr> : inchangé" in out
    assert "ligne 5 : name, department et un e-mail valide sont obligatoires" in out
    assert "2 invitation(s) à envoyer." in out and "4 ligne(s) importée(s), 1 erreur(s)." in out
    assert _state(db) == before
    assert db.execute("SELECT count(*) FROM mail_queue").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM departments WHERE code = 'DSDEN'").fetchone()[0] == 0

    result = runner.invoke(args=["import-agents", str(path)])
    assert "ligne 2 : création de Lou Nouvel <lou.nouvel@ddt.gouv.fr> (DDT), invitation envoyée" in result.output
    assert agents_q.by_email(db, "camille.martin@ddt.gouv.fr")["department_code"] == "DDPP"
    assert [b["masked"] for b in agents_q.badges(db, agents_q.by_email(db, "lou.nouvel@ddt.gouv.fr")["id"])] == [
        "…bbcc"]
    run_worker(app, db)
    invitations = sink.wait_for(2)
    assert sorted(m["To"] for m in invitations) == ["lou.nouvel@ddt.gouv.fr", "noe.neuf@dsden.gouv.fr"]
    assert all("votre compte est prêt" in m["Subject"] for m in invitations)
    # run again: their invitations are still open, nobody gets a second one
    result = runner.invoke(args=["import-agents", str(path)])
    assert "invitation" not in result.output.replace("invitation(s)", "")
    assert "ligne 2 : Lou Nouvel <lou.nouvel@ddt.gouv.fr> : inchangé" in result.output
    run_worker(app, db)
    assert len(sink.wait_for(3, timeout=0.5)) == 2
    assert runner.invoke(args=["import-agents", "--no-invite", str(path)]).output.count("invitation envoyée") == 0


def test_import_page_simulates_then_imports_for_administrators_only(app, client, db, fleet, sink):
    login(client, fleet.email(fleet.manager))
    assert client.get("/admin/agents/import").status_code == 403
    token = login(client, fleet.email(fleet.admin))
    before = _state(db)
    response = client.post("/admin/agents/import", data={"csrf_token": token, "action": "dry_run",
                                                         "file": (io.BytesIO(("\ufeff" + CSV).encode()), "a.csv")},
                           content_type="multipart/form-data")
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "Simulation : rien n'est enregistré" in page and "2 invitation(s) à envoyer" in page
    assert "création de Noé Neuf <noe.neuf@dsden.gouv.fr> (DSDEN)" in page and "ligne 5 :" in page
    assert _state(db) == before
    response = client.post("/admin/agents/import", data={"csrf_token": token, "action": "import", "text": CSV})
    page = html.unescape(response.get_data(as_text=True))
    assert "Import effectué" in page and "4 ligne(s) importée(s)" in page
    assert agents_q.by_email(db, "noe.neuf@dsden.gouv.fr") is not None
    assert client.post("/admin/agents/import", data={"csrf_token": token, "action": "import",
                                                     "text": " "}).status_code == 400
    run_worker(app, db)
    assert len(sink.wait_for(2)) == 2
