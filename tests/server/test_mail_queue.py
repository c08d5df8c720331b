"""The mail queue against a real SMTP server on 127.0.0.1 (aiosmtpd): booking mails end to end, and a relay
that is down, refuses, hangs and comes back (nothing lost, nothing sent twice)."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import csrf_of, future, login
from mail_support import body, run_worker

from server import timeutil
from server.db import connect, write
from server.mail import events, messages
from server.mail.sink import Sink
from server.queries import mail as mail_q
from server.queries import reservations
from server.queries.common import Rules


@pytest.fixture
def app(mail_app):  # the conftest client, db and fleet fixtures follow this app
    return mail_app


def book(client, fleet, start, end):
    token = csrf_of(client, "/reserver")
    d1, d2 = timeutil.local(start), timeutil.local(end)
    response = client.post("/reserver", data={
        "csrf_token": token, "date": d1.date().isoformat(), "start": d1.strftime("%H:%M"),
        "end_date": d2.date().isoformat(), "end": d2.strftime("%H:%M"), "vehicle_id": fleet.car,
        "purpose": "Contrôle", "destination": "Sablé-sur-Sarthe"})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_booking_confirmation_arrives_with_car_place_paris_times_and_calendar_event(app, client, db, fleet, sink):
    login(client, fleet.email(fleet.agent))
    start = future(30)
    book(client, fleet, start, start + 2 * 3600)
    # queued by the booking's own transaction, not sent by the page
    assert [(m["kind"], m["status"]) for m in mail_q.listing(db)] == [("booking_confirmed", "compose")]
    assert sink.messages == []
    done = run_worker(app, db)
    assert done["composed"] == 1 and done["sent"] == 1
    [msg] = sink.wait_for(1)
    assert msg["To"] == fleet.email(fleet.agent)
    assert msg["From"] == "Autopartage <autopartage@paixhans.test>"
    assert msg["Subject"] == "Réservation confirmée : AB-123-CD, %s" % timeutil.fmt(start)
    text = body(msg)
    assert "Renault Clio IV" in text and "Lieu : Pool Paixhans" in text
    assert "Début : %s" % timeutil.fmt(start) in text and "Fin : %s" % timeutil.fmt(start + 7200) in text
    assert "Destination : Sablé-sur-Sarthe" in text and "https://autopartage.test/mes-reservations" in text
    assert "<td>AB-123-CD (Renault Clio IV)</td>" in body(msg, "html")
    [ics] = [p for p in msg.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = ics.get_content()
    assert "METHOD:PUBLISH" in calendar and "DTSTART:" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(start)) in calendar
    assert "UID:reservation-" in calendar and "@autopartage.test" in calendar
    assert mail_q.get(db, 1)["status"] == "sent"
    assert run_worker(app, db)["sent"] == 0 and len(sink.wait_for(2, timeout=0.5)) == 1


def test_change_and_cancellation_mails_and_no_stale_confirmation(app, client, db, fleet, sink):
    token = login(client, fleet.email(fleet.agent))
    start = future(30)
    book(client, fleet, start, start + 3600)
    run_worker(app, db)
    rid = db.execute("SELECT id FROM reservations").fetchone()[0]
    new_end = timeutil.local(start + 3 * 3600)
    client.post("/reservations/%d/prolonger" % rid, data={"csrf_token": token, "end_date": new_end.date().isoformat(),
                                                          "end": new_end.strftime("%H:%M")})
    run_worker(app, db)
    client.post("/reservations/%d/annuler" % rid, data={"csrf_token": token})
    run_worker(app, db)
    confirmed, changed, cancelled = sink.wait_for(3)
    assert changed["Subject"].startswith("Réservation modifiée : AB-123-CD")
    assert "Fin : %s" % timeutil.fmt(start + 3 * 3600) in body(changed)
    assert cancelled["Subject"].startswith("Réservation annulée : AB-123-CD")
    [ics] = list(cancelled.iter_attachments())
    assert "METHOD:CANCEL" in ics.get_content() and "STATUS:CANCELLED" in ics.get_content()
    # booked and cancelled before the worker ran: the confirmation is not sent, only the cancellation
    book(client, fleet, start + 86400, start + 86400 + 3600)
    rid2 = db.execute("SELECT max(id) FROM reservations").fetchone()[0]
    client.post("/reservations/%d/annuler" % rid2, data={"csrf_token": token})
    run_worker(app, db)
    assert [m["Subject"].split(" :")[0] for m in sink.wait_for(5, timeout=1)] == [
        "Réservation confirmée", "Réservation modifiée", "Réservation annulée", "Réservation annulée"]


def _queue_three(app, db, now):
    with app.app_context(), write(db):
        for n in range(3):
            msg = messages.Message(["agent%d@ddt.gouv.fr" % n], "Message %d" % n, "Texte %d\n" % n, "<p>%d</p>" % n)
            events.send(db, now, "test", msg)


def test_relay_down_refusing_hanging_then_back_loses_nothing_and_sends_nothing_twice(app, db, sink):
    port = sink.port
    now = int(time.time())
    _queue_three(app, db, now)
    sink.stop()  # down: connection refused
    assert run_worker(app, db, now) == {"queued": 0, "composed": 0, "sent": 0, "retry": 3, "failed": 0}
    rows = mail_q.listing(db)
    assert {(m["status"], m["attempts"]) for m in rows} == {("pending", 1)}
    assert all("connexion refusée" in m["last_error"] for m in rows)
    assert all(m["next_try"] == now + 10 for m in rows)  # first backoff: MAIL_RETRY_BASE_SECONDS
    assert run_worker(app, db, now + 9)["retry"] == 0  # not due yet: nothing tried

    back = Sink(port=port).start()
    try:
        back.mode = "refuse"  # 451 to each message
        assert run_worker(app, db, now + 10)["retry"] == 3
        assert {m["last_error"] for m in mail_q.listing(db)} == {"451 4.3.0 Service temporairement indisponible"}
        assert {m["next_try"] for m in mail_q.listing(db)} == {now + 10 + 20}  # doubled

        back.mode, back.hang_s = "hang", 3  # says nothing for longer than the client waits (1 s)
        started = time.monotonic()
        assert run_worker(app, db, now + 30)["retry"] == 3
        assert time.monotonic() - started < 2.5  # one timeout for the batch, not one per message
        assert {m["attempts"] for m in mail_q.listing(db)} == {3}
        assert all(m["last_error"].startswith("délai dépassé") for m in mail_q.listing(db))

        back.mode = "accept"
        assert run_worker(app, db, now + 30 + 40)["sent"] == 3
        assert run_worker(app, db, now + 100000)["sent"] == 0
        time.sleep(3.5)  # the hung session's late answer was a refusal: nothing more arrives
        received = back.wait_for(4, timeout=0.5)
        assert sorted(m["Subject"] for m in received) == ["Message 0", "Message 1", "Message 2"]
        assert len({m["Message-ID"] for m in received}) == 3
        assert {(m["status"], m["attempts"]) for m in mail_q.listing(db)} == {("sent", 4)}
    finally:
        back.stop()


def test_permanent_refusal_fails_with_the_answer_and_the_admin_resends(app, client, db, fleet, sink):
    now = int(time.time())
    with app.app_context(), write(db):
        events.send(db, now, "test", messages.Message(["x@ddt.gouv.fr"], "Refusé puis renvoyé", "Texte\n", ""))
    sink.mode = "reject"
    assert run_worker(app, db, now)["failed"] == 1
    [m] = mail_q.listing(db)
    assert (m["status"], m["last_error"]) == ("failed", "550 5.7.1 Message refusé")
    token = login(client, fleet.email(fleet.admin))
    page = client.get("/admin/courriels?etat=failed").get_data(as_text=True)
    assert "550 5.7.1 Message refusé" in page and "Refusé puis renvoyé" in page
    login(client, fleet.email(fleet.agent))
    assert client.get("/admin/courriels").status_code == 403
    token = login(client, fleet.email(fleet.admin))
    assert client.post("/admin/courriels", data={"csrf_token": token, "mail_id": m["id"]}).status_code == 302
    sink.mode = "accept"
    assert run_worker(app, db, now + 1)["sent"] == 1
    assert [x["Subject"] for x in sink.wait_for(1)] == ["Refusé puis renvoyé"]


def test_retries_give_up_after_max_attempts_with_the_last_answer(app, db, sink):
    now = int(time.time())
    with app.app_context(), write(db):
        events.send(db, now, "test", messages.Message(["x@ddt.gouv.fr"], "Jamais", "Texte\n", ""))
    sink.mode = "refuse"
    t = now
    for _attempt in range(6):
        run_worker(app, db, t)
        m = mail_q.listing(db)[0]
        t = m["next_try"]
    assert m["status"] == "failed" and m["attempts"] == 6
    assert m["last_error"] == "abandonné après 6 essais : 451 4.3.0 Service temporairement indisponible"


def test_a_message_the_mail_library_refuses_fails_alone_and_the_rest_goes(app, db, sink):
    now = int(time.time())
    with app.app_context(), write(db):
        events.send(db, now, "test", messages.Message(["a@ddt.gouv.fr"], "Premier", "Texte\n", ""))
        bad = events.send(db, now, "test", messages.Message(["b@ddt.gouv.fr"], "Deuxième", "Texte\n", ""))
        events.send(db, now, "test", messages.Message(["c@ddt.gouv.fr"], "Troisième", "Texte\n", ""))
    db.execute("UPDATE mail_queue SET subject = 'Objet\r\nBcc: espion@example.org' WHERE id = ?", (bad,))
    assert run_worker(app, db, now) == {"queued": 0, "composed": 0, "sent": 2, "retry": 0, "failed": 1}
    assert mail_q.get(db, bad)["last_error"].startswith("message invalide")
    assert sorted(m["Subject"] for m in sink.wait_for(2)) == ["Premier", "Troisième"]
    assert messages.Message(["x@y.fr"], "Un objet\r\nsur deux lignes", "", "").subject == "Un objet sur deux lignes"


def test_sent_messages_are_forgotten_after_mail_keep_days_failed_ones_stay(app, db, sink):
    now = int(time.time())
    with app.app_context(), write(db):
        for n in range(2):
            events.send(db, now, "test", messages.Message(["a@ddt.gouv.fr"], "Message %d" % n, "Texte\n", ""))
    run_worker(app, db, now)
    db.execute("UPDATE mail_queue SET status = 'failed' WHERE id = 2")
    run_worker(app, db, now + 89 * 86400)
    assert [m["id"] for m in mail_q.listing(db)] == [2, 1]
    run_worker(app, db, now + 91 * 86400)
    assert [m["id"] for m in mail_q.listing(db)] == [2]


def test_two_workers_at_once_send_each_message_once(app, db, sink):
    now = int(time.time())
    with app.app_context(), write(db):
        for n in range(30):
            events.send(db, now, "test", messages.Message(["a@ddt.gouv.fr"], "Message %02d" % n, "Texte\n", ""))
    barrier = threading.Barrier(2)
    results = []

    def work():
        own = connect(app.config["DATABASE"])
        barrier.wait()
        for _ in range(3):
            results.append(run_worker(app, own, now))
        own.conn.close()

    workers = [threading.Thread(target=work) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert sum(r.get("sent", 0) for r in results) == 30
    received = sink.wait_for(31, timeout=1)
    assert sorted(m["Subject"] for m in received) == ["Message %02d" % n for n in range(30)]


def test_a_worker_that_died_while_sending_leaves_its_messages_to_the_next_once_its_lease_ran_out(app, db, sink):
    now = int(time.time())
    with app.app_context(), write(db):
        events.send(db, now, "test", messages.Message(["a@ddt.gouv.fr"], "Orphelin", "Texte\n", ""))
    [claimed] = mail_q.claim(db, now, lease_s=300)  # then the worker dies
    assert run_worker(app, db, now + 299)["sent"] == 0
    assert run_worker(app, db, now + 300)["sent"] == 1
    assert [m["Subject"] for m in sink.wait_for(1)] == ["Orphelin"]
    assert mail_q.get(db, claimed["id"])["attempts"] == 2


def test_a_reminder_the_relay_could_not_take_before_the_start_is_never_sent_late(app, client, db, fleet, sink):
    start = future(-2)  # the worker runs at chosen times; the queue page below is past the start in real time too
    reservations.create(db, fleet.agent, fleet.car, start, start + 3600, start - 86400, Rules())
    sink.mode = "refuse"
    run_worker(app, db, start - 3000)  # confirmation and reminder queued, both refused (451)
    assert {m["kind"]: m["status"] for m in mail_q.listing(db)} == {"reminder": "pending",
                                                                    "booking_confirmed": "pending"}
    sink.mode = "accept"
    done = run_worker(app, db, start + 60)  # the relay is back after the start
    assert done["sent"] == 1 and done["failed"] == 0  # the confirmation (booking not over yet)
    assert [m["Subject"].split(" :")[0] for m in sink.wait_for(2, timeout=0.5)] == ["Réservation confirmée"]
    [reminder] = [m for m in mail_q.listing(db) if m["kind"] == "reminder"]
    assert reminder["status"] == "failed"
    assert reminder["last_error"].startswith("périmé avant d'avoir pu partir ; 451")
    token = login(client, fleet.email(fleet.admin))
    page = client.get("/admin/courriels?etat=failed").get_data(as_text=True)
    assert "Renvoyer" not in page
    client.post("/admin/courriels", data={"csrf_token": token, "mail_id": reminder["id"]})
    assert mail_q.get(db, reminder["id"])["status"] == "failed"  # not put back: nothing to say any more


def test_mail_worker_command_sends_what_is_due(app, db, sink):
    with app.app_context(), write(db):
        events.send(db, int(time.time()), "test", messages.Message(["a@ddt.gouv.fr"], "Par la commande", "T\n", ""))
    result = app.test_cli_runner().invoke(args=["mail-worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent=1" in result.output
    assert [m["Subject"] for m in sink.wait_for(1)] == ["Par la commande"]
    app.config["SMTP_HOST"] = None
    result = app.test_cli_runner().invoke(args=["mail-worker", "--once"])
    assert "SMTP_HOST n'est pas réglé" in result.output and "sent" not in result.output


def test_the_mail_worker_service_sends_and_stops_on_sigterm(app, db, sink, tmp_path):
    """`flask --app server mail-worker` as production runs it: its own process, settings from the environment."""
    env = dict(os.environ, AUTOPARTAGE_DATABASE=app.config["DATABASE"], AUTOPARTAGE_SECRET_KEY="x",
               AUTOPARTAGE_SMTP_HOST="127.0.0.1", AUTOPARTAGE_SMTP_PORT=str(sink.port),
               AUTOPARTAGE_SMTP_SECURITY="none", AUTOPARTAGE_MAIL_POLL_SECONDS="0.2")
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    service = subprocess.Popen([flask, "--app", "server", "mail-worker"], env=env, cwd=str(tmp_path),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with app.app_context(), write(db):
            events.send(db, int(time.time()), "test", messages.Message(["a@ddt.gouv.fr"], "Du service", "T\n", ""))
        assert [m["Subject"] for m in sink.wait_for(1, timeout=20)] == ["Du service"]
        service.send_signal(signal.SIGTERM)
        assert service.wait(10) == 0, service.stdout.read()
    finally:
        if service.poll() is None:
            service.kill()
            service.wait()
    assert mail_q.listing(db)[0]["status"] == "sent"
