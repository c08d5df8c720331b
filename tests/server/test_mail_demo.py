"""The demo's mail page: what the local SMTP sink caught, shown only when the demo sets DEMO_MAILBOX."""

import html

from conftest import Fleet
from mail_support import mail_config, run_worker

from server import create_app
from server.db import connect, init_db, write
from server.mail import accounts
from server.mail.sink import Sink
from server.queries import agents as agents_q


def test_demo_page_shows_what_the_sink_caught_and_exists_only_in_the_demo(tmp_path):
    mailbox = str(tmp_path / "courriels.mbox")
    sink = Sink(mbox_path=mailbox).start()
    try:
        app = create_app(mail_config(tmp_path, sink, DEMO_MAILBOX=mailbox))
        with app.app_context():
            init_db()
        db = connect(app.config["DATABASE"])
        fleet = Fleet(db)
        client = app.test_client()
        assert "Aucun courriel" in client.get("/demo/courriels").get_data(as_text=True)
        with app.test_request_context(), write(db):
            accounts.send_link(db, agents_q.get(db, fleet.agent), "reset", 1_800_000_000)
        run_worker(app, db, 1_800_000_000)
        sink.wait_for(1)
        page = html.unescape(client.get("/demo/courriels").get_data(as_text=True))
        assert "Autopartage : réinitialisation de votre mot de passe" in page
        assert 'href="https://autopartage.test/mot-de-passe/' in page and fleet.email(fleet.agent) in page
        db.conn.close()
    finally:
        sink.stop()
    production = create_app(mail_config(tmp_path, sink))
    assert production.test_client().get("/demo/courriels").status_code == 404
