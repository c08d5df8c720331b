"""Housekeeping that runs on its own: no-show release, late-return warnings and the cloned-badge alerts (at
most once a minute),
the CNIL position purge (at most once a day). Triggered from a request hook and by `flask purge`."""

from server.db import row, write
from server.queries import alerts, org, positions, reservations

MINUTE_KEY = "maintenance.minute"
PURGE_KEY = "maintenance.purge"


def _due(db, key, now, period_s):
    """Atomically claim the run of `key` if the last one is older than `period_s` (one process wins)."""
    with write(db):
        last = row(db, """
SELECT value
FROM meta
WHERE key = ?""", (key,))
        if last is not None and now - int(last["value"]) < period_s:
            return False
        db.execute("""
INSERT OR REPLACE INTO meta (key, value)
VALUES (?, ?)""", (key, str(now)))
        return True


def purge_positions(db, now, retention_days):
    """Delete raw positions older than the retention, keeping trip summaries. Returns the count."""
    return positions.purge(db, now - retention_days * 86400)


def run_due(db, now, rules, retention_days):
    """Run what is due; returns {"no_show": n, "box_silent": n, "unplanned_extended": n, "late": n,
    "badge_clones": n,
    "purged": n} (absent keys: not due)."""
    done = {}
    if _due(db, MINUTE_KEY, now, 60):
        with write(db):
            outcome = reservations.release_no_shows(db, now, rules.no_show_delay_s)
            done["no_show"] = outcome["released"]
            done["box_silent"] = outcome["flagged"]
            done["unplanned_extended"] = reservations.extend_open_unplanned(db, now)
            done["terms_applied"] = org.apply_due_terms(db, now)
        done["late"] = reservations.warn_late_returns(db, now, rules.late_warning_window_s)
        done["badge_clones"] = len(alerts.detect_badge_clones(db, now))
    if _due(db, PURGE_KEY, now, 86400):
        done["purged"] = purge_positions(db, now, retention_days)
    return done


def last_purge(db):
    r = row(db, """
SELECT value
FROM meta
WHERE key = ?""", (PURGE_KEY,))
    return int(r["value"]) if r else None
