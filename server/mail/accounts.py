"""Accounts without shared passwords: an invitation link for a new agent, a reset link for « mot de passe
oublié ». Both queue their mail in the caller's transaction; neither tells anyone whether an address is
known (the forgotten-password page answers the same either way)."""

from flask import current_app

from server.mail import events, messages
from server.queries import account_tokens
from server.queries import agents as agents_q

RESETS_PER_HOUR = 3  # more requests for one address in an hour are answered the same but send nothing


def _link(token):
    # the path of auth.choose_password, written out: the CLI (import-agents) has no request to build URLs from
    return "%s/mot-de-passe/%s" % (messages.base_url(), token)


def send_link(db, agent, purpose, now):
    """Create a token for `agent` (a dict with id, name, email) and queue its mail. Returns the queue id."""
    config = current_app.config
    valid_s = (int(config["INVITATION_VALID_HOURS"]) * 3600 if purpose == "invite"
               else int(config["RESET_VALID_MINUTES"]) * 60)
    token, expires_at = account_tokens.create(db, agent["id"], purpose, now, valid_s)
    msg = messages.account_link(purpose, agent, _link(token), expires_at)
    return events.send(db, now, purpose, msg, ref_id=agent["id"], expires_at=expires_at)


def request_reset(db, email, now):
    """« Mot de passe oublié »: a reset link to an active agent with this address, else nothing at all."""
    agent = agents_q.by_email(db, email) if email and len(email) <= 200 else None
    if agent is None or not agent["active"]:
        return None
    if account_tokens.recent(db, agent["id"], "reset", now - 3600) >= RESETS_PER_HOUR:
        return None
    return send_link(db, agent, "reset", now)


def password_problems(new, confirm):
    """French messages for a new password that does not do (field -> message)."""
    errors = {}
    if len(new) < 10:
        errors["new"] = "Le mot de passe doit faire au moins 10 caractères."
    elif len(new) > 200:
        errors["new"] = "Le mot de passe est trop long (200 caractères au plus)."
    if new != confirm:
        errors["confirm"] = "Les deux saisies ne correspondent pas."
    return errors


def invite_if_needed(db, agent, now):
    """Queue an invitation unless the agent has an open one (an import run twice sends one). True if queued."""
    if account_tokens.pending_invitation(db, agent["id"], now):
        return False
    send_link(db, agent, "invite", now)
    return True
