"""``crm export all DIR`` and ``crm import all DIR``: every kernel and plugin table as JSON lines,
and back.

The tables come from the one SQLAlchemy metadata the kernel and every plugin declare their models on
(:mod:`crmcore.storage.base`), with the models of every installed plugin loaded: a plugin cannot
forget to contribute a table. A table in the database that no installed plugin declares is refused
by name rather than left out silently.

``DIR/manifest.json`` holds the format, the schema revisions, the enabled plugins and the rows of
each table; ``DIR/<table>.jsonl`` one JSON object per row, in primary-key order, in the same
dependency order the tables are loaded in. Values are plain JSON: moments as ISO 8601 in UTC, dates
as ISO dates, JSON columns as JSON. Files are written under temporary names and renamed when
complete.

``import all`` loads an export into an empty database (no tables, or a schema without rows): it
creates the schema for the exported plugins, refuses when the revisions differ (export and import
with the same crmcore; ``crm init`` upgrades afterwards), loads every table in one transaction
(columns that refer to their own table are filled in a second pass), moves PostgreSQL's id sequences
past the loaded ids, and runs the plugins' ``crm_check_database`` checks.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterator

import attrs
from sqlalchemy import JSON, Date, DateTime, MetaData, Table, inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from ..errors import CRMError, ValidationError

FORMAT = "crmcore-export"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
BATCH = 1000
#: not a model: Alembic's record of the schema revisions (compared, not loaded)
ALEMBIC = "alembic_version"


class ExportError(CRMError):
    """An export could not be written, or an import could not be loaded."""


@attrs.frozen
class ExportResult:
    directory: str
    tables: dict[str, int]
    seconds: float


@attrs.frozen
class ImportResult:
    directory: str
    tables: dict[str, int]
    checks: dict[str, list[str]]
    seconds: float

    @property
    def ok(self) -> bool:
        return not any(self.checks.values())


def all_metadata() -> MetaData:
    """The metadata with the models of the kernel and of every installed plugin (enabled or not)."""
    from ..plugin_host import installed_manifests
    from . import models  # noqa: F401  (the kernel's tables)
    from .base import Base

    for manifest in installed_manifests().values():
        if manifest.models:
            importlib.import_module(manifest.models)
    return Base.metadata


def plugins_owning(table_names) -> list[str]:
    """The installed plugins whose models declare any of ``table_names``."""
    from ..plugin_host import installed_manifests
    from .base import Base

    all_metadata()
    wanted = set(table_names)
    owners = set()
    for manifest in installed_manifests().values():
        prefix = manifest.package + "."
        for mapper in Base.registry.mappers:
            if mapper.class_.__module__.startswith(prefix) and mapper.local_table.name in wanted:
                owners.add(manifest.name)
    return sorted(owners)


def _tables_in(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


def exported_tables(conn: Connection) -> list[Table]:
    """The tables of the database, in dependency order; a table no installed plugin declares is
    refused."""
    metadata = all_metadata()
    present = _tables_in(conn)
    unknown = sorted(present - set(metadata.tables) - {ALEMBIC})
    if unknown:
        raise ExportError(
            f"table {unknown[0]} is in the database but no installed plugin declares it; "
            "install its plugin (or drop the table) so that nothing is left out",
            field="table",
        )
    return [t for t in metadata.sorted_tables if t.name in present]


# -- values ----------------------------------------------------------------------------------------
def _kind(column) -> str:
    kind = column.type
    impl = getattr(kind, "impl", None)
    for candidate in (kind, impl):
        if isinstance(candidate, DateTime):
            return "datetime"
        if isinstance(candidate, Date):
            return "date"
        if isinstance(candidate, JSON):
            return "json"
    return "plain"


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _from_json(kind: str, value: Any) -> Any:
    if value is None or kind in ("plain", "json"):
        return value
    if kind == "datetime":
        return datetime.fromisoformat(value)
    return date.fromisoformat(value)


def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
    order = list(table.primary_key.columns) or list(table.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(
        select(table).order_by(*order)
    )
    for row in result.mappings():
        yield {name: _to_json(value) for name, value in row.items()}


# -- export ----------------------------------------------------------------------------------------
def export_all(app, directory: str | Path) -> ExportResult:
    """Write every table of ``app``'s database to ``directory`` (created if needed; must hold no
    export)."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise ValidationError(f"{directory} is a file; give a folder", field="dir")
    if (directory / MANIFEST).exists():
        raise ValidationError(
            f"{directory} already holds an export; give an empty folder", field="dir"
        )
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return _export(app, directory)
    except OSError as exc:
        raise ExportError(f"cannot write the export to {directory}: {exc.strerror}") from None


