"""Demo only (`DEMO_MAILBOX` set by tools/demo.py, never in production): `/demo/courriels` shows what the
demo's local SMTP sink caught, so a visitor can follow an invitation or a reset link without a mailbox."""

import os
import re

from flask import Blueprint, current_app, render_template

bp = Blueprint("demo_mail", __name__)

LINK = re.compile(r"https?://\S+")


def _text(msg):
    part = msg.get_body(preferencelist=("plain",))
    return part.get_content() if part is not None else ""


@bp.get("/demo/courriels")
def caught():
    from server.mail.sink import read_mbox  # aiosmtpd is a development dependency: imported only here

    path = current_app.config["DEMO_MAILBOX"]
    found = read_mbox(path) if os.path.exists(path) else []
    mails = [{"to": m["To"], "cc": m["Cc"], "subject": m["Subject"], "date": m["Date"], "text": _text(m),
              "links": LINK.findall(_text(m)),
              "attachments": [p.get_filename() for p in m.iter_attachments()]} for m in found]
    return render_template("demo/mails.html", mails=mails)
