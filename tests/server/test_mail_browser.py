"""The invitation and « mot de passe oublié » flows in a real browser (Playwright driving Debian's chromium)
against a live server whose mail worker thread sends to a real SMTP server on 127.0.0.1: the link is read
from the mail that server received."""

import os
import re
import threading

import pytest
from conftest import PASSWORD, Fleet
from mail_support import mail_config
from werkzeug.serving import make_server

from server import create_app
from server.db import connect, init_db

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason="Debian's chromium is not installed (%s); `make test` as root installs it"
                                       % CHROMIUM)


@pytest.fixture
def live(tmp_path, sink):
    app = create_app(mail_config(tmp_path, sink, MAIL_WORKER_THREAD=True, MAIL_POLL_SECONDS=0.2, TESTING=False))
    with app.app_context():
        init_db()
    db = connect(app.config["DATABASE"])
    fleet = Fleet(db)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = "http://127.0.0.1:%d" % server.server_port
    app.config["PUBLIC_URL"] = url  # the links in the mails lead back to this server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url, fleet
    server.shutdown()
    thread.join(10)
    app.extensions["mail_worker"].stop()
    db.conn.close()


@pytest.fixture
def page():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        try:
            tab = browser.new_page(viewport={"width": 390, "height": 844})  # a phone
            tab.set_default_timeout(20000)
            yield tab
        finally:
            browser.close()


def _link(sink, url, count):
    msg = sink.wait_for(count, timeout=20)[count - 1]
    text = msg.get_body(preferencelist=("plain",)).get_content()
    return msg, re.search(re.escape(url) + r"/mot-de-passe/\S+", text).group(0)


def _login(page, url, email, password):
    page.goto(url + "/connexion")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")


def _choose_password(page, link, password):
    page.goto(link)
    page.fill("#f-new", password)
    page.fill("#f-confirm", password)
    page.click("text=Enregistrer mon mot de passe")
    page.wait_for_selector("text=Mot de passe enregistré")


def test_invited_agent_chooses_a_password_from_the_mailed_link_and_logs_in(live, sink, page):
    url, fleet = live
    _login(page, url, fleet.email(fleet.admin), PASSWORD)
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
    _login(page, url, "lou.nouvel@ddt.gouv.fr", "mon mot de passe à moi")
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
    _login(page, url, email, PASSWORD)  # the old password no longer works
    page.wait_for_selector("text=Adresse e-mail ou mot de passe incorrect.")
    _login(page, url, email, "nouveau secret 2026")
    page.wait_for_url(url + "/reserver")
