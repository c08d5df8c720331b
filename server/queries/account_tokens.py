"""Single-use links to choose a password (invitation to a new account, « mot de passe oublié »).

The token travels only in the e-mailed link; the database keeps its SHA-256, so a copy of the database
cannot be turned into working links.
"""

import hashlib
import secrets

from server.db import row, scalar

PURPOSES = ("invite", "reset")


def _digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(db, agent_id, purpose, now, valid_s):
    """A new token for the agent; returns (token, expires_at)."""
    if purpose not in PURPOSES:
        raise ValueError(purpose)
    token = secrets.token_urlsafe(32)
    db.execute("""
INSERT INTO account_tokens (agent_id, purpose, token_hash, created_at, expires_at)
VALUES (?, ?, ?, ?, ?)""", (agent_id, purpose, _digest(token), now, now + valid_s))
    return token, now + valid_s


def valid(db, token, now):
    """The unused, unexpired token row with its agent's name, e-mail and active flag, or None."""
    if not token or len(token) > 100:
        return None
    return row(db, """
SELECT t.id, t.agent_id, t.purpose, t.expires_at, a.name, a.email, a.active
FROM account_tokens t
JOIN agents a ON a.id = t.agent_id
WHERE t.token_hash = ?
  AND t.used_at IS NULL
  AND t.expires_at > ?
  AND a.active = 1""", (_digest(token), now))


def use(db, token_id, agent_id, now):
    """Spend the token (and every other open token of the agent); False if it was spent meanwhile."""
    spent = db.execute("""
UPDATE account_tokens
SET used_at = ?
WHERE id = ?
  AND used_at IS NULL""", (now, token_id)).rowcount == 1
    if spent:
        db.execute("""
UPDATE account_tokens
SET used_at = ?
WHERE agent_id = ?
  AND used_at IS NULL""", (now, agent_id))
    return spent


def recent(db, agent_id, purpose, since):
    """How many tokens of this purpose the agent got since `since` (a cap on reset mails)."""
    return scalar(db, """
SELECT count(*)
FROM account_tokens
WHERE agent_id = ?
  AND purpose = ?
  AND created_at >= ?""", (agent_id, purpose, since), 0)


def pending_invitation(db, agent_id, now):
    """Expiry of the agent's open invitation, or None."""
    return scalar(db, """
SELECT max(expires_at)
FROM account_tokens
WHERE agent_id = ?
  AND purpose = 'invite'
  AND used_at IS NULL
  AND expires_at > ?""", (agent_id, now))
