"""Enable, disable and describe plugins (``crm plugins …``)."""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from sqlalchemy.orm import Session

from ..errors import PluginError
from ..hooks import PROJECT
from ..plugin_host import (
    check_can_disable,
    check_can_enable,
    check_kernel_compatible,
    installed_manifests,
    set_state,
    stored_states,
)


def _states(app) -> dict[str, bool]:
    from sqlalchemy.exc import OperationalError, ProgrammingError

    try:
        with app.sessionmaker() as session, session.begin():
            return stored_states(session)
    except (OperationalError, ProgrammingError):
        from ..errors import SchemaError
        from ..storage.schema import NOT_INITIALISED

        raise SchemaError(NOT_INITIALISED) from None


def enable_plugin(app, name: str) -> list[str]:
    """Enable ``name`` (its requirements must be enabled) and migrate its branch; one transaction."""
    from ..storage.migrate import plugin_has_migrations, upgrade_branch

    manifests = installed_manifests()
    enabled = [n for n, on in _states(app).items() if on]
    if name in enabled:
        return []
    manifest = check_can_enable(name, enabled, manifests)
    with app.engine.begin() as conn:
        if plugin_has_migrations(name):
            upgrade_branch(conn, name)
        session = Session(bind=conn)
        set_state(session, name, True, manifest.version)
        session.flush()
        session.close()
    app.reload_plugins()
    return [name]


def disable_plugin(app, name: str) -> None:
    """Disable ``name``; refused while an enabled plugin requires it. Its tables and data stay."""
    manifests = installed_manifests()
    states = _states(app)
    enabled = [n for n, on in states.items() if on]
    check_can_disable(name, enabled, manifests)
    with app.engine.begin() as conn:
        session = Session(bind=conn)
        set_state(session, name, False, manifests[name].version)
        session.flush()
        session.close()
    app.reload_plugins()


def _marked(module_name: str | None, marker: str) -> list[str]:
    """Names of the module's own functions carrying a pluggy marker (``crmcore_impl`` / ``crmcore_spec``)."""
    if not module_name:
        return []
    module = importlib.import_module(module_name)
    return sorted(
        name
        for name, obj in vars(module).items()
        if inspect.isfunction(obj) and isinstance(getattr(obj, f"{PROJECT}_{marker}", None), dict)
    )


def implemented_hooks(module_name: str | None) -> list[str]:
    return _marked(module_name, "impl")


def declared_hooks(module_name: str | None) -> list[str]:
    return _marked(module_name, "spec")


def per_row_only(hooks: list[str]) -> list[str]:
    """Of these implemented hooks, the per-row ones whose batch form is missing: bulk imports call
    them row by row with ORM objects (the slower path, :mod:`crmcore.batches`)."""
    from ..batches import BATCH_FORMS

    return sorted(h for h in hooks if h in BATCH_FORMS and BATCH_FORMS[h] not in hooks)


def import_paths(app) -> dict[str, list[str]]:
    """Enabled plugin → the per-row hooks it implements without their batch form (only plugins with
    some)."""
    from ..batches import BATCH_FORMS

    out: dict[str, list[str]] = {}
    for row_hook, batch_hook in BATCH_FORMS.items():
        for name in app.plugins.row_only_plugins(row_hook, batch_hook):
            out.setdefault(name, []).append(row_hook)
    return {name: sorted(hooks) for name, hooks in out.items()}


def describe_plugins(app, *, with_hooks: bool = True) -> list[dict[str, Any]]:
    states = _states(app)
    out = []
    for name, m in installed_manifests().items():
        try:
            check_kernel_compatible(m)
            compatible = True
        except PluginError:
            compatible = False
        item = {
            "name": name,
            "version": m.version,
            "description": m.description,
            "enabled": bool(states.get(name)),
            "requires": list(m.requires),
            "kernel": m.kernel,
            "compatible": compatible,
            "distribution": m.distribution or f"crmcore-{name}",
        }
        if with_hooks:
            item["hooks"] = implemented_hooks(m.hooks)
            item["hookspecs"] = declared_hooks(m.hookspecs)
            item["per_row_import_hooks"] = per_row_only(item["hooks"])
        out.append(item)
    return out
