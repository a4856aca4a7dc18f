"""Settings stored in the database, by namespace (a plugin's name, or ``kernel``) and key; values are JSON."""

from __future__ import annotations

from typing import Any

from ..storage.models import Setting


def get_setting(uow, namespace: str, key: str, default: Any = None) -> Any:
    row = uow.session.get(Setting, (namespace, key))
    return default if row is None else row.value


def set_setting(uow, namespace: str, key: str, value: Any) -> None:
    """Store ``value`` (JSON-ready) and record the change in the audit log."""
    row = uow.session.get(Setting, (namespace, key))
    old = None if row is None else row.value
    if row is None:
        uow.session.add(Setting(namespace=namespace, key=key, value=value))
    else:
        row.value = value
    uow.audit("set", "setting", f"{namespace}.{key}", {"old": old, "new": value})


def settings_of(uow, namespace: str) -> dict[str, Any]:
    from sqlalchemy import select

    return {
        s.key: s.value
        for s in uow.session.scalars(select(Setting).where(Setting.namespace == namespace))
    }
