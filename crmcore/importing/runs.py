"""An import run: one import at a time per database, committed a chunk at a time, resumed after a
crash.

- **One at a time**: an import holds the database's ``import`` lock (:mod:`crmcore.storage.locks`)
  from start to end; a second import (of any kind, from any process) says ``waiting for import #12
  …`` and waits. So two imports never interleave their lookups and inserts, and cannot create the
  same customer twice.
- **Chunks**: the rows are read in batches (the importer's size); a *chunk* is one or more whole
  batches, committed in one transaction together with the run's progress (``import_runs``: the last
  row committed, the summary so far). A chunk ends after the batch that reaches :data:`CHUNK_ROWS`
  rows or :data:`CHUNK_SECONDS` seconds, so on SQLite the write lock is held for about a second at a
  time; between chunks the import lets go of it for :data:`YIELD_SECONDS` so a waiting command (a
  sale at the till) gets its turn.
- **Resume**: a run left ``running`` by a killed process (or one that failed: a plugin raised, the
  disk was full) is resumed by the same command on the same file (same SHA-256) with the same
  options: the rows up to its last committed row are skipped and its summary goes on, so the totals
  are those of one whole run.
- **Dry run**: the whole file is one transaction, rolled back (nothing to resume). On SQLite it
  runs on a copy taken with the online backup API (:func:`sandbox`: a snapshot read while writers go
  on), so the shop's database is only read and a cashier never waits for a dry run; the copy needs
  as much free space in the temporary folder as the database takes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import tempfile
import time
from contextlib import closing, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from sqlalchemy import make_url, select, update

from ..storage.locks import exclusive
from ..storage.models import ImportRun as ImportRunRow
from .summary import ErrorsFile, ImportSummary

#: a chunk ends after the batch that reaches this many rows …
CHUNK_ROWS = 10_000
#: … or that ends this many seconds after the chunk began
CHUNK_SECONDS = 1.0
#: SQLite: after committing a chunk the import waits this long, so a command waiting for the write
#: lock (which asks every 2 ms, :data:`crmcore.storage.engine.LOCK_POLL`) takes it first
YIELD_SECONDS = 0.01
LOCK = "import"
#: a waiting import names the import that started (or committed a chunk) this recently, else the
#: last seen
WAIT_NAME_SECONDS = 1.0


class DryRun(Exception):
    """Raised inside the unit of work to roll a dry run back."""


@contextmanager
def sandbox(app) -> Iterator[Any]:
    """``app`` itself on PostgreSQL (a transaction there holds no lock others wait for); on SQLite
    an app on a temporary copy of its database, with the same plugins and settings."""
    if (
        app.engine.dialect.name != "sqlite"
        or not make_url(app.url).database
        or make_url(app.url).database == ":memory:"
    ):
        yield app
        return
    from ..app import CRM

    source = Path(make_url(app.url).database)
    with tempfile.TemporaryDirectory(prefix="crm-dry-run-") as folder:
        copy = Path(folder) / "dry-run.db"
        with (
            closing(sqlite3.connect(source, timeout=30)) as src,
            closing(sqlite3.connect(copy)) as target,
        ):
            src.backup(target)  # one step: a snapshot, while writers go on (WAL)
        twin = CRM(
            make_url(app.url).set(database=str(copy)).render_as_string(hide_password=False),
            plugins=app._plugin_override,
            extra_plugins=app._extra,
            timezone=app.timezone,
            calendar=app.calendar,
            clock=app.clock,
            actor=app.actor,
            future_margin=app.future_margin,
        )
        try:
            yield twin
        finally:
            twin.dispose()


def file_digest(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def options_digest(options: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()


class Chunk:
    """The batches of one chunk, taken from the run's batches until the chunk is full."""

    def __init__(self, source: "_Peekable", max_rows: float, max_seconds: float):
        self._source = source
        self._max_rows = max_rows
        self._max_seconds = max_seconds
        self.last_row: int | None = None

    def __iter__(self) -> Iterator[list]:
        started = time.monotonic()
        rows = 0
        while rows < self._max_rows and time.monotonic() - started < self._max_seconds:
            batch = self._source.next()
            if batch is None:
                return
            rows += len(batch)
            if batch:
                self.last_row = batch[-1][0]
            yield batch

    def is_last(self) -> bool:
        """No rows after this chunk (asked once its batches are done: peeks at the next batch)."""
        return self._source.peek() is None


class _Peekable:
    def __init__(self, it: Iterable[list]):
        self._it = iter(it)
        self._held: list | None = None
        self._has = False

    def peek(self) -> list | None:
        if not self._has:
            self._held, self._has = next(self._it, None), True
        return self._held

    def next(self) -> list | None:
        value = self.peek()
        self._has = False
        return value


