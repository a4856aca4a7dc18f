"""Named locks that several processes on one database take in turn (one import at a time, one ``crm
init``).

SQLite: a lock file beside the database file (``crm.db.NAME.lock``, held with the operating system's
file lock, so a killed process lets go at once). PostgreSQL: a session advisory lock, keyed by the
lock's name and the schema, on a connection of its own held for the whole block (a killed process's
connection ends, and its lock with it). An in-memory SQLite database is one process's: no lock."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url

#: how often a waiting process asks for a lock file again, in seconds
FILE_POLL = 0.05


def lock_path(url, name: str) -> Path | None:
    """The lock file of ``name`` for an SQLite database file; ``None`` for others and in-memory
    ones."""
    parsed = make_url(str(url)) if not hasattr(url, "get_backend_name") else url
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
    ):
        return None
    return Path(parsed.database).with_name(Path(parsed.database).name + f".{name}.lock")


#: the advisory lock's key: the lock's name in this schema (tests and tenants share one PostgreSQL
#: database)
KEY = "hashtext(current_schema() || '/crm-' || :name)"


@contextmanager
def exclusive(
    engine: Engine, name: str, on_wait: Callable[[], None] | None = None
) -> Iterator[None]:
    """Hold the lock ``name`` for the block; when another process holds it, call ``on_wait`` (once)
    and wait for it."""
    path = lock_path(engine.url, name)
    if engine.dialect.name == "sqlite":
        if path is None:
            yield
            return
        from filelock import FileLock, Timeout

        lock = FileLock(str(path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            if on_wait:
                on_wait()
            lock.acquire(poll_interval=FILE_POLL)
        try:
            yield
        finally:
            lock.release()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if not conn.scalar(text(f"SELECT pg_try_advisory_lock({KEY})"), {"name": name}):
            if on_wait:
                on_wait()
            conn.execute(text(f"SELECT pg_advisory_lock({KEY})"), {"name": name})
        try:
            yield
        finally:
            conn.execute(text(f"SELECT pg_advisory_unlock({KEY})"), {"name": name})


def is_held(engine: Engine, name: str) -> bool:
    """Whether some process holds the lock ``name`` now (asked without waiting)."""
    if engine.dialect.name == "sqlite":
        path = lock_path(engine.url, name)
        if path is None or not path.exists():
            return False
        from filelock import FileLock, Timeout

        lock = FileLock(str(path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        lock.release()
        return False
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.scalar(text(f"SELECT pg_try_advisory_lock({KEY})"), {"name": name}):
            conn.execute(text(f"SELECT pg_advisory_unlock({KEY})"), {"name": name})
            return False
        return True


def transaction_lock(connection, name: str) -> None:
    """PostgreSQL: wait for and hold the lock ``name`` until the connection's transaction ends
    (``crm init``); SQLite needs none (a writing transaction holds the database's write lock from
    its BEGIN)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({KEY})"), {"name": name})
