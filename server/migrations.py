"""Schema, as sqlite-utils `Migrations` (applied in order, recorded in `_sqlite_migrations`; never DROP).

Conventions: times are epoch seconds (UTC) in INTEGER columns, money in cents, distances in metres,
coordinates in 1e-7 degrees, binary identifiers (box keys, badge UIDs, badge hashes) as lowercase hex TEXT.
Add a new migration function at the end to change the schema; never edit one that has shipped, never lose
data (a table is dropped only after its rows were moved, as 0003 does).
"""

import contextlib

from sqlite_utils.migrations import Migrations

migrations = Migrations("autopartage")


@migrations(name="0001_initial")
def initial(db):
    db.executescript(
        """
CREATE TABLE departments (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,          -- DDT, DDPP, DDCS, DSDEN
    name TEXT NOT NULL
);

-- A pool of cars; department_id is the owner (NULL = shared by the site). on_the_spot = the cars may be
-- taken without a reservation by habilitated agents when none is due soon (DESIGN §3).
CREATE TABLE pools (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    department_id INTEGER REFERENCES departments(id),
    on_the_spot INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE vehicles (
    id INTEGER PRIMARY KEY,
    plate TEXT NOT NULL UNIQUE,          -- AB-123-CD
    model TEXT NOT NULL,
    pool_id INTEGER NOT NULL REFERENCES pools(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),  -- owner, pays the fixed costs
    cost_per_km_cents INTEGER NOT NULL DEFAULT 0,
    monthly_fixed_cents INTEGER NOT NULL DEFAULT 0,
    seats INTEGER NOT NULL DEFAULT 5,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL DEFAULT (strftime('%s','now'))
);
CREATE INDEX vehicles_pool ON vehicles(pool_id, active);

-- Box id is the protocol's box_id. key_hex is the 16-byte per-box secret (HMAC and AES keys derive from
-- it): only the sync endpoint and the provisioning command read it; pages never show it after creation.
CREATE TABLE boxes (
    id INTEGER PRIMARY KEY,
    vehicle_id INTEGER UNIQUE REFERENCES vehicles(id),
    key_hex TEXT NOT NULL,
    last_counter INTEGER NOT NULL DEFAULT 0,     -- highest request counter accepted (replay rejection)
    last_ack INTEGER NOT NULL DEFAULT 0,         -- highest journal seq acknowledged
    firmware TEXT,
    last_seen INTEGER,
    csq INTEGER, supply_mv INTEGER, backlog INTEGER, gps INTEGER, uptime INTEGER, reset_cause INTEGER,
    allow_version INTEGER NOT NULL DEFAULT 0,    -- version of the allow-list last computed for the box
    created_at INTEGER NOT NULL DEFAULT (strftime('%s','now'))
);

-- Accounts and agents are one table: every agent may log in once given a password.
CREATE TABLE agents (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    role TEXT NOT NULL DEFAULT 'agent' CHECK (role IN ('agent','manager','admin')),
    password_hash TEXT,
    permanent_access INTEGER NOT NULL DEFAULT 0,  -- fleet staff/mechanic: may start every car (KIND_ROLE)
    ical_token TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL DEFAULT (strftime('%s','now'))
);
CREATE INDEX agents_department ON agents(department_id);

-- Badge UIDs in clear are personal data and a credential: only the allow-list computation reads them
-- (to derive per-box keyed hashes with protocol.keys.badge_hash); pages show a masked form.
CREATE TABLE badges (
    id INTEGER PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    uid_hex TEXT NOT NULL UNIQUE,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX badges_agent ON badges(agent_id);

-- Who may book/drive which pool: a whole department or one agent.
CREATE TABLE habilitations (
    id INTEGER PRIMARY KEY,
    pool_id INTEGER NOT NULL REFERENCES pools(id),
    department_id INTEGER REFERENCES departments(id),
    agent_id INTEGER REFERENCES agents(id),
    CHECK ((department_id IS NULL) != (agent_id IS NULL))
);
CREATE UNIQUE INDEX habilitations_dept ON habilitations(pool_id, department_id) WHERE department_id IS NOT NULL;
CREATE UNIQUE INDEX habilitations_agent ON habilitations(pool_id, agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX habilitations_by_dept ON habilitations(department_id);
CREATE INDEX habilitations_by_agent ON habilitations(agent_id);

-- status: booked (future or running), cancelled, no_show (released: nobody badged in in time).
-- started_at: first badge-in (trip start) for the reservation. unplanned: made from an on-the-spot trip.
CREATE TABLE reservations (
    id INTEGER PRIMARY KEY,
    vehicle_id INTEGER NOT NULL REFERENCES vehicles(id),
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'booked' CHECK (status IN ('booked','cancelled','no_show')),
    unplanned INTEGER NOT NULL DEFAULT 0,
    purpose TEXT NOT NULL DEFAULT '',
    destination TEXT NOT NULL DEFAULT '',
    started_at INTEGER,
    late_warned INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL DEFAULT (strftime('%s','now')),
    CHECK (end > start)
);
CREATE INDEX reservations_vehicle_start ON reservations(vehicle_id, start, end);
CREATE INDEX reservations_agent_start ON reservations(agent_id, start);
CREATE INDEX reservations_status_start ON reservations(status, start);

-- A trip as the box recorded it. box_trip is the box-local trip number. department_id: the driver's
-- department (kilometres are charged to it); vehicle's owner when the driver is unknown.
CREATE TABLE trips (
    id INTEGER PRIMARY KEY,
    box_id INTEGER NOT NULL REFERENCES boxes(id),
    box_trip INTEGER NOT NULL,
    vehicle_id INTEGER NOT NULL REFERENCES vehicles(id),
    agent_id INTEGER REFERENCES agents(id),
    department_id INTEGER REFERENCES departments(id),
    badge_hash TEXT,
    reservation_id INTEGER REFERENCES reservations(id),
    unplanned INTEGER NOT NULL DEFAULT 0,
    start INTEGER NOT NULL,
    end INTEGER,
    odo_start_m INTEGER,
    odo_end_m INTEGER,
    distance_m INTEGER NOT NULL DEFAULT 0,
    end_reason INTEGER,
    -- summary kept after the raw positions are purged (CNIL retention)
    positions_count INTEGER NOT NULL DEFAULT 0,
    min_lat INTEGER, min_lon INTEGER, max_lat INTEGER, max_lon INTEGER,
    max_speed INTEGER,
    positions_purged INTEGER NOT NULL DEFAULT 0,
    UNIQUE (box_id, box_trip, start)
);
CREATE INDEX trips_box_open ON trips(box_id, end);
CREATE INDEX trips_vehicle_start ON trips(vehicle_id, start);
CREATE INDEX trips_agent_start ON trips(agent_id, start);
CREATE INDEX trips_start ON trips(start);
CREATE INDEX trips_reservation ON trips(reservation_id);

-- Positions exist only inside a trip (NOT NULL trip_id): CNIL, no tracking of parked cars or off-duty use.
CREATE TABLE positions (
    id INTEGER PRIMARY KEY,
    trip_id INTEGER NOT NULL REFERENCES trips(id),
    t INTEGER NOT NULL,
    lat INTEGER NOT NULL,
    lon INTEGER NOT NULL,
    speed INTEGER NOT NULL DEFAULT 0,    -- cm/s
    course INTEGER NOT NULL DEFAULT 0    -- degrees
);
CREATE INDEX positions_trip_t ON positions(trip_id, t);
CREATE INDEX positions_t ON positions(t);

CREATE TABLE badge_events (
    id INTEGER PRIMARY KEY,
    box_id INTEGER NOT NULL REFERENCES boxes(id),
    vehicle_id INTEGER REFERENCES vehicles(id),
    t INTEGER NOT NULL,
    badge_hash TEXT NOT NULL,
    agent_id INTEGER REFERENCES agents(id),
    granted INTEGER NOT NULL,
    reason INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX badge_events_box_t ON badge_events(box_id, t);

-- Other journal events of a box (protocol `event` records).
CREATE TABLE box_events (
    id INTEGER PRIMARY KEY,
    box_id INTEGER NOT NULL REFERENCES boxes(id),
    t INTEGER NOT NULL,
    code INTEGER NOT NULL,
    value INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX box_events_box_t ON box_events(box_id, t);

-- Deduplication of retransmitted journal records: one row per (box, journal sequence) ever stored.
CREATE TABLE box_records (
    box_id INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (box_id, seq)
) WITHOUT ROWID;

-- Commands waiting for the box's next sync ({"cmd": code, "arg": int}).
CREATE TABLE box_commands (
    id INTEGER PRIMARY KEY,
    box_id INTEGER NOT NULL REFERENCES boxes(id),
    cmd INTEGER NOT NULL,
    arg INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX box_commands_pending ON box_commands(box_id, sent_at);

-- Stable ids for allow-list entries: one per (kind, reference, badge); ref = reservation id for
-- reservation entries, 0 for role and on-the-spot entries.
CREATE TABLE allow_ids (
    id INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    ref INTEGER NOT NULL,
    badge_id INTEGER NOT NULL,
    UNIQUE (kind, ref, badge_id)
);

-- What each box was last sent: the base the next allow-list diff is computed from.
CREATE TABLE box_allow (
    box_id INTEGER NOT NULL,
    entry_id INTEGER NOT NULL,
    badge_hash TEXT NOT NULL,
    agent_id INTEGER,
    PRIMARY KEY (box_id, entry_id)
) WITHOUT ROWID;
CREATE INDEX box_allow_hash ON box_allow(box_id, badge_hash);

CREATE TABLE problem_reports (
    id INTEGER PRIMARY KEY,
    vehicle_id INTEGER NOT NULL REFERENCES vehicles(id),
    trip_id INTEGER REFERENCES trips(id),
    reservation_id INTEGER REFERENCES reservations(id),
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    kind TEXT NOT NULL CHECK (kind IN ('damage','cleanliness','fuel','remark')),
    text TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open','closed')),
    created_at INTEGER NOT NULL
);
CREATE INDEX problem_reports_vehicle ON problem_reports(vehicle_id, created_at);

-- Shared equipment once kept in the key cabinet (laptops, projectors, cameras).
CREATE TABLE equipment (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    department_id INTEGER REFERENCES departments(id),
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE equipment_bookings (
    id INTEGER PRIMARY KEY,
    equipment_id INTEGER NOT NULL REFERENCES equipment(id),
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'booked' CHECK (status IN ('booked','cancelled')),
    created_at INTEGER NOT NULL,
    CHECK (end > start)
);
CREATE INDEX equipment_bookings_item ON equipment_bookings(equipment_id, start, end);
CREATE INDEX equipment_bookings_agent ON equipment_bookings(agent_id, start);

-- Every view of raw positions (CNIL: access is logged).
CREATE TABLE position_access_log (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES agents(id),
    trip_id INTEGER NOT NULL REFERENCES trips(id),
    t INTEGER NOT NULL,
    remote_addr TEXT NOT NULL DEFAULT ''
);
CREATE INDEX position_access_log_t ON position_access_log(t);

-- Availability searches (pilot evaluation: how often did nobody find a free car?).
CREATE TABLE searches (
    id INTEGER PRIMARY KEY,
    agent_id INTEGER REFERENCES agents(id),
    t INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    found INTEGER NOT NULL
);
CREATE INDEX searches_t ON searches(t);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    reservation_id INTEGER REFERENCES reservations(id),
    t INTEGER NOT NULL,
    message TEXT NOT NULL,
    seen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notifications_agent ON notifications(agent_id, seen);

CREATE TABLE login_attempts (
    id INTEGER PRIMARY KEY,
    who TEXT NOT NULL,            -- lower-cased e-mail or 'ip:' + address
    t INTEGER NOT NULL
);
CREATE INDEX login_attempts_who ON login_attempts(who, t);

-- Small key/value store: last maintenance runs, etc.
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""
    )


@migrations(name="0002_box_disabled_and_command_origin")
def box_disabled_and_command_origin(db):
    # disabled: revoked by an administrator (stolen, decommissioned): its frames get ERR_BOX_DISABLED and
    # nothing it sends is stored. Commands remember who queued them (agent id; NULL from the CLI) and what
    # they are for (note, shown on the box page).
    for statement in ("ALTER TABLE boxes ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0",
                      "ALTER TABLE boxes ADD COLUMN disabled_at INTEGER",
                      "ALTER TABLE box_commands ADD COLUMN created_by INTEGER REFERENCES agents(id)",
                      "ALTER TABLE box_commands ADD COLUMN note TEXT NOT NULL DEFAULT ''"):
        db.execute(statement)


@migrations(name="0003_record_runs")
def record_runs(db):
    # Dedup of journal records as runs of consecutive sequence numbers instead of one row per record:
    # storing a frame of 500 positions no longer inserts 500 index entries (server ingest rate). The
    # existing rows are folded into runs (gaps and islands: seq - row number is constant along a run).
    # one statement at a time (not executescript, which commits): the migration stays one transaction
    db.execute("""CREATE TABLE box_record_runs (
    box_id INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (box_id, first),
    CHECK (last >= first)
) WITHOUT ROWID""")
    db.execute("""INSERT INTO box_record_runs (box_id, first, last)
    SELECT box_id, min(seq), max(seq) FROM (
        SELECT box_id, seq, seq - row_number() OVER (PARTITION BY box_id ORDER BY seq) AS island
        FROM box_records)
    GROUP BY box_id, island""")
    db.execute("DROP TABLE box_records")


@migrations(name="0004_positions_without_time_index")
def positions_without_time_index(db):
    # The purge finds old positions through their trips (a trip's positions lie inside it), so nothing
    # reads positions by time alone; the index cost every stored position a random insertion.
    db.execute("DROP INDEX IF EXISTS positions_t")


@migrations(name="0005_agents_permanent_index")
def agents_permanent_index(db):
    # Every allow-list computation reads the agents with permanent access (a handful): without this partial
    # index that is a scan of every agent (100,000 at national scale, ~6 ms a sync).
    db.execute("CREATE INDEX agents_permanent ON agents(id) WHERE permanent_access = 1")


@migrations(name="0006_allow_list_covering_indexes")
def allow_list_covering_indexes(db):
    # An on-the-spot allow-list reads ~1000 agents of the pool's departments and their badges at every
    # diff: with these the query reads only index pages (no agent or badge row), 4 ms -> 1 ms at national
    # scale. They replace the single-column indexes they start with.
    db.execute("CREATE INDEX agents_department_active ON agents(department_id, active)")
    db.execute("DROP INDEX agents_department")
    db.execute("CREATE INDEX badges_agent_active ON badges(agent_id, active, uid_hex)")
    db.execute("DROP INDEX badges_agent")


# Change stamps of what allow-lists are made of (server.queries.allowlist.inputs_stamp): scope 0 counts
# changes of agents, badges, habilitations and pools (any box may be concerned), scope <vehicle id> those
# of the vehicle's reservations and of its own row. A box whose stamps did not move since its last diff,
# and whose horizon no reservation crossed, keeps its list without recomputing it.
_BUMP = ("INSERT INTO allow_stamps (scope, n) VALUES (%s, 1) "
         "ON CONFLICT (scope) DO UPDATE SET n = n + 1;")
_STAMP_TRIGGERS = (
    # (trigger name, event, statements)
    ("reservations_insert", "AFTER INSERT ON reservations", _BUMP % "NEW.vehicle_id"),
    ("reservations_delete", "AFTER DELETE ON reservations", _BUMP % "OLD.vehicle_id"),
    ("reservations_update", "AFTER UPDATE OF vehicle_id, agent_id, start, end, status, unplanned ON reservations",
     _BUMP % "OLD.vehicle_id" + " " + _BUMP % "NEW.vehicle_id"),
    ("vehicles_update", "AFTER UPDATE OF pool_id, active ON vehicles", _BUMP % "NEW.id"),
    ("agents_insert", "AFTER INSERT ON agents", _BUMP % "0"),
    ("agents_delete", "AFTER DELETE ON agents", _BUMP % "0"),
    ("agents_update", "AFTER UPDATE OF department_id, permanent_access, active ON agents", _BUMP % "0"),
    ("badges_insert", "AFTER INSERT ON badges", _BUMP % "0"),
    ("badges_delete", "AFTER DELETE ON badges", _BUMP % "0"),
    ("badges_update", "AFTER UPDATE ON badges", _BUMP % "0"),
    ("habilitations_insert", "AFTER INSERT ON habilitations", _BUMP % "0"),
    ("habilitations_delete", "AFTER DELETE ON habilitations", _BUMP % "0"),
    ("habilitations_update", "AFTER UPDATE ON habilitations", _BUMP % "0"),
    ("pools_update", "AFTER UPDATE OF on_the_spot ON pools", _BUMP % "0"),
)


@migrations(name="0007_allow_list_stamps")
def allow_list_stamps(db):
    db.execute("CREATE TABLE allow_stamps (scope INTEGER PRIMARY KEY, n INTEGER NOT NULL)")
    for name, event, statements in _STAMP_TRIGGERS:
        db.execute("CREATE TRIGGER allow_stamp_%s %s BEGIN %s END" % (name, event, statements))


# -- issue 13: accounts, rights and their audit trail ------------------------------------------------------

@migrations(name="0008a_audit_log")
def audit_log(db):
    # Append-only record of every change of rights (server.queries.audit.record): the triggers refuse
    # any UPDATE or DELETE, so neither a page nor a bug can rewrite history (only a person with the file
    # itself can, and docs/security.md says so).
    db.execute("""CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    t INTEGER NOT NULL,
    actor_id INTEGER REFERENCES agents(id),  -- NULL: the command line or the system
    address TEXT,                            -- client address as the app sees it (after ProxyFix)
    action TEXT NOT NULL,                    -- e.g. agent.role, badge.add, box.register
    target TEXT,                             -- e.g. agent:12, box:3
    before TEXT,                             -- JSON or text, NULL when not applicable
    after TEXT
)""")
    db.execute("CREATE INDEX audit_log_t ON audit_log(t)")
    db.execute("CREATE INDEX audit_log_action ON audit_log(action, t)")
    db.execute("CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
               "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")
    db.execute("CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
               "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END")


@migrations(name="0008b_permanent_access_scopes")
def permanent_access_scopes(db):
    # Permanent access (KIND_ROLE entries) is scoped to pools or departments (the cars they own); one row
    # per scope. agents.permanent_access stays as the "has at least one scope" flag, which the partial index
    # of 0005 and the stamp trigger of 0007 read. Holders from before get every existing department, so no
    # car stops starting for a mechanic on upgrade; the audit log says so for the administrators to review.
    db.execute("""CREATE TABLE permanent_grants (
    id INTEGER PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    pool_id INTEGER REFERENCES pools(id),
    department_id INTEGER REFERENCES departments(id),
    granted_by INTEGER REFERENCES agents(id),
    granted_at INTEGER NOT NULL,
    CHECK ((pool_id IS NULL) != (department_id IS NULL))
)""")
    db.execute("CREATE UNIQUE INDEX permanent_grants_pool ON permanent_grants(agent_id, pool_id) "
               "WHERE pool_id IS NOT NULL")
    db.execute("CREATE UNIQUE INDEX permanent_grants_department ON permanent_grants(agent_id, department_id) "
               "WHERE department_id IS NOT NULL")
    db.execute("INSERT INTO permanent_grants (agent_id, department_id, granted_at) "
               "SELECT a.id, d.id, strftime('%s','now') FROM agents a CROSS JOIN departments d "
               "WHERE a.permanent_access = 1")
    db.execute("INSERT INTO audit_log (t, action, target, after) "
               "SELECT strftime('%s','now'), 'permanent_access.migrated', 'agent:' || a.id, 'every department' "
               "FROM agents a WHERE a.permanent_access = 1")
    for name, event, statements in (
            ("permanent_grants_insert", "AFTER INSERT ON permanent_grants", _BUMP % "0"),
            ("permanent_grants_delete", "AFTER DELETE ON permanent_grants", _BUMP % "0"),
            ("permanent_grants_update", "AFTER UPDATE ON permanent_grants", _BUMP % "0"),
            # a department-scoped grant follows the car's owner
            ("vehicles_department", "AFTER UPDATE OF department_id ON vehicles", _BUMP % "NEW.id")):
        db.execute("CREATE TRIGGER allow_stamp_%s %s BEGIN %s END" % (name, event, statements))


@migrations(name="0008c_account_sessions")
def account_sessions(db):
    # session_version: signed into the session cookie; bumping it ends every session of the account at once
    # (logout, password change, deactivation). must_change_password: set when someone else set it.
    db.execute("ALTER TABLE agents ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE agents ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0")


@migrations(name="0009_security_alerts")
def security_alerts(db):
    # Alerts for administrators (issue 13): kind 'badge_clone' = a badge presented on one car while the same
    # agent's trip was running on another (server/queries/alerts.py). One row per (badge event, trip).
    db.execute("""CREATE TABLE alerts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    t INTEGER NOT NULL,
    agent_id INTEGER REFERENCES agents(id),
    vehicle_id INTEGER REFERENCES vehicles(id),
    other_vehicle_id INTEGER REFERENCES vehicles(id),
    badge_event_id INTEGER REFERENCES badge_events(id),
    trip_id INTEGER REFERENCES trips(id),
    created_at INTEGER NOT NULL,
    handled_at INTEGER,
    handled_by INTEGER REFERENCES agents(id),
    UNIQUE (badge_event_id, trip_id)
)""")
    db.execute("CREATE INDEX alerts_t ON alerts(t)")
    db.execute("CREATE INDEX badge_events_t ON badge_events(t)")  # the alert scan looks back by time


@migrations(name="0009_positions_privacy")
def positions_privacy(db):
    # CNIL (issue 13): working hours per department (minutes from local midnight, ISO weekdays) outside
    # which no position is kept, unless a reason is documented for the department or the vehicle; and no
    # per-driver top speed once the positions are gone (dropped from the summaries already made).
    db.execute("ALTER TABLE departments ADD COLUMN work_start_min INTEGER NOT NULL DEFAULT 420")
    db.execute("ALTER TABLE departments ADD COLUMN work_end_min INTEGER NOT NULL DEFAULT 1200")
    db.execute("ALTER TABLE departments ADD COLUMN work_days TEXT NOT NULL DEFAULT '12345'")
    db.execute("ALTER TABLE departments ADD COLUMN tracking_reason TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE vehicles ADD COLUMN tracking_reason TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE trips SET max_speed = NULL WHERE positions_purged = 1")


@migrations(name="0010_reservation_box_silent")
def reservation_box_silent(db):
    # A booking past its no-show time whose car's box has not synced since: nobody knows whether it is
    # being driven, so it is flagged for the managers (box_silent_at) instead of being released.
    db.execute("ALTER TABLE reservations ADD COLUMN box_silent_at INTEGER")


@migrations(name="0010_vehicle_terms")
def vehicle_terms(db):
    # A vehicle's owning department and costs, by the month they apply from (valid_from: epoch of that
    # month's first local midnight; 0 = since always). Reports read the terms in force at a month's start,
    # so a change never rewrites a past month; vehicles keeps the terms in force now (org.apply_due_terms).
    db.execute("""CREATE TABLE vehicle_terms (
    id INTEGER PRIMARY KEY,
    vehicle_id INTEGER NOT NULL REFERENCES vehicles(id),
    valid_from INTEGER NOT NULL,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    cost_per_km_cents INTEGER NOT NULL,
    monthly_fixed_cents INTEGER NOT NULL,
    created_at INTEGER NOT NULL DEFAULT (strftime('%s','now')),
    created_by INTEGER REFERENCES agents(id),
    UNIQUE (vehicle_id, valid_from)
)""")
    db.execute("""INSERT INTO vehicle_terms (vehicle_id, valid_from, department_id, cost_per_km_cents,
    monthly_fixed_cents)
