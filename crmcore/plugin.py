"""The manifest a plugin distribution exposes through the ``crmcore.plugins`` entry-point group.

A plugin's ``pyproject.toml`` declares::

    [project.entry-points."crmcore.plugins"]
    loyalty = "crmcore_loyalty.plugin:manifest"

and ``crmcore_loyalty/plugin.py`` builds a :class:`PluginManifest`. The manifest module must stay cheap to
import (no SQLAlchemy models): ``crm --help`` reads every manifest, and the plugin's hook implementations,
CLI group and hook specs are only imported when they are used (dotted paths below).
"""

from __future__ import annotations

from pathlib import Path

import attrs


@attrs.frozen
class PluginManifest:
    #: short name, used by ``crm plugins enable NAME`` and as the Alembic branch label
    name: str
    version: str
    description: str
    #: names of plugins that must be enabled first (transfers requires ("loyalty",))
    requires: tuple[str, ...] = ()
    #: plugins whose public ``api`` this one calls when they are enabled too (lottery sells entries
    #: for loyalty points when loyalty is there); everything else works without them
    uses: tuple[str, ...] = ()
    #: PEP 440 range of kernel versions this plugin is built for
    kernel: str = ">=0.1,<0.2"
    #: module holding the ``@hookimpl`` functions (imported when the plugin is enabled)
    hooks: str | None = None
    #: module holding the plugin's own ``@hookspec`` declarations (events other plugins can implement)
    hookspecs: str | None = None
    #: ``module:attribute`` of the click group added under ``crm`` (imported when invoked)
    cli: str | None = None
    #: the word under ``crm`` for the CLI group (default: the plugin's name; messaging uses "messages")
    cli_name: str | None = None
    #: one-line help of the CLI group, shown by ``crm --help`` without importing the group
    cli_help: str | None = None
    #: ``package`` whose ``migrations/versions`` directory is this plugin's Alembic branch
    migrations: str | None = None
    #: module whose import defines the plugin's SQLAlchemy models
    models: str | None = None
    #: distribution name on PyPI (crmcore-loyalty)
    distribution: str | None = None

    @property
    def package(self) -> str:
        target = self.hooks or self.cli or self.models or ""
        return target.split(".")[0].split(":")[0]

    def migrations_path(self) -> Path | None:
        if not self.migrations:
            return None
        import importlib.util

        spec = importlib.util.find_spec(self.migrations)
        if spec is None or not spec.submodule_search_locations:
            return None
        return Path(list(spec.submodule_search_locations)[0]) / "versions"
