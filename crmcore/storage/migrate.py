"""Alembic migrations: the kernel's branch (``kernel``) plus one branch per installed plugin.

Every installed plugin's ``versions`` directory is on the version path (so a disabled plugin's applied
revisions stay resolvable); only the branches of enabled plugins are upgraded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config

from ..plugin_host import (
    check_kernel_compatible,
    dependency_order,
    installed_manifests,
    set_state,
    stored_states,
)

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.engine import Connection

    from ..app import CRM

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: "Connection | None" = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [str(MIGRATIONS_DIR / "versions")]
    for manifest in installed_manifests().values():
        path = manifest.migrations_path()
        if path is not None and path.is_dir():
            locations.append(str(path))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", __import__("os").pathsep.join(locations))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade_branch(connection: "Connection", branch: str) -> None:
    command.upgrade(alembic_config(connection), f"{branch}@head")


def plugin_has_migrations(name: str) -> bool:
    m = installed_manifests().get(name)
    path = m.migrations_path() if m else None
    return bool(path and path.is_dir() and any(path.glob("*.py")))


def init_database(app: "CRM") -> list[str]:
    """Upgrade the kernel and the plugins to enable; record plugin states. One transaction.

    Plugins seen for the first time are enabled when what they require is installed too; ``CRM(plugins=…)``
    chooses the set exactly.
    """
    from sqlalchemy.orm import Session

    manifests = installed_manifests()
    done: list[str] = []
    from .locks import transaction_lock

    with app.engine.begin() as conn:  # app.engine refuses a database newer than this code
        transaction_lock(conn, "init")  # a second `crm init` waits, then finds all done
        upgrade_branch(conn, "kernel")
        done.append("kernel")
        session = Session(bind=conn)
        states = stored_states(session)
        if app._plugin_override is not None:
            wanted = set(app._plugin_override)
        else:
            wanted = {n for n, on in states.items() if on and n in manifests}
            wanted |= {n for n in manifests if n not in states}
        enabled: list[str] = []
        for name in dependency_order([n for n in wanted if n in manifests], manifests):
            m = manifests[name]
            if all(r in enabled for r in m.requires):
                check_kernel_compatible(m)
                enabled.append(name)
        for name in enabled:
            if plugin_has_migrations(name):
                upgrade_branch(conn, name)
            done.append(name)
        for name, m in manifests.items():
            if states.get(name) != (name in enabled) or name not in states:
                set_state(session, name, name in enabled, m.version)
        session.flush()
        session.close()
    app.reload_plugins()
    return done
