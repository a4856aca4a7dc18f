"""Databases for tests: a migrated SQLite template copied per test, or a PostgreSQL schema per test session
truncated after each test. Both are created and dropped by the fixtures; nothing outlives the run."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from sqlalchemy.engine import make_url

ENV = "CRM_TEST_DATABASE_URL"


def postgres_base_url() -> str | None:
    url = os.environ.get(ENV)
    if not url:
        return None
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


def migrate_all(url: str) -> None:
    from ..app import CRM
    from ..plugin_host import installed_manifests

    app = CRM(url, plugins=list(installed_manifests()))
    app.init()
    app.dispose()


class SQLiteTemplate:
    def __init__(self, directory: Path):
        self.directory = directory
        self.template = directory / "template.db"
        migrate_all(f"sqlite:///{self.template}")

    def fresh(self, target_dir: Path) -> str:
        target = target_dir / "crm.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"

    def empty(self, target_dir: Path) -> str:
        return f"sqlite:///{target_dir / 'empty.db'}"


class PostgresSchemas:
    """One migrated schema per test session; tables truncated after each test; dropped at the end."""

    def __init__(self, base_url: str):
        from sqlalchemy import create_engine

        self.base_url = base_url
        self.admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
        self.schema = f"crm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._created: list[str] = []
        self._probe: str | None = None
        self._reset: str | None = None
        self._create(self.schema)
        self.url = with_search_path(base_url, self.schema)
        migrate_all(self.url)
        with self.admin.connect() as conn:
            self.tables = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version'"
                    ),
                    {"s": self.schema},
                )
            ]

    def _create(self, schema: str) -> None:
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        self._created.append(schema)

    def truncate(self) -> None:
        """Empty the tables a test wrote to and restart every id sequence.

        Truncating all tables after every test is slow (each takes a lock and new files), so only the
        non-empty ones are truncated; sequences are reset separately because a rolled-back insert advances
        them too.
        """
        if not self.tables:
            return
        with self.admin.connect() as conn:
            if self._probe is None:
                self._probe = " UNION ALL ".join(
                    f'SELECT \'{t}\' WHERE EXISTS (SELECT 1 FROM "{self.schema}"."{t}")'
                    for t in self.tables
                )
                seqs = [
                    r[0]
                    for r in conn.execute(
                        text(
                            "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = :s"
                        ),
                        {"s": self.schema},
                    )
                ]
                self._reset = (
                    "SELECT "
                    + ", ".join(f'setval(\'"{self.schema}"."{q}"\', 1, false)' for q in seqs)
                    if seqs
                    else None
                )
            dirty = [r[0] for r in conn.execute(text(self._probe))]
            if dirty:
                names = ", ".join(f'"{self.schema}"."{t}"' for t in dirty)
                conn.execute(text(f"TRUNCATE {names} CASCADE"))
            if self._reset:
                conn.execute(text(self._reset))

    def empty(self) -> str:
        schema = f"crm_empty_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        self._create(schema)
        return with_search_path(self.base_url, schema)

    def drop_empty(self) -> None:
        for schema in self._created[1:]:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        del self._created[1:]

    def close(self) -> None:
        with self.admin.connect() as conn:
            for schema in self._created:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        self.admin.dispose()


def backend_name(url: str) -> str:
    return make_url(url).get_backend_name()