def _export(app, directory: Path) -> ExportResult:
    started = time.monotonic()
    counts: dict[str, int] = {}
    # one read transaction: every table from the same moment (a REPEATABLE READ snapshot on
    # PostgreSQL)
    engine = app.engine.execution_options(crm_begin="DEFERRED")
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(isolation_level="REPEATABLE READ")
    with engine.connect() as conn, conn.begin():
        tables = exported_tables(conn)
        revisions = sorted(conn.execute(text(f"SELECT version_num FROM {ALEMBIC}")).scalars())
        for table in tables:
            counts[table.name] = _write_jsonl(directory / f"{table.name}.jsonl", _rows(conn, table))
        plugins = sorted(conn.execute(text("SELECT name FROM crm_plugins WHERE enabled")).scalars())
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "dialect": app.engine.dialect.name,
        "revisions": revisions,
        "plugins": plugins,
        "tables": counts,
    }
    _write_file(directory / MANIFEST, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return ExportResult(str(directory), counts, round(time.monotonic() - started, 3))


def _dumps(row: dict[str, Any]) -> str:
    from .jsoncodec import dumps

    return dumps(row)


def _write_jsonl(path: Path, rows: Iterator[dict[str, Any]]) -> int:
    partial = path.with_name(f".{path.name}.partial")
    count = 0
    with open(partial, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(_dumps(row) + "\n")
            count += 1
        f.flush()
        os.fsync(f.fileno())
    partial.replace(path)
    return count


def _write_file(path: Path, content: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(content, encoding="utf-8")
    partial.replace(path)


# -- import ----------------------------------------------------------------------------------------
def read_export_manifest(directory: Path) -> dict[str, Any]:
    where = directory / MANIFEST
    if not where.is_file():
        raise ValidationError(f"{directory} holds no export ({MANIFEST} is missing)", field="dir")
    try:
        manifest = json.loads(where.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValidationError(f"{where} is not valid JSON: {exc}", field="dir") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValidationError(f"{where} is not a crmcore export manifest", field="dir")
    for name in manifest.get("tables", {}):
        if not (directory / f"{name}.jsonl").is_file():
            raise ValidationError(
                f"{directory} lacks {name}.jsonl, which its manifest lists", field="dir"
            )
    return manifest


def _refuse_unless_empty(app) -> None:
    """The target may have no tables, or tables without rows (``crm init`` records plugin states
    only)."""
    with app.engine.connect() as conn:
        for name in sorted(_tables_in(conn) - {ALEMBIC, "crm_plugins"}):
            if conn.execute(text(f'SELECT 1 FROM "{name}" LIMIT 1')).first() is not None:
                raise ValidationError(
                    f"the database is not empty (table {name} has rows); import into a new "
                    "database",
                    field="db",
                )


def import_all(app, directory: str | Path) -> ImportResult:
    """Load the export in ``directory`` into ``app``'s empty database (see the module's
    description)."""
    from ..app import CRM
    from .backup import run_checks

    directory = Path(directory)
    manifest = read_export_manifest(directory)
    started = time.monotonic()
    _refuse_unless_empty(app)
    from ..plugin_host import installed_manifests

    missing = [p for p in manifest["plugins"] if p not in installed_manifests()]
    if missing:
        raise ExportError(
            f"the export needs plugin {missing[0]!r}, which is not installed here", field="plugin"
        )
    # the schema of every plugin that has tables in the export, enabled there or not
    schema = CRM(
        app.url, plugins=sorted(set(manifest["plugins"]) | set(plugins_owning(manifest["tables"])))
    )
    try:
        schema.init()
    finally:
        schema.dispose()
    metadata = all_metadata()
    with app.engine.connect() as conn:
        revisions = sorted(conn.execute(text(f"SELECT version_num FROM {ALEMBIC}")).scalars())
        present = _tables_in(conn)
    if revisions != sorted(manifest["revisions"]):
        raise ExportError(
            f"the export is at schema revisions {', '.join(sorted(manifest['revisions']))}; "
            f"this database is at {', '.join(revisions)}: import with the crmcore and plugin "
            "versions that exported it, then run `crm init`",
            field="dir",
        )
    absent = sorted(set(manifest["tables"]) - present)
    if absent:
        raise ExportError(
            f"table {absent[0]} of the export does not exist here (its plugin is installed but "
            "was not migrated)",
            field="dir",
        )
    order = [t for t in metadata.sorted_tables if t.name in manifest["tables"]]
    counts: dict[str, int] = {}
    try:
        with app.engine.begin() as conn:  # all tables or none
            # init recorded its own plugin states; the export's replace them
            conn.execute(text("DELETE FROM crm_plugins"))
            for table in order:
                loaded = _load_table(conn, table, directory / f"{table.name}.jsonl")
                if loaded != manifest["tables"][table.name]:
                    raise ExportError(
                        f"{table.name}.jsonl holds {loaded} rows, the manifest lists "
                        f"{manifest['tables'][table.name]}; nothing was imported"
                    )
                counts[table.name] = loaded
            if conn.dialect.name == "postgresql":
                _advance_sequences(conn, order)
    except DBAPIError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise ExportError(
            f"the database refused a row of the export, nothing was imported: {first}"
        )
    app.dispose()
    app.reload_plugins()
    return ImportResult(
        str(directory), counts, run_checks(app), round(time.monotonic() - started, 3)
    )


def _self_references(table: Table) -> list[str]:
    return [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]


def _load_table(conn: Connection, table: Table, path: Path) -> int:
    kinds = {c.name: _kind(c) for c in table.columns}
    later = _self_references(table)
    key = [c.name for c in table.primary_key.columns]
    stamped = [c.name for c in table.columns if c.onupdate is not None]
    batch: list[dict[str, Any]] = []
    second_pass: list[dict[str, Any]] = []
    count = 0
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            try:
                raw = json.loads(line)
                row = {name: _from_json(kinds[name], value) for name, value in raw.items()}
            except (ValueError, KeyError, TypeError) as exc:
                raise ExportError(f"{path.name} line {number}: {exc}") from None
            if later and any(row.get(c) is not None for c in later):
                # the columns an UPDATE would stamp (updated_at) keep their exported values too
                second_pass.append({c: row[c] for c in {*key, *later, *stamped} if c in row})
                row = {**row, **{c: None for c in later}}
            batch.append(row)
            count += 1
            if len(batch) >= BATCH:
                conn.execute(table.insert(), batch)
                batch = []
    if batch:
        conn.execute(table.insert(), batch)
    for (
        row
    ) in second_pass:  # a row may refer to one loaded after it (a merge into a newer customer)
        where = [table.c[k] == row[k] for k in key]
        conn.execute(
            update(table).where(*where).values({c: v for c, v in row.items() if c not in key})
        )
    return count


def _advance_sequences(conn: Connection, tables: list[Table]) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            sequence = conn.execute(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            ).scalar()
            if sequence:
                conn.execute(
                    text(
                        f'SELECT setval(:s, coalesce((SELECT max("{column.name}") FROM '
                        f'"{table.name}"), 0) + 1, false)'
                    ),
                    {"s": sequence},
                )
