"""The SMTP session against a real relay on 127.0.0.1 that requires STARTTLS and a login, or speaks TLS from
the first byte: the settings of a real relay (a private CA's certificate, SMTP_CA_FILE)."""

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mail_support import mail_config, run_worker

from aiosmtpd.smtp import AuthResult
from server import create_app
from server.db import connect, init_db, write
from server.mail import events, messages, smtp
from server.mail.sink import Sink
from server.queries import mail as mail_q


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (cert.pem doubles as the CA file the client trusts)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relais-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert_path), str(key_path))
    return str(cert_path), context


def _check_login(_server, _session, _envelope, mechanism, auth_data):
    ok = auth_data.login == b"autopartage" and auth_data.password == b"s3cret-relais"
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def _app_and_db(tmp_path, relay, **settings):
    app = create_app(mail_config(tmp_path, relay, **settings))
    with app.app_context():
        init_db()
    return app, connect(app.config["DATABASE"])


def _queue(app, db):
    with app.app_context(), write(db):
        events.send(db, 1_800_000_000, "test", messages.Message(["agent@ddt.gouv.fr"], "Par TLS", "Texte\n", ""))


@pytest.mark.parametrize("password, delivered", [("s3cret-relais", True), ("mauvais", False)])
def test_starttls_and_login_against_a_relay_that_requires_both(tmp_path, certificate, password, delivered):
    ca_file, context = certificate
    relay = Sink(tls_context=context, require_starttls=True, auth_required=True, authenticator=_check_login).start()
    try:
        app, db = _app_and_db(tmp_path, relay, SMTP_SECURITY="starttls", SMTP_CA_FILE=ca_file,
                              SMTP_USER="autopartage", SMTP_PASSWORD=password)
        _queue(app, db)
        done = run_worker(app, db, 1_800_000_000)
        if delivered:
            assert done["sent"] == 1
            assert [m["Subject"] for m in relay.wait_for(1)] == ["Par TLS"]
        else:  # a configuration problem: kept for later tries, with the relay's answer
            assert done["retry"] == 1 and relay.messages == []
            assert mail_q.listing(db)[0]["last_error"].startswith("535")
        db.conn.close()
    finally:
        relay.stop()


def test_starttls_refuses_a_relay_whose_certificate_is_not_trusted(tmp_path, certificate):
    _ca_file, context = certificate
    relay = Sink(tls_context=context, require_starttls=True).start()
    try:
        app, db = _app_and_db(tmp_path, relay, SMTP_SECURITY="starttls")  # system CAs only
        _queue(app, db)
        assert run_worker(app, db, 1_800_000_000)["retry"] == 1
        assert "CERTIFICATE_VERIFY_FAILED" in mail_q.listing(db)[0]["last_error"]
        assert relay.messages == []
        db.conn.close()
    finally:
        relay.stop()


def test_implicit_tls(tmp_path, certificate):
    ca_file, context = certificate
    relay = Sink(ssl_context=context).start()
    try:
        app, db = _app_and_db(tmp_path, relay, SMTP_SECURITY="tls", SMTP_CA_FILE=ca_file)
        _queue(app, db)
        assert run_worker(app, db, 1_800_000_000)["sent"] == 1
        assert [m["Subject"] for m in relay.wait_for(1)] == ["Par TLS"]
        db.conn.close()
    finally:
        relay.stop()


def test_settings_from_the_environment_and_a_wrong_security_stops_the_start(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOPARTAGE_SMTP_HOST", "relais.example.gouv.fr")
    monkeypatch.setenv("AUTOPARTAGE_SMTP_PASSWORD", "123456")  # parsed as JSON: a number
    monkeypatch.setenv("AUTOPARTAGE_SMTP_SECURITY", "tls")
    monkeypatch.setenv("AUTOPARTAGE_SMTP_USER", "autopartage")
    monkeypatch.setenv("AUTOPARTAGE_DATABASE", str(tmp_path / "env.sqlite"))
    monkeypatch.setenv("AUTOPARTAGE_SECRET_KEY", "env")
    settings = smtp.Settings.from_config(create_app().config)
    assert (settings.host, settings.port, settings.security) == ("relais.example.gouv.fr", 465, "tls")
    assert (settings.user, settings.password) == ("autopartage", "123456")
    assert smtp.Settings.from_config({"SMTP_HOST": "r", "SMTP_SECURITY": "none"}).port == 25
    assert smtp.Settings.from_config({"SMTP_HOST": "r"}).port == 587
    assert smtp.Settings.from_config({"SMTP_HOST": None}) is None  # no relay: mail waits in the queue
    monkeypatch.setenv("AUTOPARTAGE_SMTP_SECURITY", "ssl")
    with pytest.raises(ValueError, match="SMTP_SECURITY : none, starttls ou tls"):
        create_app()
