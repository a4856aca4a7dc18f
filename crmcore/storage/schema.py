"""Whether a database's schema fits this code: initialised at all, and not newer than this crmcore's
migrations (old code on an upgraded database would misread it). Asked without importing Alembic: the
revisions are read from the migration files' text."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy import inspect, text

from ..errors import SchemaError

KERNEL_VERSIONS = Path(__file__).parent / "migrations" / "versions"
#: a kernel revision id (``k0005_contacts``); plugins' revision ids start with their own names
KERNEL_REVISION = re.compile(r"k\d{4}_\w+")
NOT_INITIALISED = "this database is not initialised (no schema); run: crm init"


@lru_cache(maxsize=1)
def kernel_revisions() -> tuple[str, ...]:
    """This code's kernel revision ids, oldest first."""
    found = []
    for path in KERNEL_VERSIONS.glob("k*.py"):
        match = re.search(r"^revision = ['\"](.+?)['\"]", path.read_text(encoding="utf-8"), re.M)
        if match:
            found.append(match.group(1))
    return tuple(sorted(found))


def check_not_newer(connection) -> None:
    """Raise :class:`SchemaError` when the database's kernel revision is one this code does not know
    (a newer crmcore migrated it). A database without the version table passes (``crm init`` creates
    it)."""
    if not inspect(connection).has_table("alembic_version"):
        return
    stored = [r[0] for r in connection.execute(text("SELECT version_num FROM alembic_version"))]
    known = kernel_revisions()
    for revision in stored:
        if KERNEL_REVISION.fullmatch(revision) and revision not in known:
            raise SchemaError(
                f"this database is newer than this crmcore (database {revision}, this crmcore "
                f"{known[-1]}); upgrade crmcore"
            )


def older_message(engine) -> str | None:
    """When the database's kernel schema is behind this code's (crmcore upgraded, ``crm init`` not run
    since): what to say; else ``None``."""
    with engine.connect().execution_options(crm_begin="DEFERRED") as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        stored = [r[0] for r in conn.execute(text("SELECT version_num FROM alembic_version"))]
    known = kernel_revisions()
    for revision in stored:
        if revision in known and revision != known[-1]:
            return (
                f"this database is older than this crmcore (database {revision}, this crmcore "
                f"{known[-1]}); run: crm init"
            )
    return None


def is_initialised(engine) -> bool:
    """Whether the kernel's schema exists (its version table is there)."""
    return inspect(engine).has_table("alembic_version")
