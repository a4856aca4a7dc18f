"""An import's multi-row inserts written on a second thread while the import goes on (same connection, same
transaction).

An import spends a good part of its time waiting for the database to write rows and index pages, and the rest
in Python reading, checking and deduplicating the next rows. Within :func:`background_inserts` the inserts of
:func:`crmcore.storage.bulk.insert_rows` and ``insert_values`` are handed to a writer thread, so the database
writes batch *k* while Python reads batch *k + 1*:

- SQLite: one ``INSERT … SELECT … FROM json_each(?)`` statement per batch and table. SQLite runs the whole
  statement in C without Python's GIL, on the second core (a driver ``executemany`` would need the GIL back
  after every row and would crawl behind a busy thread). The values are the ones ``executemany`` would bind,
  carried as JSON (integers, text, NULL), except the values shared by the whole batch, which are bound once
  (:class:`crmcore.storage.bulk.JsonInsert`); a table with a column of another type (float, decimal, bytes)
  is written at once, as before.
- PostgreSQL: the batch's ``COPY`` text, formatted by the main thread, is sent by the writer thread while the
  server indexes it.

Consistency: before any other statement on the connection (a lookup, an ORM flush, a savepoint), and before
commit or rollback, the main thread waits until every handed-over insert is done, so every statement still
sees everything written before it, in order — exactly as if the inserts had run at once. An insert that fails
is raised at that point (the unit of work then rolls the whole command back), and the inserts queued after it
are dropped with the transaction.

Reads in the queue (:meth:`BackgroundWriter.submit_call`): the customer import's lookups for a batch run on
the writer thread too, after the inserts queued before them into the tables they read (so they see those
rows, exactly as a statement on the main thread would) but ahead of the waiting inserts into other tables,
while the main thread reads and checks the next batch. The caller promises not to touch the connection until
it has collected the result (:meth:`Call.result`); the statements such a call runs do not wait for the queue
(they are its turn). An update of many rows joins the queue as one ``UPDATE … FROM json_each(?)``
(:func:`crmcore.storage.bulk.update_rows`).
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from collections import deque
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import orjson
from sqlalchemy import event, exc

#: SQLite ≥ 3.38 has JSON built in with the ``->>`` operator (Python's own builds since 3.11 do).
SUPPORTED = sqlite3.sqlite_version_info >= (3, 38, 0)
#: while the writer waits for the GIL after a statement, the main thread is asked to let go after this long
SWITCH_INTERVAL = 0.0005
#: statements waiting at most (an import's next lookup waits for all of them anyway: a batch's worth)
MAX_QUEUED = 32
#: SQLite's page cache during the block, in KiB (its default is 2,000): an import inserts into several indexes
#: in scattered key order, and with the default cache their pages are written out and read back again and
#: again; the larger cache is bounded (memory stays flat whatever the file's size) and given back afterwards
IMPORT_CACHE_KIB = 16_384
_json_dumps = json.JSONEncoder(
    ensure_ascii=False, separators=(",", ":"), check_circular=False
).encode
#: orjson writes a batch about 4 times faster; dates, times and dataclasses it would write its own way are
#: refused as by :mod:`json` (they never reach here: they are bound as text)
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _dumps(rows: list[tuple]) -> str:
    """The JSON array of a batch's rows; integers beyond 64 bits (refused by orjson) and text orjson refuses
    (lone surrogates) go through :mod:`json`, so such a batch fails exactly as before (in the writer)."""
    try:
        return orjson.dumps(rows, option=_ORJSON_OPTIONS).decode()
    except TypeError:
        return _json_dumps(rows)


class Call:
    """A function queued with :meth:`BackgroundWriter.submit_call`; :meth:`result` waits for it."""

    __slots__ = ("_writer", "done", "dropped", "value", "error")

    def __init__(self, writer: "BackgroundWriter"):
        self._writer = writer
        self.done = False
        self.dropped = False  # an insert queued before it failed: it never ran
        self.value: Any = None
        self.error: BaseException | None = None

    def result(self) -> Any:
        """The function's return value (or its exception, raised here); when an insert queued before it
        failed, the function never ran and that failure is raised instead."""
        writer = self._writer
        with writer._lock:
            while not self.done:
                writer._lock.wait()
        if self.dropped:
            writer.drain()  # raises the insert's failure (unless a statement already did)
            raise RuntimeError("a queued call was dropped: an insert before it failed")
        if self.error is not None:
            raise self.error
        return self.value


class BackgroundWriter:
    """One writer thread for one DBAPI connection; statements run in the order they were handed over."""

    def __init__(self, dbapi_connection, dbapi_error: type[Exception]):
        self.dbapi_connection = dbapi_connection
        self._dbapi_error = dbapi_error
        #: (how, statement, JSON parameters | COPY text | (function, Call), rows expected, table written or None)
        self._jobs: deque[tuple[str, str, Any, int | None, str | None]] = deque()
        self._lock = threading.Condition()
        self._busy = False
        self._closed = False
        self._error: BaseException | None = None
        self._failed_statement: str | None = None
        self.statements = 0  #: inserts (or COPYs) run so far
        self._thread = threading.Thread(
            target=self._run, name="crmcore-background-inserts", daemon=True
        )
        self._thread.start()

    @staticmethod
    def encode(rows: list[tuple]) -> str | None:
        """The batch's rows as JSON text for :meth:`submit_json`; ``None`` when these values cannot travel as
        JSON exactly (the caller then writes them itself: its statement waits for the queue)."""
        try:
            payload = _dumps(rows)
        except (TypeError, ValueError):
            return None
        if "\\u0000" in payload:  # SQLite's JSON text values end at a NUL character
            return None
        return payload

    def submit_json(
        self,
        statement: str,
        payload: str,
        params: tuple,
        count: int | None,
        table: str | None = None,
    ) -> None:
        """SQLite: queue ``statement`` with ``payload`` (from :meth:`encode`) as its first parameter and
        ``params`` after it; ``count`` rows are expected to be inserted into ``table`` (``None``: an update,
        whatever it changes; ``table`` ``None``: unknown)."""
        self._queue(("json", statement, (payload, *params), count, table))

    def submit_copy(self, statement: str, text: str, count: int, table: str | None = None) -> None:
        """PostgreSQL: queue ``COPY … FROM STDIN`` with its rows as COPY text."""
        self._queue(("copy", statement, text, count, table))

    def submit_call(
        self, function: Callable[[], Any], *, reads: Iterable[str] | None = None
    ) -> Call:
        """Queue ``function`` to run on the writer thread (it may run statements on the connection). It runs
        after every statement queued so far; with ``reads`` (the tables it reads), only after those writing
        one of these tables (or a table not named): it goes ahead of the waiting inserts into other tables,
        so an import's lookups need not wait for its search tokens, audit entries and outbox rows. Until
        :meth:`Call.result` returns, the caller must not use the connection. A failure of the function is
        raised by :meth:`Call.result` and does not stop the queue.

        Every step of the database on this thread gives up the GIL and waits for it again behind the busy
        main thread, so the function should run few statements and fetch few rows
        (:mod:`crmcore.importing.sqlite_lookups` fetches each result as one JSON value)."""
        call = Call(self)
        job = ("call", "", (function, call), 0, None)
        if reads is None:
            self._queue(job)
            return call
        reads = frozenset(reads)
        with self._lock:
            if self._error is not None:
                _drop(job)
            else:
                jobs = self._jobs
                position = len(jobs)
                while (
                    position
                    and jobs[position - 1][4] is not None
                    and jobs[position - 1][4] not in reads
                ):
                    position -= 1
                jobs.insert(position, job)
                self._lock.notify_all()
        return call

    @property
    def on_writer_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _queue(self, job: tuple[str, str, Any, int | None, str | None]) -> None:
        with self._lock:
            while (
                len(self._jobs) >= MAX_QUEUED and self._error is None
            ):  # memory stays flat if Python runs ahead
                self._lock.wait()
            if (
                self._error is None
            ):  # after a failure nothing more is written: the transaction is lost
                self._jobs.append(job)
                self._lock.notify_all()
            else:
                _drop(job)

    def drain(self) -> None:
        """Wait until every queued statement is done; raise the first failure (once)."""
        with self._lock:
            while self._jobs or self._busy:
                self._lock.wait()
            error, self._error = self._error, None
            statement = self._failed_statement
        if error is not None:
            if isinstance(error, self._dbapi_error):
                raise exc.DBAPIError.instance(statement, None, error, self._dbapi_error) from error
            raise error

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._lock.notify_all()
        self._thread.join()

    def _execute(self, how: str, statement: str, payload: Any) -> int | None:
        if how == "call":
            function, call = payload
            try:
                call.value = function()
            except BaseException as error:  # noqa: BLE001 - raised in the caller's thread by Call.result
                call.error = error
            call.done = True  # the caller sees it under the lock, in _run's finally
            return None
        if how == "copy":
            with self.dbapi_connection.cursor() as cursor:
                with cursor.copy(statement) as copy:
                    copy.write(payload)
            return None
        cursor = self.dbapi_connection.execute(statement, payload)
        try:
            return cursor.rowcount
        finally:
            cursor.close()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._jobs and not self._closed:
                    self._lock.wait()
                if not self._jobs:
                    return
                how, statement, payload, count, _table = self._jobs.popleft()
                self._busy = True
            try:
                inserted = self._execute(how, statement, payload)
                if how != "call":
                    self.statements += 1
                # rows left out by the WHERE of bulk.JsonInsert (an update's count is None: not checked)
                if inserted is not None and count is not None and inserted != count:
                    raise OverflowError(
                        f"{statement.split()[2]}: {count - inserted} of {count} rows hold an integer "
                        "beyond SQLite's 64-bit range"
                    )
            except BaseException as error:  # noqa: BLE001 - handed to the main thread by drain()
                with self._lock:
                    self._error, self._failed_statement = error, statement
                    for job in self._jobs:
                        _drop(job)
                    self._jobs.clear()
            finally:
                with self._lock:
                    self._busy = False
                    self._lock.notify_all()


def _drop(job: tuple) -> None:
    """A job not run because an insert before it failed: a queued call learns it (:meth:`Call.result`)."""
    if job[0] == "call":
        call = job[2][1]
        call.done = call.dropped = True


_WRITERS: dict[int, BackgroundWriter] = {}
_INTERVAL = {"users": 0, "saved": 0.0}
_INTERVAL_LOCK = threading.Lock()


def _shorter_switch_interval(change: int) -> None:
    """The first block to start shortens the interpreter's switch interval, the last to end restores it
    (imports may run side by side in one process, a web server's threads say)."""
    with _INTERVAL_LOCK:
        if change > 0 and _INTERVAL["users"] == 0:
            _INTERVAL["saved"] = sys.getswitchinterval()
            sys.setswitchinterval(min(_INTERVAL["saved"], SWITCH_INTERVAL))
        _INTERVAL["users"] += change
        if change < 0 and _INTERVAL["users"] == 0:
            sys.setswitchinterval(_INTERVAL["saved"])


def _larger_cache(dbapi_connection) -> int:
    """Give SQLite's page cache at least :data:`IMPORT_CACHE_KIB`; returns the setting to restore."""

    def pragma(name: str) -> int:
        cursor = dbapi_connection.execute(f"PRAGMA {name}")
        try:
            return cursor.fetchone()[0]
        finally:
            cursor.close()

    saved = pragma("cache_size")  # negative: KiB; positive: pages
    kib = -saved if saved < 0 else saved * pragma("page_size") // 1024
    if kib < IMPORT_CACHE_KIB:
        dbapi_connection.execute(f"PRAGMA cache_size={-IMPORT_CACHE_KIB}").close()
    return saved


def writer_for(dbapi_connection) -> BackgroundWriter | None:
    """The writer active for this DBAPI connection, if any (``insert_rows`` asks)."""
    return _WRITERS.get(id(dbapi_connection)) if _WRITERS else None


@contextmanager
def background_inserts(session) -> Iterator[BackgroundWriter | None]:
    """Within the block, :func:`~crmcore.storage.bulk.insert_rows` on this session's connection writes on a
    second thread (see the module documentation); on leaving it, everything is written (and a failure raised)
    before the caller goes on. On an SQLite without JSON (older than 3.38) a no-op."""
    conn = session.connection()
    if not (conn.dialect.name == "sqlite" and SUPPORTED or conn.dialect.name == "postgresql"):
        yield None
        return
    dbapi_connection = conn.connection.dbapi_connection
    if id(dbapi_connection) in _WRITERS:  # nested: the outer block already writes in the background
        yield _WRITERS[id(dbapi_connection)]
        return
    saved_cache = _larger_cache(dbapi_connection) if conn.dialect.name == "sqlite" else None
    writer = BackgroundWriter(dbapi_connection, conn.dialect.loaded_dbapi.Error)

    def before_statement(*_args: Any) -> None:
        if not writer.on_writer_thread:  # a queued call's own statements run in their turn
            writer.drain()

    listeners = [
        (conn, "before_cursor_execute", before_statement),
        (conn, "commit", before_statement),
        (conn, "rollback", before_statement),
    ]
    for target, name, fn in listeners:
        event.listen(target, name, fn)
    _WRITERS[id(dbapi_connection)] = writer
    _shorter_switch_interval(+1)
    failed = True
    try:
        yield writer
        failed = False
    finally:
        try:
            writer.drain()
        except Exception:
            if not failed:
                raise  # otherwise the block's own exception is the one that matters; all is rolled back
        finally:
            _shorter_switch_interval(-1)
            del _WRITERS[id(dbapi_connection)]
            for target, name, fn in listeners:
                event.remove(target, name, fn)
            writer.close()
            if saved_cache is not None:
                dbapi_connection.execute(f"PRAGMA cache_size={int(saved_cache)}").close()
