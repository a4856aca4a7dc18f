"""``crm backup PATH`` and ``crm restore PATH``: consistent copies of a live database, and their
verified return.

- SQLite: SQLite's online backup API copies one consistent snapshot while other processes keep
  writing, including what is still in the ``-wal`` file (a plain copy of ``crm.db`` misses that).
  The copy is one self-contained file (rollback journal, no ``-wal``), checked with ``PRAGMA
  integrity_check``.
- PostgreSQL: ``pg_dump`` in its custom format, of the schema the CRM lives in, from a snapshot
  exported by a ``REPEATABLE READ`` transaction that also counts the rows, so counts and dump
  describe the same moment.

Beside the backup a manifest ``PATH.manifest.json`` records the rows of every table, the schema
revisions, the enabled plugins and the backup's SHA-256. The backup is written under a temporary
name and renamed when complete, so a half-written backup never looks like one.

``restore`` checks the backup before touching the database (digest, SQLite integrity), replaces the
database in one step (SQLite: the backup API again, into the live file; PostgreSQL: the tables are
dropped and the archive is loaded in a single transaction through ``psql``), then verifies:
integrity, row counts against the manifest, and the checks plugins offer through the
``crm_check_database`` hook (the loyalty ledger's chains and balances, for example).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

import attrs
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from ..domain.dates import utcnow
from ..errors import CRMError, ValidationError

MANIFEST_SUFFIX = ".manifest.json"
FORMAT = "crmcore-backup"
FORMAT_VERSION = 1


class BackupError(CRMError):
    """A backup could not be taken, or a restore could not be done or verified."""


@attrs.frozen
class BackupResult:
    path: str
    manifest: str
    dialect: str
    tables: dict[str, int]
    bytes: int
    seconds: float


@attrs.frozen
class RestoreReport:
    path: str
    dialect: str
    integrity: list[str]
    #: table → (rows in the manifest, rows restored)
    tables: dict[str, tuple[int, int]]
    #: plugin → problems its ``crm_check_database`` found
    checks: dict[str, list[str]]
    seconds: float

    @property
    def mismatched(self) -> dict[str, tuple[int, int]]:
        return {t: c for t, c in self.tables.items() if c[0] != c[1]}

    @property
    def ok(self) -> bool:
        return not self.integrity and not self.mismatched and not any(self.checks.values())


def manifest_path(path: str | Path) -> Path:
    path = Path(path)
    return path.with_name(path.name + MANIFEST_SUFFIX)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sqlite_file(app) -> Path:
    database = make_url(app.url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory database cannot be backed up or restored", field="db")
    return Path(database)


def _count_rows(conn, tables: list[str], quote) -> dict[str, int]:
    return {
        t: conn.execute(f"SELECT count(*) FROM {quote(t)}").fetchone()[0] for t in sorted(tables)
    }


def _sqlite_quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
    ]


def sqlite_integrity(conn: sqlite3.Connection) -> list[str]:
    """Problems ``PRAGMA integrity_check`` and ``foreign_key_check`` report (empty: sound)."""
    problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
    problems += [
        f"{r[0]} row {r[1]}: no {r[2]} row it refers to"
        for r in conn.execute("PRAGMA foreign_key_check")
    ]
    return problems


def _describe(app) -> dict[str, Any]:
    """What the manifest says about the database besides counts: revisions and enabled plugins."""
    from ..plugin_host import stored_states

    with app.sessionmaker() as session:
        revisions = sorted(session.scalars(text("SELECT version_num FROM alembic_version")))
        plugins = sorted(n for n, on in stored_states(session).items() if on)
    return {"revisions": revisions, "plugins": plugins}


def _write_manifest(path: Path, data: dict[str, Any]) -> Path:
    target = manifest_path(path)
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _fsync(partial)
    partial.replace(target)
    return target


def _check_target(path: Path, app) -> None:
    if path.exists() and path.is_dir():
        raise ValidationError(f"{path} is a directory; give the backup's file name", field="path")
    if not path.parent.is_dir():
        raise ValidationError(f"folder {path.parent} does not exist", field="path")
    if app.engine.dialect.name == "sqlite" and path.resolve() == sqlite_file(app).resolve():
        raise ValidationError("the backup cannot overwrite the database itself", field="path")


# -- backup ----------------------------------------------------------------------------------------
def backup(app, path: str | Path) -> BackupResult:
    """Write a consistent backup of ``app``'s database to ``path`` (and its manifest beside it)."""
    path = Path(path)
    _check_target(path, app)
    started = time.monotonic()
    partial = path.with_name(f".{path.name}.partial-{os.getpid()}")
    try:
        return _backup(app, path, partial, started)
    except OSError as exc:
        raise BackupError(f"cannot write the backup {path}: {exc.strerror}") from None
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite could not copy the database: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)


