"""The agents CSV import as a page (`/admin/agents/import`, administrators): paste or upload the file
documented in docs/guide-administrateur.md, simulate first (nothing saved, every change listed), then
import; agents without a password get their invitation in the same transaction as their line."""

import time

from flask import Blueprint, render_template, request

from server import importers
from server.auth import role_required
from server.db import get_db
from server.mail import accounts

bp = Blueprint("agent_import", __name__)


@bp.route("/admin/agents/import", methods=("GET", "POST"))
@role_required("admin")
def page():
    report, text, error = None, "", None
    if request.method == "POST":
        upload = request.files.get("file")
        raw = upload.read() if upload and upload.filename else (request.form.get("text") or "").encode("utf-8")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            error = "Fichier illisible : enregistrez-le en CSV UTF-8."
        if not error and not text.strip():
            error = "Choisissez un fichier CSV ou collez son contenu."
        if not error:
            now = int(time.time())
            invite = None if request.form.get("no_invite") else (
                lambda db, agent: accounts.invite_if_needed(db, agent, now))
            report = importers.import_agents(get_db(), text, invite=invite,
                                             dry_run=request.form.get("action") != "import")
    return render_template("admin/agent_import.html", report=report, text=text, error=error,
                           dry_run=request.form.get("action") != "import"), (400 if error else 200)
