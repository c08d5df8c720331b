"""The invitation and « mot de passe oublié » flows in a real browser (Playwright driving Debian's chromium)
against a live server whose mail worker thread sends to a real SMTP server on 127.0.0.1: the link is read
from the mail that server received."""

import re

import pytest
from browser_support import PHONE, fresh_app, log_in, needs_chromium, open_page, served
from conftest import PASSWORD, Fleet
from mail_support import mail_config

pytestmark = needs_chromium


@pytest.fixture
def live(tmp_path, sink):
    app, db = fresh_app(tmp_path, **mail_config(tmp_path, sink, MAIL_WORKER_THREAD=True, MAIL_POLL_SECONDS=0.2,
                                                TESTING=False))
    fleet = Fleet(db)
    with served(app) as url:
        app.config["PUBLIC_URL"] = url  # the links in the mails lead back to this server
        yield url, fleet
    app.extensions["mail_worker"].stop()
    db.conn.close()


@pytest.fixture
def page():
    with open_page(PHONE) as tab:
        yield tab


def _link(sink, url, count):
    msg = sink.wait_for(count, timeout=20)[count - 1]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return msg, re.search(re.escape(url) + r"/mot-de-passe/\S+", text).group(0)


def _choose_password(page, link, password):
    page.goto(link)
    page.fill("#f-new", password)
    page.fill("#f-confirm", password)
    page.click("text=Enregistrer mon mot de passe")
    page.wait_for_selector("text=Mot de passe enregistré")


def test_invited_agent_chooses_a_password_from_the_mailed_link_and_logs_in(live, sink, page):
    url, fleet = live
    log_in(page, url, fleet.email(fleet.admin))
    page.wait_for_url(url + "/admin/")
    page.goto(url + "/admin/agents")
    page.fill("#f-name", "Lou Nouvel")
    page.fill("#f-email", "lou.nouvel@ddt.gouv.fr")
    page.click("text=Créer")
    page.wait_for_selector("text=une invitation à choisir son mot de passe part à lou.nouvel@ddt.gouv.fr")
    page.click("text=Déconnexion")
    msg, link = _link(sink, url, 1)
    assert msg["To"] == "lou.nouvel@ddt.gouv.fr"
    page.goto(link)
    assert page.locator("h1").inner_text() == "Bienvenue, Lou Nouvel"
    _choose_password(page, link, "mon mot de passe à moi")
    log_in(page, url, "lou.nouvel@ddt.gouv.fr", "mon mot de passe à moi")
    page.wait_for_url(url + "/reserver")
    page.goto(link)  # single use
    assert page.locator("h1").inner_text() == "Lien invalide ou expiré"


def test_forgotten_password_from_the_login_page(live, sink, page):
    url, fleet = live
    email = fleet.email(fleet.agent)
    page.goto(url + "/connexion")
    page.click("text=Mot de passe oublié ?")
    page.wait_for_url(url + "/mot-de-passe-oublie")
    page.fill("#email", email)
    page.click("text=Recevoir un lien")
    page.wait_for_selector("text=Si cette adresse correspond à un compte actif")
    msg, link = _link(sink, url, 1)
    assert msg["To"] == email and "réinitialisation" in msg["Subject"]
    _choose_password(page, link, "nouveau secret 2026")
    log_in(page, url, email, PASSWORD)  # the old password no longer works
    page.wait_for_selector("text=Adresse e-mail ou mot de passe incorrect.")
    log_in(page, url, email, "nouveau secret 2026")
    page.wait_for_url(url + "/reserver")
