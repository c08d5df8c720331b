"""A local SMTP server that keeps what it receives (aiosmtpd, a development dependency): the mail tests'
relay and the demo's sink. Never used in production.

    sink = Sink(mbox_path=None).start()     # 127.0.0.1, a free port: sink.port
    sink.mode = "refuse"                    # answer 451 to every message (a relay in trouble)
    sink.messages                           # [email.message.EmailMessage] received, in order
    sink.stop()

Modes: `accept`; `refuse` (451 4.3.0, temporary); `reject` (550 5.7.1, permanent); `hang` (say nothing
for `hang_s` seconds after the message, then refuse it: a client timing out first must try again).
"""

import asyncio
import email
import email.policy
import mailbox
import threading

from aiosmtpd.controller import Controller


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        mode = self.sink.mode
        if mode == "hang":
            await asyncio.sleep(self.sink.hang_s)
            return "451 4.3.0 Trop lent, réessayez"
        if mode == "refuse":
            return "451 4.3.0 Service temporairement indisponible"
        if mode == "reject":
            return "550 5.7.1 Message refusé"
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.sink.keep(msg, envelope.rcpt_tos)
        return "250 OK"


class _Controller(Controller):
    """aiosmtpd's Controller, able to listen on port 0 (the kernel picks a free port)."""

    def _trigger_server(self):
        if not self.port:
            self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Sink:
    def __init__(self, host="127.0.0.1", port=0, mbox_path=None, **controller_kwargs):
        self.host = host
        self.port = port
        self.mbox_path = mbox_path
        self.mode = "accept"
        self.hang_s = 5.0
        self.messages = []
        self.envelopes = []
        self.received = threading.Condition()
        self.controller_kwargs = controller_kwargs
        self.controller = None

    def start(self):
        self.controller = _Controller(_Handler(self), hostname=self.host, port=self.port, **self.controller_kwargs)
        self.controller.start()
        self.port = self.controller.port
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def keep(self, msg, rcpt_tos):
        with self.received:
            self.messages.append(msg)
            self.envelopes.append(list(rcpt_tos))
            if self.mbox_path:
                box = mailbox.mbox(self.mbox_path)
                try:
                    box.lock()
                    box.add(msg)
                    box.flush()
                finally:
                    box.unlock()
                    box.close()
            self.received.notify_all()

    def wait_for(self, count, timeout=10.0):
        """Wait until `count` messages arrived; returns the list (shorter on timeout)."""
        with self.received:
            self.received.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


def read_mbox(path, limit=200):
    """The messages of a sink's mailbox file, newest first (the demo page)."""
    box = mailbox.mbox(path, factory=lambda f: email.message_from_binary_file(f, policy=email.policy.default))
    try:
        return list(reversed(list(box)))[:limit]
    finally:
        box.close()
