"""Autogenerate a plugin's (or the kernel's) next migration against a scratch database at all heads."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command

from ..errors import PluginError
from ..plugin_host import installed_manifests
from .base import Base
from .migrate import MIGRATIONS_DIR, alembic_config


def table_owner(table_name: str) -> str:
    """The plugin (or ``kernel``) whose models define ``table_name``."""
    owners = {m.package: n for n, m in installed_manifests().items()}
    for mapper in Base.registry.mappers:
        if (
            getattr(mapper, "local_table", None) is not None
            and mapper.local_table.name == table_name
        ):
            module = mapper.class_.__module__
            if module.startswith("crmcore."):
                return "kernel"
            return owners.get(module.split(".")[0], module.split(".")[0])
    return table_name.split("_")[0]


def autogenerate_revision(plugin: str, message: str, *, rev_id: str | None = None) -> str | None:
    from ..app import CRM

    manifests = installed_manifests()
    if plugin != "kernel" and plugin not in manifests:
        raise PluginError(f"unknown plugin {plugin!r}")
    with tempfile.TemporaryDirectory() as tmp:
        app = CRM(f"sqlite:///{tmp}/scratch.db", plugins=list(manifests))
        app.init()
        app.plugins.pm  # import every plugin's models
        if plugin == "kernel":
            version_path = MIGRATIONS_DIR / "versions"
        else:
            version_path = manifests[plugin].migrations_path()
            if version_path is None:
                raise PluginError(
                    f"plugin {plugin!r} declares no migrations package in its manifest"
                )
            version_path.mkdir(parents=True, exist_ok=True)
        has_revisions = any(Path(version_path).glob("*.py"))

        def include_object(obj, name, type_, reflected, compare_to):
            table = obj if type_ == "table" else getattr(obj, "table", None)
            tname = name if type_ == "table" else (table.name if table is not None else None)
            if tname is None:
                return True
            if tname == "alembic_version":
                return False
            return table_owner(tname) == plugin

        with app.engine.begin() as conn:
            cfg = alembic_config(conn)
            cfg.attributes["include_object"] = include_object
            kwargs = (
                {"head": f"{plugin}@head"}
                if has_revisions
                else {"head": "base", "branch_label": plugin}
            )
            script = command.revision(
                cfg,
                message=message,
                autogenerate=True,
                rev_id=rev_id,
                version_path=str(version_path),
                **kwargs,
            )
        app.dispose()
    if script is None:
        return None
    scripts = script if isinstance(script, list) else [script]
    path = scripts[0].path
    text = Path(path).read_text(encoding="utf-8")
    if "pass\n\n\ndef downgrade" in text and "op." not in text.split("def downgrade")[0]:
        Path(path).unlink()
        return None
    Path(path).write_text(
        text.replace("astext_type=Text()", "astext_type=sa.Text()"), encoding="utf-8"
    )
    return path