class ImportRun:
    """One import's run: its lock, its ``import_runs`` row, its chunks (see the module
    documentation).

    ``options``: everything that changes what the import stores (a run is resumed only with the same
    ones). ``extra``: the importer's own values to keep across a resume (set before the first chunk
    commits).
    """

    def __init__(
        self,
        app,
        kind: str,
        path: str | Path,
        options: dict[str, Any],
        summary: ImportSummary,
        *,
        dry_run: bool = False,
        on_wait: Callable[[str], None] | None = None,
        chunk_rows: int = CHUNK_ROWS,
        chunk_seconds: float = CHUNK_SECONDS,
    ):
        self.app = app
        self.kind = kind
        self.path = Path(path)
        self.options = options
        self.summary = summary
        self.dry_run = dry_run
        self.on_wait = on_wait
        self.chunk_rows = chunk_rows
        self.chunk_seconds = chunk_seconds
        self.id: int | None = None
        self.last_row = 1  # the header
        self.extra: dict[str, Any] = {}
        self.committed = 0  # chunks committed by this process
        self.errors: ErrorsFile | None = (
            None  # the importer's errors file: flushed before each commit
        )
        self._saved: dict[str, Any] = summary.state()  # the summary as of the last commit

    # -- the run -----------------------------------------------------------------------------------
    @contextmanager
    def held(self) -> Iterator["ImportRun"]:
        """Take the import lock (waiting, with a message, while another import runs), then resume
        this file's interrupted run or start a new one."""
        if self.dry_run:
            with sandbox(self.app) as app:
                self.app = app
                yield self
            return
        with exclusive(self.app.engine, LOCK, on_wait=self._waiting):
            self._start()
            yield self

    def _waiting(self) -> None:
        if self.on_wait is None:
            return
        since = self.app.now() - timedelta(seconds=WAIT_NAME_SECONDS)
        deadline = time.monotonic() + WAIT_NAME_SECONDS
        while True:  # the other import may have the lock but not yet its row: give it a moment
            late = time.monotonic() > deadline  # then the last one seen (one that started long ago)
            with self.app.unit_of_work(readonly=True) as uow:
                row = uow.session.execute(
                    select(ImportRunRow.id, ImportRunRow.kind, ImportRunRow.file_name)
                    .where(
                        ImportRunRow.status == "running", late or ImportRunRow.updated_at >= since
                    )
                    .order_by(ImportRunRow.updated_at.desc())
                    .limit(1)
                ).first()
            if row is not None or late:
                break
            time.sleep(0.05)
        what = f"import #{row.id} ({row.kind}, {row.file_name})" if row else "another import"
        self.on_wait(f"waiting for {what} to finish")

    def _start(self) -> None:
        digest, opts = file_digest(self.path), options_digest(self.options)
        with self.app.unit_of_work() as uow:
            found = uow.session.scalars(
                select(ImportRunRow)
                .where(
                    ImportRunRow.kind == self.kind,
                    ImportRunRow.status == "running",
                    ImportRunRow.digest == digest,
                    ImportRunRow.options_digest == opts,
                )
                .order_by(ImportRunRow.id.desc())
                .limit(1)
            ).first()
            if found is not None:  # we hold the lock: its process is gone
                found.updated_at = uow.now()
                self.id, self.last_row = found.id, found.last_row
                self.extra = dict(found.state.get("extra") or {})
                self.summary.restore(found.state.get("summary") or {})
                self.summary.resumed_after = found.last_row if found.chunks else None
                self._saved = self.summary.state()
            else:
                now = uow.now()
                row = ImportRunRow(
                    kind=self.kind,
                    file_name=self.path.name[:300],
                    digest=digest,
                    options_digest=opts,
                    status="running",
                    last_row=1,
                    chunks=0,
                    state={},
                    actor=uow.actor,
                    started_at=now,
                    updated_at=now,
                )
                uow.session.add(row)
                uow.session.flush()
                self.id = row.id
        self.summary.import_id = self.id

    @property
    def resumed(self) -> bool:
        return self.summary.resumed_after is not None

    def remaining(self, rows: Iterable[tuple[int, list[str]]]) -> Iterator[tuple[int, list[str]]]:
        """The file's rows after the last committed one."""
        last = self.last_row
        for item in rows:
            if item[0] > last:
                yield item

    # -- chunks ------------------------------------------------------------------------------------
    def chunks(self, batches: Iterable[list], *, whole: bool = False) -> Iterator[Chunk]:
        """The run's chunks (at least one, maybe empty); ``whole`` (and a dry run): one chunk of
        everything."""
        source = _Peekable(batches)
        one = whole or self.dry_run
        limit_rows = float("inf") if one else self.chunk_rows
        limit_seconds = float("inf") if one else self.chunk_seconds
        while True:
            chunk = Chunk(source, limit_rows, limit_seconds)
            yield chunk
            if source.peek() is None:
                return

    @contextmanager
    def transaction(self, chunk: Chunk, **uow_options: Any) -> Iterator[Any]:
        """The unit of work of one chunk: committed together with the run's progress (``done`` when
        it is the last chunk); a dry run's is rolled back."""
        try:
            with self.app.unit_of_work(**uow_options) as uow:
                yield uow
                if self.dry_run:
                    raise DryRun()
                self._record(uow, chunk)
        except DryRun:
            return
        self.committed += 1
        self._saved = self.summary.state()
        if chunk.last_row is not None:
            self.last_row = chunk.last_row
        if uow.session.get_bind().dialect.name == "sqlite" and YIELD_SECONDS:
            time.sleep(YIELD_SECONDS)  # let a waiting command take the write lock

    def rewind(self) -> None:
        """Take the summary back to the last commit (the chunk after it was rolled back and is done
        again)."""
        self.summary.restore(self._saved)

    def _record(self, uow, chunk: Chunk) -> None:
        if self.errors is not None:
            self.errors.flush()
        done = chunk.is_last()
        summary = self.summary.state()
        if done:  # rejected rows' cells (personal data) are kept only while a resume may need them
            summary["rejections"] = [[r[0], r[1], r[2], []] for r in summary["rejections"]]
        values: dict[str, Any] = {
            "chunks": ImportRunRow.chunks + 1,
            "updated_at": uow.now(),
            "state": {"summary": summary, "extra": self.extra},
        }
        if chunk.last_row is not None:
            values["last_row"] = chunk.last_row
        if done:
            values.update(status="done", finished_at=uow.now())
        uow.session.execute(update(ImportRunRow).where(ImportRunRow.id == self.id).values(**values))
