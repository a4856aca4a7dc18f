"""Engines for SQLite (the embedded default, WAL) and PostgreSQL (production)."""
from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

from .urls import DEFAULT_URL, resolve_url  # noqa: F401  (re-exported)


def create_engine(url: str, **kwargs) -> Engine:
    from sqlalchemy import create_engine as sa_create_engine

    from .jsoncodec import dumps, loads

    kwargs.setdefault("json_serializer", dumps)
    kwargs.setdefault("json_deserializer", loads)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # check_same_thread: a long import hands its inserts to a second thread on the same connection
        # (storage/background.py, which orders every use of it); SQLAlchemy already sets it for files
        engine = sa_create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_connection.cursor()
            if parsed.database and parsed.database != ":memory:":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            # deleted and overwritten content is zeroed, not left readable in free space (forget)
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Writers take the lock at BEGIN: two processes spending one balance are serialised instead of
            # failing late with "database is locked" or overspending.
            mode = conn.get_execution_options().get("crm_begin", "IMMEDIATE")
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
    name = url_or_engine.dialect.name if hasattr(url_or_engine, "dialect") else make_url(url_or_engine).get_backend_name()
    return name == "sqlite"
