"""Talking to the SMTP relay: settings, building a MIME message from a queue row, sending a batch.

Errors are sorted into permanent (a 5xx answer to this message: retrying cannot help) and temporary
(4xx, refused or dropped connection, timeout, TLS or login trouble: the relay may be back later or the
administrator may fix the settings). Both carry the server's answer, which the queue page shows.
"""

import email.utils
import smtplib
import socket
import ssl
from email.message import EmailMessage

SECURITY = ("none", "starttls", "tls")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


class SendError(Exception):
    def __init__(self, answer, permanent=False, connection=False):
        Exception.__init__(self, answer)
        self.answer = answer
        self.permanent = permanent
        self.connection = connection  # the session is gone: the rest of the batch cannot be sent either


class Settings:
    """SMTP_* and MAIL_FROM from the app config (environment values may arrive parsed as JSON numbers)."""

    def __init__(self, host, port=None, user=None, password=None, security="starttls", mail_from="",
                 timeout_s=30, ca_file=None):
        if security not in SECURITY:
            raise ValueError("SMTP_SECURITY : none, starttls ou tls, pas %r" % security)
        self.host = host
        self.security = security
        self.port = int(port) if port else DEFAULT_PORTS[security]
        self.user = str(user) if user else None
        self.password = str(password) if password is not None else ""
        self.mail_from = mail_from
        self.timeout_s = float(timeout_s)
        self.ca_file = ca_file

    @classmethod
    def from_config(cls, config):
        if not config.get("SMTP_HOST"):
            return None
        return cls(str(config["SMTP_HOST"]), config.get("SMTP_PORT"), config.get("SMTP_USER"),
                   config.get("SMTP_PASSWORD"), str(config.get("SMTP_SECURITY") or "starttls").lower(),
                   str(config.get("MAIL_FROM") or "autopartage@localhost"),
                   config.get("SMTP_TIMEOUT_SECONDS") or 30, config.get("SMTP_CA_FILE"))

    def tls_context(self):
        return ssl.create_default_context(cafile=self.ca_file)


def build(settings, mail):
    """The EmailMessage of a queue row: plain text, an HTML alternative, the .ics attachment if any.

    The Message-ID is derived from the row id, so a copy delivered twice (a relay that accepted the
    message but whose answer was lost) carries the same id and mail clients show it once."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = mail["to_addrs"]
    if mail["cc_addrs"]:
        msg["Cc"] = mail["cc_addrs"]
    msg["Subject"] = mail["subject"]
    msg["Date"] = email.utils.formatdate(mail["created_at"], localtime=False)
    domain = settings.mail_from.rpartition("@")[2].strip("> ") or "localhost"
    msg["Message-ID"] = "<autopartage-%d@%s>" % (mail["id"], domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail["body_text"])
    if mail["body_html"]:
        msg.add_alternative(mail["body_html"], subtype="html")
    if mail["ics"]:
        method = "CANCEL" if "METHOD:CANCEL" in mail["ics"] else "PUBLISH"
        msg.add_attachment(mail["ics"].encode("utf-8"), maintype="text", subtype="calendar",
                           filename="reservation.ics", params={"method": method})
    return msg


def _answer(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return "%d %s" % (code, text)


class Session:
    """One SMTP connection for a batch: `with Session(settings) as s: s.send(msg)`."""

    def __init__(self, settings):
        self.settings = settings
        self.smtp = None

    def __enter__(self):
        s = self.settings
        try:
            if s.security == "tls":
                self.smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_s, context=s.tls_context())
            else:
                self.smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
                if s.security == "starttls":
                    self.smtp.starttls(context=s.tls_context())
            if s.user:
                self.smtp.login(s.user, s.password)
        except smtplib.SMTPResponseException as exc:
            self._close()
            raise SendError(_answer(exc.smtp_code, exc.smtp_error), connection=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            self._close()
            raise SendError(_describe(exc), connection=True) from None
        return self

    def send(self, msg):
        """Send one message; returns a note on recipients the relay refused (others got it), or ''."""
        try:
            refused = self.smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            answers = ["%s : %s" % (who, _answer(code, text)) for who, (code, text) in exc.recipients.items()]
            raise SendError("; ".join(answers), permanent=all(c >= 500 for c, _t in exc.recipients.values())) \
                from None
        except smtplib.SMTPServerDisconnected as exc:
            raise SendError(_describe(exc), connection=True) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(_answer(exc.smtp_code, exc.smtp_error), permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPNotSupportedError, ValueError) as exc:
            # this message cannot go through this relay (an address in UTF-8 without SMTPUTF8, say)
            raise SendError("message refusé avant l'envoi : %s" % exc, permanent=True) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(_describe(exc), connection=True) from None
        return "; ".join("refusé %s : %s" % (who, _answer(code, text)) for who, (code, text) in refused.items())

    def __exit__(self, *exc):
        self._close()

    def _close(self):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


def _describe(exc):
    # smtplib turns a read timeout into SMTPServerDisconnected("... timed out")
    if isinstance(exc, (socket.timeout, TimeoutError)) or "timed out" in str(exc):
        return "délai dépassé : le serveur SMTP n'a pas répondu à temps (%s)" % (exc or "timeout")
    if isinstance(exc, ConnectionRefusedError):
        return "connexion refusée par le serveur SMTP (%s)" % exc
    return "%s : %s" % (type(exc).__name__, exc)
