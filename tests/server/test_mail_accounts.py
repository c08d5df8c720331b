"""Accounts without shared passwords, checked through the mails a real SMTP server receives: the invitation
of a new agent, « mot de passe oublié », single use, expiry, and answers that never tell whether an
address is known."""

import pytest
from conftest import PASSWORD, csrf_of, login
from mail_support import PUBLIC_URL, body, link_in, run_worker

from server.queries import agents as agents_q
from server.queries import mail as mail_q


@pytest.fixture
def app(mail_app):  # the conftest client, db and fleet fixtures follow this app
    return mail_app


def _path(link):
    assert link.startswith(PUBLIC_URL + "/mot-de-passe/")
    return link[len(PUBLIC_URL):]


def _choose(client, path, password, confirm=None):
    token = csrf_of(client, "/mot-de-passe-oublie")
    return client.post(path, data={"csrf_token": token, "new": password, "confirm": confirm or password})


def test_a_new_agent_gets_an_invitation_link_that_works_once(app, client, db, fleet, sink):
    token = login(client, fleet.email(fleet.manager))
    response = client.post("/admin/agents", data={"csrf_token": token, "name": "Lou Nouvel",
                                                  "email": "lou.nouvel@ddt.gouv.fr"})
    assert response.status_code == 302
    lou = agents_q.by_email(db, "lou.nouvel@ddt.gouv.fr")
    assert lou["password_hash"] is None
    run_worker(app, db)
    [invitation] = sink.wait_for(1)
    assert invitation["To"] == "lou.nouvel@ddt.gouv.fr"
    assert invitation["Subject"] == "Autopartage : votre compte est prêt, choisissez votre mot de passe"
    assert "Ce lien ne sert qu'une fois" in body(invitation)
    link = link_in(invitation)
    assert link in body(invitation, "html")
    client.post("/deconnexion", data={"csrf_token": csrf_of(client, "/compte")})
    page = client.get(_path(link)).get_data(as_text=True)
    assert "Bienvenue, Lou Nouvel" in page
    assert _choose(client, _path(link), "court").status_code == 400
    assert _choose(client, _path(link), "un mot de passe à moi", "autre chose").status_code == 400
    response = _choose(client, _path(link), "un mot de passe à moi")
    assert response.status_code == 302 and response.headers["Location"].endswith("/connexion")
    login(client, "lou.nouvel@ddt.gouv.fr", "un mot de passe à moi")
    client.post("/deconnexion", data={"csrf_token": csrf_of(client, "/compte")})
    # single use: the same link is refused afterwards
    assert client.get(_path(link)).status_code == 404
    assert "Lien invalide ou expiré" in client.get(_path(link)).get_data(as_text=True)
    assert _choose(client, _path(link), "on essaie encore").status_code == 404
    login(client, "lou.nouvel@ddt.gouv.fr", "un mot de passe à moi")


def test_forgotten_password_sends_a_reset_link_and_never_tells_whether_an_address_is_known(app, client, db,
                                                                                          fleet, sink):
    answers = []
    for email in (fleet.email(fleet.agent), "personne@nulle-part.fr"):
        token = csrf_of(client, "/mot-de-passe-oublie")
        response = client.post("/mot-de-passe-oublie", data={"csrf_token": token, "email": email},
                               follow_redirects=True)
        answers.append((response.status_code, response.get_data(as_text=True).replace(email, "")))
    assert answers[0] == answers[1]
    assert "Si cette adresse correspond à un compte actif" in answers[0][1]
    run_worker(app, db)
    [reset] = sink.wait_for(2, timeout=1)
    assert reset["To"] == fleet.email(fleet.agent)
    assert reset["Subject"] == "Autopartage : réinitialisation de votre mot de passe"
    assert "ignorez ce message" in body(reset)
    assert _choose(client, _path(link_in(reset)), "nouveau secret 2026").status_code == 302
    login(client, fleet.email(fleet.agent), "nouveau secret 2026")
    assert agents_q.check_login(db, fleet.email(fleet.agent), PASSWORD) is None
    assert client.get(_path(link_in(reset))).status_code == 404


def test_reset_links_expire_are_capped_and_go_to_active_accounts_only(app, client, db, fleet, sink):
    def forgot(email):
        token = csrf_of(client, "/mot-de-passe-oublie")
        return client.post("/mot-de-passe-oublie", data={"csrf_token": token, "email": email})

    for _ in range(3):  # three per hour and address: the fourth request sends nothing
        assert forgot(fleet.email(fleet.agent)).status_code == 302
    agents_q.update(db, fleet.agent2, active=False)
    assert forgot(fleet.email(fleet.agent2)).status_code == 302
    run_worker(app, db)
    first, _second, _third = sink.wait_for(3)
    assert [m["To"] for m in sink.wait_for(4, timeout=1)] == [fleet.email(fleet.agent)] * 3
    assert forgot(fleet.email(fleet.agent)).status_code == 302
    run_worker(app, db)
    assert len(sink.wait_for(4, timeout=1)) == 3
    # an hour later the links are dead
    db.execute("UPDATE account_tokens SET expires_at = strftime('%s', 'now') - 1")
    assert client.get(_path(link_in(first))).status_code == 404
    # a link the relay could not take before it expired is not sent at all
    app.config["RESET_VALID_MINUTES"] = 0
    db.execute("DELETE FROM account_tokens")
    sink.mode = "refuse"
    assert forgot(fleet.email(fleet.agent)).status_code == 302
    run_worker(app, db)
    assert mail_q.listing(db, "failed")[0]["last_error"].startswith("périmé")
    assert forgot("").status_code == 400


def test_administrators_send_links_instead_of_typing_passwords(app, client, db, fleet, sink):
    token = login(client, fleet.email(fleet.admin))
    page = client.get("/admin/agents/%d" % fleet.agent).get_data(as_text=True)
    assert 'type="password"' not in page and "Envoyer un lien de nouveau mot de passe" in page
    # the former action is gone: nobody sets another agent's password
    before = agents_q.get(db, fleet.agent)["password_hash"]
    assert client.post("/admin/agents/%d" % fleet.agent, data={"csrf_token": token, "action": "password",
                                                               "password": "z" * 12}).status_code == 400
    assert agents_q.get(db, fleet.agent)["password_hash"] == before
    assert client.post("/admin/agents/%d" % fleet.agent, data={"csrf_token": token,
                                                               "action": "invite"}).status_code == 302
    newcomer = agents_q.create(db, "Sans Compte", "sans.compte@ddt.gouv.fr", fleet.ddt)
    assert "Envoyer l&#39;invitation" in client.get("/admin/agents/%d" % newcomer).get_data(as_text=True)
    assert client.post("/admin/agents/%d" % newcomer, data={"csrf_token": token,
                                                            "action": "invite"}).status_code == 302
    run_worker(app, db)
    reset, invitation = sink.wait_for(2)
    assert reset["Subject"].endswith("réinitialisation de votre mot de passe")
    assert invitation["To"] == "sans.compte@ddt.gouv.fr" and "votre compte est prêt" in invitation["Subject"]
    assert "Invitation envoyée, valable jusqu" in client.get("/admin/agents/%d" % newcomer).get_data(as_text=True)