SELECT id, 0, department_id, cost_per_km_cents, monthly_fixed_cents
FROM vehicles""")

# Outgoing mail (issue 17): every message is a row written in the transaction that causes it; the mail
# worker (server/mail/worker.py) sends it and records the SMTP server's answer. status: compose (an event
# recorded by a trigger below, the worker writes the message from the database), pending (waiting for its
# next try at next_try), sending (claimed by a worker until next_try: a crashed worker's claim expires),
# sent, failed (refused for good or too many tries; an administrator may resend it).
@migrations(name="0011_mail_queue")
def mail_queue(db):
    db.execute("""CREATE TABLE mail_queue (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    ref_id INTEGER,                         -- reservation, problem report, feedback or agent the mail is about
    dedup TEXT UNIQUE,                      -- one reminder / late-return mail per booking and time
    to_addrs TEXT NOT NULL DEFAULT '',      -- comma-separated
    cc_addrs TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    body_text TEXT NOT NULL DEFAULT '',
    body_html TEXT NOT NULL DEFAULT '',
    ics TEXT,                               -- iCalendar attachment
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('compose', 'pending', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_try INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER,                     -- not sent by then: pointless (a reminder after the start), failed
    last_error TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    sent_at INTEGER
)""")
    db.execute("CREATE INDEX mail_queue_due ON mail_queue(status, next_try)")
    db.execute("CREATE INDEX mail_queue_created ON mail_queue(created_at)")
    # Reminders are on by default; each agent may turn them off (Mon compte).
    db.execute("ALTER TABLE agents ADD COLUMN mail_reminders INTEGER NOT NULL DEFAULT 1")


# Booking and problem events queue their mail from triggers: every path that books, moves, cancels or
# releases a booking (pages, CLI, maintenance, another module tomorrow) queues it in its own transaction.
_MAIL_EVENT = ("INSERT INTO mail_queue (kind, ref_id, status, created_at) "
               "VALUES ('%s', NEW.id, 'compose', CAST(strftime('%%s', 'now') AS INTEGER));")
_MAIL_TRIGGERS = (
    ("booking_confirmed", "AFTER INSERT ON reservations WHEN NEW.unplanned = 0 AND NEW.status = 'booked'"),
    ("booking_changed", "AFTER UPDATE OF vehicle_id, start, end ON reservations "
                        "WHEN NEW.unplanned = 0 AND NEW.status = 'booked' AND OLD.status = 'booked' "
                        "AND (OLD.vehicle_id != NEW.vehicle_id OR OLD.start != NEW.start OR OLD.end != NEW.end)"),
    ("booking_cancelled", "AFTER UPDATE OF status ON reservations "
                          "WHEN NEW.unplanned = 0 AND OLD.status = 'booked' AND NEW.status = 'cancelled'"),
    ("no_show", "AFTER UPDATE OF status ON reservations WHEN OLD.status = 'booked' AND NEW.status = 'no_show'"),
    ("problem_reported", "AFTER INSERT ON problem_reports"),
)


@migrations(name="0011_mail_triggers")
def mail_triggers(db):
    for kind, event in _MAIL_TRIGGERS:
        db.execute("CREATE TRIGGER mail_%s %s BEGIN %s END" % (kind, event, _MAIL_EVENT % kind))


@contextlib.contextmanager
def history_load(conn):
    """A bulk load of past bookings (the bench's dataset, the demo's weeks of history) records no mail event:
    the mail triggers are dropped for the block and created again after it. Only inside the caller's
    transaction (SQLite's DDL is transactional: a load that fails or dies leaves the triggers in place)."""
    if not conn.in_transaction:
        raise RuntimeError("history_load needs an open transaction")
    for kind, _event in _MAIL_TRIGGERS:
        conn.execute("DROP TRIGGER mail_%s" % kind)
    try:
        yield
    finally:
        mail_triggers(conn)


# Single-use links e-mailed to choose a password: an invitation (new account) or a reset (« mot de passe
# oublié »). Only the SHA-256 of the token is kept; a token works once and before expires_at.
@migrations(name="0011_account_tokens")
def account_tokens(db):
    db.execute("""CREATE TABLE account_tokens (
    id INTEGER PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    purpose TEXT NOT NULL CHECK (purpose IN ('invite', 'reset')),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at INTEGER
)""")
    db.execute("CREATE INDEX account_tokens_agent ON account_tokens(agent_id, created_at)")


# « Boîte à idées / retours » (issue 17): a message from any agent (optionally about a car and a trip),
# answered by the fleet managers in scope (the agent's department, or the car's), separate from the per-car
# problem reports. department_id: the agent's department when they wrote.
@migrations(name="0011_feedback")
def feedback(db):
    db.execute("""CREATE TABLE feedback (
    id INTEGER PRIMARY KEY,
    agent_id INTEGER NOT NULL REFERENCES agents(id),
    department_id INTEGER NOT NULL REFERENCES departments(id),
    vehicle_id INTEGER REFERENCES vehicles(id),
    trip_id INTEGER REFERENCES trips(id),
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'closed')),
    answer TEXT NOT NULL DEFAULT '',
    answered_by INTEGER REFERENCES agents(id),
    answered_at INTEGER,
    created_at INTEGER NOT NULL
)""")
    db.execute("CREATE INDEX feedback_agent ON feedback(agent_id, created_at)")
    db.execute("CREATE INDEX feedback_status ON feedback(status, created_at)")


def apply(db):
    """Apply every pending migration (idempotent)."""
    migrations.apply(db)
