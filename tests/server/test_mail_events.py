"""Mails that time and other events bring, checked as they arrive at a real SMTP server: reminder (and an
agent who turned them off), booking released as a no-show, late return (copy to the managers), problem
reported (to the managers in scope); and a slow relay never slows a page."""

import time

import pytest
from conftest import Fleet, csrf_of, future, login
from mail_support import body, mail_config, run_worker

from server import create_app, timeutil
from server.db import connect, init_db, write
from server.migrations import history_load
from server.queries import boxes, reservations, trips
from server.queries.common import Rules


@pytest.fixture
def app(mail_app):  # the conftest client, db and fleet fixtures follow this app
    return mail_app


def _book(db, fleet, start, hours=2, created_before_s=2 * 86400, agent=None):
    return reservations.create(db, agent or fleet.agent, fleet.car, start, start + hours * 3600,
                               start - created_before_s, Rules())


def test_reminder_before_the_start_once_and_only_for_agents_who_want_it(app, client, db, fleet, sink):
    start = future(30)
    _book(db, fleet, start)
    run_worker(app, db, start - 3 * 3600)  # the confirmation
    assert run_worker(app, db, start - 3 * 3600)["queued"] == 0  # too early for the reminder (60 min)
    assert run_worker(app, db, start - 3000)["queued"] == 1
    assert run_worker(app, db, start - 2900)["queued"] == 0  # once
    confirmation, reminder = sink.wait_for(2)
    assert reminder["Subject"] == "Rappel : AB-123-CD vous attend le %s" % timeutil.fmt(start)
    assert "Rappel : votre réservation commence bientôt." in body(reminder)
    assert "https://autopartage.test/compte/courriels" in body(reminder)
    # the agent turns reminders off: the next booking gets its confirmation and no reminder
    token = login(client, fleet.email(fleet.agent))
    assert client.post("/compte/courriels", data={"csrf_token": token}).status_code == 302
    assert "Recevoir un rappel" in client.get("/compte/courriels").get_data(as_text=True)
    _book(db, fleet, start + 86400)
    run_worker(app, db, start + 86400 - 3000)
    assert [m["Subject"].split(" :")[0] for m in sink.wait_for(4, timeout=1)] == [
        "Réservation confirmée", "Rappel", "Réservation confirmée"]


def test_booking_released_as_no_show_mails_its_agent(app, db, fleet, sink):
    start = future(-1)
    rid = _book(db, fleet, start, created_before_s=86400)
    run_worker(app, db, start - 7200)
    assert reservations.release_no_shows(db, start + 31 * 60, 30 * 60)["released"] == 1
    run_worker(app, db, start + 32 * 60)
    confirmation, released = sink.wait_for(2)
    assert released["Subject"] == "Réservation libérée faute de badge : AB-123-CD, %s" % timeutil.fmt(start)
    assert "elle a été libérée" in body(released)
    [ics] = list(released.iter_attachments())
    assert "METHOD:CANCEL" in ics.get_content() and "reservation-%d@" % rid in ics.get_content()


def test_late_return_mails_the_agent_with_a_copy_to_the_managers(app, db, fleet, sink):
    start = future(-3)
    rid = _book(db, fleet, start, hours=1, created_before_s=86400)
    boxes.register(db, 1, fleet.car, "11" * 16)
    trips.record_start(db, 1, 1, start + 300, b"", rid, 0)
    end = start + 3600
    assert run_worker(app, db, end + 10 * 60)["queued"] == 0  # 15 minutes of grace
    assert run_worker(app, db, end + 20 * 60)["queued"] == 1
    assert run_worker(app, db, end + 40 * 60)["queued"] == 0  # once
    late = sink.wait_for(1)[-1]
    assert late["Subject"] == "Retour en retard : AB-123-CD devait être rendu le %s" % timeutil.fmt(end)
    assert late["To"] == fleet.email(fleet.agent)
    assert late["Cc"] == fleet.email(fleet.manager)  # the DDT fleet manager (agent's and car's department)
    assert "20 minutes de retard" in body(late)
    assert sorted(sink.envelopes[-1]) == sorted([fleet.email(fleet.agent), fleet.email(fleet.manager)])


def test_problem_report_mails_the_managers_of_the_cars_department(app, client, db, fleet, sink):
    start = future(-3)
    _book(db, fleet, start, hours=1, created_before_s=86400)
    token = login(client, fleet.email(fleet.agent))
    response = client.post("/signaler", data={"csrf_token": token, "vehicle_id": fleet.car, "kind": "damage",
                                              "text": "Rétroviseur droit cassé"})
    assert response.status_code == 302
    run_worker(app, db)
    problem = sink.wait_for(1)  # the booking being over, its confirmation was never due
    assert [m["Subject"] for m in problem] == ["Signalement (dégât) : AB-123-CD"]
    assert problem[0]["To"] == fleet.email(fleet.manager)
    assert "Rétroviseur droit cassé" in body(problem[0]) and "Camille Martin" in body(problem[0])


def test_a_hanging_relay_never_slows_a_page_and_the_worker_thread_delivers_when_it_is_back(tmp_path, sink):
    sink.mode, sink.hang_s = "hang", 4
    app = create_app(mail_config(tmp_path, sink, MAIL_WORKER_THREAD=True, MAIL_POLL_SECONDS=0.2,
                                 SMTP_TIMEOUT_SECONDS=3, MAIL_RETRY_BASE_SECONDS=1))
    with app.app_context():
        init_db()
    db = connect(app.config["DATABASE"])
    fleet = Fleet(db)
    client = app.test_client()
    try:
        login(client, fleet.email(fleet.agent))  # the first request starts the worker thread
        worker = app.extensions["mail_worker"]
        assert worker.is_alive()
        start = future(30)
        d1 = timeutil.local(start)
        timings = []
        for n in range(3):  # the worker is stuck in a session with the hanging relay meanwhile
            token = csrf_of(client, "/reserver")
            t0 = time.monotonic()
            response = client.post("/reserver", data={
                "csrf_token": token, "date": d1.date().isoformat(), "start": "%02d:00" % (8 + 2 * n),
                "end": "%02d:30" % (8 + 2 * n), "vehicle_id": fleet.car})
            timings.append(time.monotonic() - t0)
            assert response.status_code == 302
            time.sleep(0.5)
        assert max(timings) < 0.5, timings
        assert sink.messages == []
        sink.mode = "accept"
        received = sink.wait_for(3, timeout=30)
        assert sorted(m["Subject"][:21] for m in received) == ["Réservation confirmée"] * 3
        time.sleep(1)
        assert len(sink.messages) == 3
    finally:
        worker = app.extensions["mail_worker"]
        worker.stop()
        assert not worker.is_alive()
        db.conn.close()



def test_a_history_load_records_no_booking_mail_and_keeps_the_triggers(app, db, fleet):
    start = future(30)
    with pytest.raises(RuntimeError):  # outside a transaction a failure could lose the triggers
        with history_load(db.conn):
            pass
    with write(db), history_load(db.conn):
        _book(db, fleet, start)
    assert db.execute("SELECT count(*) FROM mail_queue").fetchone()[0] == 0
    with pytest.raises(RuntimeError, match="load failed"), write(db), history_load(db.conn):
        raise RuntimeError("load failed")  # rolled back: the triggers are still there
    _book(db, fleet, start + 86400)
    assert [tuple(r) for r in db.execute("SELECT kind, status FROM mail_queue")] == [("booking_confirmed", "compose")]
