"""SQLite connection handling: one `sqlite_utils.Database` per request in `g`, WAL mode, explicit writes.

Writes that must not race (two agents booking the same car, two frames of one box) go through
`write(db)`, which opens the transaction with ``BEGIN IMMEDIATE``: SQLite takes the write lock at once,
so a check made inside the block still holds when the insert commits.
"""

import contextlib
import logging
import os
import secrets
import sqlite3
import threading

import click
from flask.cli import with_appcontext
import sqlite_utils
from flask import current_app, g

BUSY_TIMEOUT_MS = 10000
# Page cache per connection (KiB): hundreds of syncing boxes keep hundreds of position pages hot.
CACHE_KIB = 65536
# WAL pages between automatic checkpoints: fewer checkpoints, each paid by one sync frame (docs/bench.md).
CHECKPOINT_PAGES = 10000


log = logging.getLogger(__name__)


def make_private(path):
    """Create the database file 0600 in a 0700 directory before SQLite opens it (SQLite gives its -wal and
    -shm files the database file's mode). An existing file readable by others is narrowed to 0600; an
    existing directory is never changed (it may be shared, like /tmp), only reported."""
    path = str(path)
    if path in ("", ":memory:") or path.startswith("file:"):  # SQLite's temporary and URI forms
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
    else:
        os.close(fd)
        if os.stat(directory).st_mode & 0o077:
            log.warning("database %s created in %s, which others can read: use a 0700 directory", path, directory)


def connect(path):
    """Open `path` as a `sqlite_utils.Database` in autocommit mode with the project's pragmas.

    The driver-level autocommit (``isolation_level=None``) leaves transaction control to `write()` and
    to sqlite-utils' own `atomic()`; ``check_same_thread=False`` lets a test hand a connection to a
    thread it joins (each request still gets its own connection).
    """
    make_private(path)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=%d" % BUSY_TIMEOUT_MS)
    if str(path) != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
    tune(conn)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    return sqlite_utils.Database(conn, execute_plugins=False)


def tune(conn):
    """The write and cache settings of every connection (the server bench's raw reference uses them too)."""
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-%d" % CACHE_KIB)
    conn.execute("PRAGMA wal_autocheckpoint=%d" % CHECKPOINT_PAGES)


_local = threading.local()
MAX_CACHED_PER_THREAD = 4


def get_db():
    """The request's database.

    Each thread keeps its connection between requests (opening one costs more than most queries: the
    pragmas, and the WAL checkpoint SQLite runs when the last connection to a file closes). Teardown
    rolls back whatever a failed request left open. `DB_KEEP_CONNECTIONS = False` opens and closes one
    per request instead.
    """
    if "db" not in g:
        path = current_app.config["DATABASE"]
        if not current_app.config.get("DB_KEEP_CONNECTIONS", True):
            g.db = connect(path)
            g.db_owned = True
            return g.db
        cache = getattr(_local, "dbs", None)
        if cache is None:
            cache = _local.dbs = {}
        db = cache.get(path)
        if db is None:
            if len(cache) >= MAX_CACHED_PER_THREAD:  # tests open many files: keep only the recent ones
                for old in cache.values():
                    old.conn.close()
                cache.clear()
            db = cache[path] = connect(path)
        g.db = db
    return g.db


def close_db(_exc=None):
    db = g.pop("db", None)
    if db is None:
        return
    if g.pop("db_owned", False):
        db.conn.close()
    elif db.conn.in_transaction:
        db.conn.rollback()


@contextlib.contextmanager
def write(db):
    """A write transaction taken with BEGIN IMMEDIATE; nested calls become savepoints.

    Commits when the block ends, rolls back when it raises (and re-raises).
    """
    conn = db.conn
    if conn.in_transaction:
        name = "sp_" + secrets.token_hex(6)
        conn.execute("SAVEPOINT " + name)
        try:
            yield db
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK TO SAVEPOINT " + name)
                conn.execute("RELEASE SAVEPOINT " + name)
            raise
        conn.execute("RELEASE SAVEPOINT " + name)
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def rows(db, sql, params=()):
    """All rows of a query as dicts."""
    return [dict(r) for r in db.execute(sql, params).fetchall()]


def row(db, sql, params=()):
    """The first row of a query as a dict, or None."""
    r = db.execute(sql, params).fetchone()
    return dict(r) if r is not None else None


def scalar(db, sql, params=(), default=None):
    r = db.execute(sql, params).fetchone()
    return default if r is None or r[0] is None else r[0]


def init_db(path=None):
    """Create or upgrade the schema (never drops a table)."""
    from server import migrations

    db = connect(path or current_app.config["DATABASE"])
    try:
        migrations.apply(db)
    finally:
        db.conn.close()


@click.command("init-db")
@with_appcontext
def init_db_command():
    """Crée ou met à jour le schéma de la base (migrations, aucune table supprimée)."""
    init_db()
    click.echo("Base initialisée : %s" % current_app.config["DATABASE"])


def init_app(app):
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
