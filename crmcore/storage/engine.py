"""Engines for SQLite (the embedded default, WAL) and PostgreSQL (production)."""

from __future__ import annotations

import os
import sqlite3
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from .urls import DEFAULT_URL, resolve_url  # noqa: F401  (re-exported)

#: how long a command waits for SQLite's write lock, in seconds (``CRM_LOCK_WAIT`` overrides)
LOCK_WAIT = 30.0
#: how often a waiting command asks for the lock again, in seconds. SQLite's own busy handler sleeps
#: up to 100 ms between tries, so a writer that lets go for a few milliseconds (an import between
#: its chunks) would be taken again by itself before a waiting command tries; asking every few
#: milliseconds here instead, a waiting command gets the lock in the import's next pause.
LOCK_POLL = 0.002
#: SQLite's own busy timeout for the other statements, in milliseconds (the connection's set-up
#: statements wait as long as a BEGIN does)
STATEMENT_BUSY_MS = 20
SQLITE_BUSY = 5


def lock_wait() -> float:
    """Seconds a command waits for SQLite's write lock (``CRM_LOCK_WAIT``, else
    :data:`LOCK_WAIT`)."""
    value = os.environ.get("CRM_LOCK_WAIT")
    try:
        return float(value) if value else LOCK_WAIT
    except ValueError:
        return LOCK_WAIT


def begin_immediate(dbapi_connection, wait: float) -> None:
    """``BEGIN IMMEDIATE``, asked again every :data:`LOCK_POLL` seconds for up to ``wait`` seconds;
    then :class:`~crmcore.errors.DatabaseBusy`."""
    deadline = time.monotonic() + wait
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE").close()
            return
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorcode", SQLITE_BUSY) & 0xFF != SQLITE_BUSY:
                raise
            if time.monotonic() >= deadline:
                from ..errors import DatabaseBusy

                raise DatabaseBusy(
                    "the database is busy: another command is writing; try again"
                ) from None
        time.sleep(LOCK_POLL)


def create_engine(url: str, **kwargs) -> Engine:
    from sqlalchemy import create_engine as sa_create_engine

    from .jsoncodec import dumps, loads

    kwargs.setdefault("json_serializer", dumps)
    kwargs.setdefault("json_deserializer", loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # check_same_thread: a long import hands its inserts to a second thread on the same connection
        # (storage/background.py, which orders every use of it); SQLAlchemy already sets it for files
        wait = lock_wait()
        engine = sa_create_engine(
            url, connect_args={"timeout": wait, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_connection.cursor()
            # turning WAL on may wait for a writer
            cur.execute(f"PRAGMA busy_timeout={int(wait * 1000)}")
            if parsed.database and parsed.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={STATEMENT_BUSY_MS}")  # BEGIN waits on its own
            # deleted and overwritten content is zeroed, not left readable in free space (forget)
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers take the lock at BEGIN: two processes spending one balance are serialised instead of
            # failing late with "database is locked" or overspending.
            mode = conn.get_execution_options().get("crm_begin", "IMMEDIATE")
            if mode == "IMMEDIATE":
                begin_immediate(conn.connection.dbapi_connection, wait)
            else:
                conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    from .postgres import pool_options_from_environment  # CRM_DB_POOL_SIZE, …

    return sa_create_engine(url, **{**pool_options_from_environment(), **kwargs})


def release_erased_pages(engine: Engine) -> bool:
    """After erasing personal data: copy SQLite's ``-wal`` file into the database and truncate it,
    so the old page images it holds are gone too (``secure_delete`` zeroed them in the database).

    True when done; False when a reader kept the ``-wal`` busy (its next checkpoint empties it) or
    on PostgreSQL, where old row versions stay until ``VACUUM`` (docs/operations.md)."""
    if engine.dialect.name != "sqlite":
        return False
    raw = engine.raw_connection()  # outside a transaction: a checkpoint cannot run inside one
    try:
        busy, _frames, _copied = raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        raw.close()
    return busy == 0


def is_sqlite(url_or_engine) -> bool:
    name = (
        url_or_engine.dialect.name
        if hasattr(url_or_engine, "dialect")
        else make_url(url_or_engine).get_backend_name()
    )
    return name == "sqlite"