def _backup(app, path: Path, partial: Path, started: float) -> BackupResult:
    if app.engine.dialect.name == "sqlite":
        counts = _backup_sqlite(app, partial)
    else:
        counts = _backup_postgres(app, partial)
    _fsync(partial)
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "dialect": app.engine.dialect.name,
        "created_at": utcnow().isoformat(),
        "crmcore": _crmcore_version(),
        **_describe(app),
        "schema": _postgres_schema(app),
        "sha256": _sha256(partial),
        "bytes": partial.stat().st_size,
        "tables": counts,
    }
    partial.replace(path)
    written = _write_manifest(path, manifest)
    return BackupResult(
        str(path),
        str(written),
        manifest["dialect"],
        counts,
        manifest["bytes"],
        round(time.monotonic() - started, 3),
    )


def _crmcore_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("crmcore")
    except PackageNotFoundError:  # pragma: no cover - a source checkout without metadata
        return "unknown"


def _backup_sqlite(app, partial: Path) -> dict[str, int]:
    source = sqlite3.connect(sqlite_file(app), timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)  # one step: a snapshot, while writers go on (WAL)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        problems = sqlite_integrity(target)
        if problems:
            raise BackupError(f"the copy failed its integrity check: {problems[0]}")
        return _count_rows(target, _sqlite_tables(target), _sqlite_quote)
    finally:
        target.close()
        source.close()


def _postgres_schema(app) -> Optional[str]:
    if app.engine.dialect.name != "postgresql":
        return None
    with app.engine.connect() as conn:
        return conn.exec_driver_sql("SELECT current_schema()").scalar()


def libpq_target(app) -> tuple[str, dict[str, str]]:
    """The database as a libpq URI for ``pg_dump``/``psql`` (the password in ``PGPASSWORD``, not
    argv)."""
    url = make_url(app.url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(
    command: list[str], env: dict[str, str], what: str, **kwargs
) -> subprocess.CompletedProcess:
    if shutil.which(command[0]) is None:
        raise BackupError(
            f"{command[0]} is not installed; install PostgreSQL's client programs "
            f"(Debian: apt install postgresql-client) to {what}"
        )
    result = subprocess.run(command, env=env, capture_output=True, **kwargs)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed to {what}: {_last_line(result.stderr or b'')}")
    return result


def _backup_postgres(app, partial: Path) -> dict[str, int]:
    uri, env = libpq_target(app)
    with app.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
            tables = inspect(conn).get_table_names(schema=schema)
            counts = {
                t: conn.exec_driver_sql(f'SELECT count(*) FROM "{schema}"."{t}"').scalar()
                for t in sorted(tables)
            }
            # pg_dump reads the snapshot this open transaction exported: the same moment as the
            # counts
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    f"--snapshot={snapshot}",
                    f"--schema={schema}",
                    "--no-owner",
                    "--no-acl",
                    f"--file={partial}",
                    f"--dbname={uri}",
                ],
                env,
                "back up the database",
            )
    return counts


# -- restore ---------------------------------------------------------------------------------------
def read_manifest(path: Path, dialect: str) -> Optional[dict[str, Any]]:
    """The backup's manifest, checked against the file; None when absent (allowed for SQLite
    only)."""
    where = manifest_path(path)
    if not where.exists():
        if dialect == "sqlite":
            return None
        raise BackupError(
            f"the manifest {where} is missing; it holds the row counts a restore is verified "
            "against (keep it beside the backup)",
            field="path",
        )
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        raise BackupError(f"the manifest {where} cannot be read: {exc}", field="path") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{where} is not a crmcore backup manifest", field="path")
    if manifest.get("dialect") != dialect:
        raise BackupError(
            f"{path} is a {manifest.get('dialect')} backup; this database is {dialect}",
            field="path",
        )
    if manifest.get("sha256") != _sha256(path):
        raise BackupError(
            f"{path} does not match its manifest (SHA-256 differs): the file was damaged or "
            "replaced; nothing was restored",
            field="path",
        )
    return manifest


def check_backup(app, path: str | Path) -> None:
    """Refuse, before anything is asked or changed, a path that is not a sound backup for this
    database: missing, without a matching manifest, or (SQLite) not a database or damaged."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"no backup file {path}", field="path")
    read_manifest(path, app.engine.dialect.name)
    if app.engine.dialect.name == "sqlite":
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            problems = sqlite_integrity(source)
        except sqlite3.DatabaseError as exc:  # not a database at all: a wrong file was named
            raise BackupError(
                f"{path} is not a SQLite backup ({exc}); nothing was restored", field="path"
            ) from None
        finally:
            source.close()
        if problems:
            raise BackupError(
                f"{path} fails its integrity check ({problems[0]}); nothing was restored",
                field="path",
            )


def restore(app, path: str | Path) -> RestoreReport:
    """Replace ``app``'s database with the backup at ``path`` and verify the result."""
    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"no backup file {path}", field="path")
    started = time.monotonic()
    dialect = app.engine.dialect.name
    manifest = read_manifest(path, dialect)
    if dialect == "sqlite":
        expected, integrity = _restore_sqlite(app, path, manifest)
    else:
        expected, integrity = _restore_postgres(app, path, manifest)
    app.dispose()
    app.reload_plugins()
    actual = database_counts(app)
    tables = {
        t: (expected.get(t, 0), actual.get(t, 0)) for t in sorted(set(expected) | set(actual))
    }
    return RestoreReport(
        str(path), dialect, integrity, tables, run_checks(app), round(time.monotonic() - started, 3)
    )


def database_counts(app) -> dict[str, int]:
    with app.engine.connect() as conn:
        tables = inspect(conn).get_table_names()
        return {
            t: conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar() for t in sorted(tables)
        }


def run_checks(app) -> dict[str, list[str]]:
    """The problems each plugin's ``crm_check_database`` finds, by plugin."""
    with app.unit_of_work(readonly=True) as uow:
        hook = uow.plugins.hook.crm_check_database
        found: dict[str, list[str]] = {}
        for impl in hook.get_hookimpls():
            found[impl.plugin_name] = list(
                uow.plugins.call_one(impl, "crm_check_database", uow=uow) or []
            )
    return found


def _restore_sqlite(app, path: Path, manifest) -> tuple[dict[str, int], list[str]]:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        try:
            problems = sqlite_integrity(source)
        except sqlite3.DatabaseError as exc:  # not a database at all: a wrong file was named
            raise BackupError(
                f"{path} is not a SQLite backup ({exc}); nothing was restored", field="path"
            ) from None
        if problems:
            raise BackupError(
                f"{path} fails its integrity check ({problems[0]}); nothing was restored",
                field="path",
            )
        expected = (
            manifest["tables"]
            if manifest
            else _count_rows(source, _sqlite_tables(source), _sqlite_quote)
        )
        app.dispose()
        target = sqlite3.connect(sqlite_file(app), timeout=30)
        try:
            source.backup(
                target
            )  # page by page under the target's write lock: readers see old or new
            target.execute("PRAGMA journal_mode=WAL")
            return expected, sqlite_integrity(target)
        finally:
            target.close()
    finally:
        source.close()


_SCHEMA_OR_EXTENSION = re.compile(r"^\d+; \d+ \d+ (SCHEMA|EXTENSION) ")


def _restore_postgres(app, path: Path, manifest) -> tuple[dict[str, int], list[str]]:
    """Drop the schema's tables and load the archive in one ``psql`` transaction: if any statement
    fails, the database is left as it was. Constraints are created after the data and check it as
    they are."""
    uri, env = libpq_target(app)
    schema = _postgres_schema(app)
    if manifest.get("schema") != schema:
        raise BackupError(
            f"{path} holds schema {manifest.get('schema')!r}; this database's is {schema!r} "
            "(restore into a database whose search_path names the same schema)",
            field="path",
        )
    listing = _run(["pg_restore", "--list", str(path)], env, "read the backup").stdout.decode()
    # the schema itself and the extensions stay: only what lives in the schema is replaced
    kept = [line for line in listing.splitlines() if not _SCHEMA_OR_EXTENSION.match(line)]
    entries = path.with_name(f".{path.name}.entries-{os.getpid()}")
    entries.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with app.engine.connect() as conn:
        found = inspect(conn)
        existing = {
            "VIEW": found.get_view_names(schema=schema),
            "TABLE": found.get_table_names(schema=schema),
            "SEQUENCE": found.get_sequence_names(schema=schema),
        }
    app.dispose()
    drop = "".join(
        f"DROP {kind} IF EXISTS {', '.join(_qualified(schema, n) for n in names)} CASCADE;\n"
        for kind, names in existing.items()
        if names
    )
    try:
        for program in ("pg_restore", "psql"):
            if shutil.which(program) is None:
                raise BackupError(
                    f"{program} is not installed; install PostgreSQL's client programs "
                    "(Debian: apt install postgresql-client) to restore the database"
                )
        script = subprocess.Popen(
            [
                "pg_restore",
                "--no-owner",
                "--no-acl",
                f"--use-list={entries}",
                "--file=-",
                str(path),
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        # one transaction, committed only once pg_restore has produced the whole archive without
        # error
        loader = subprocess.Popen(
            ["psql", "--quiet", "--no-psqlrc", "--set=ON_ERROR_STOP=1", f"--dbname={uri}"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            loader.stdin.write(b"SET client_min_messages = warning;\nBEGIN;\n" + drop.encode())
            shutil.copyfileobj(script.stdout, loader.stdin)
            if script.wait() == 0:
                loader.stdin.write(b"COMMIT;\n")
        except BrokenPipeError:
            pass  # psql stopped at an error (and rolled back): reported below
        finally:
            loader.stdin.close()
            script.wait()
            loader.wait()
        if script.returncode != 0:
            raise BackupError(
                f"pg_restore cannot read {path}, nothing was restored: "
                f"{_last_line(script.stderr.read())}"
            )
        if loader.returncode != 0:
            raise BackupError(
                f"psql refused the backup, nothing was restored: {_last_line(loader.stderr.read())}"
            )
    finally:
        entries.unlink(missing_ok=True)
    return manifest["tables"], []


def _qualified(schema: str, name: str) -> str:
    return '"' + schema.replace('"', '""') + '"."' + name.replace('"', '""') + '"'


def _last_line(data: bytes) -> str:
    lines = data.decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(no message)"
