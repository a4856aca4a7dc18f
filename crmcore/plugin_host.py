"""The plugin host: discovery through entry points, enable/disable state, dependency and version checks,
and the pluggy PluginManager built for the enabled set."""

from __future__ import annotations

import difflib
import importlib
import os
from functools import lru_cache
from importlib.metadata import entry_points
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any, Iterable

import pluggy

from . import __version__
from .errors import PluginError, PluginHookError
from .hooks import PROJECT, SPEC_MODULES, spec_functions
from .plugin import PluginManifest

if TYPE_CHECKING:  # pragma: no cover
    from sqlalchemy.orm import Session

ENTRY_POINT_GROUP = "crmcore.plugins"
KERNEL = "kernel"


def installed_manifests() -> dict[str, PluginManifest]:
    """Every installed plugin's manifest, by name (entry points of group ``crmcore.plugins``); a
    plugin whose package cannot be imported is left out (:func:`broken_plugins`)."""
    return _discover()[0]


def broken_plugins() -> dict[str, str]:
    """Plugins whose distribution is installed but whose package cannot be imported (a half-removed
    install), by entry-point name: a one-line message naming it and how to remove it. Such a plugin
    is treated as not installed, so every command that does not need it keeps working."""
    return _discover()[1]


@lru_cache(maxsize=1)
def _discover() -> tuple[dict[str, PluginManifest], dict[str, str]]:
    found: dict[str, PluginManifest] = {}
    broken: dict[str, str] = {}
    only = {n.strip() for n in os.environ.get("CRMCORE_PLUGINS_ONLY", "").split(",") if n.strip()}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if only and ep.name not in only:
            continue  # discovery restricted (developing one plugin beside half-built others)
        try:
            manifest = ep.load()
        except Exception as exc:  # noqa: BLE001 - any import failure: that plugin is unusable
            dist = getattr(getattr(ep, "dist", None), "name", None) or ep.name
            detail = " ".join(str(exc).split()) or type(exc).__name__
            broken[ep.name] = (
                f"plugin {ep.name!r} is installed (distribution {dist}) but cannot "
                f"be imported ({type(exc).__name__}: {detail}); remove it with: "
                f"pip uninstall {dist}"
            )
            continue
        if not isinstance(manifest, PluginManifest):
            raise PluginError(
                f"entry point {ep.name!r} ({ep.value}) is not a crmcore PluginManifest"
            )
        found[manifest.name] = manifest
    return dict(sorted(found.items())), broken


def check_kernel_compatible(manifest: PluginManifest) -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.version import Version

    try:
        spec = SpecifierSet(manifest.kernel)
    except InvalidSpecifier:
        raise PluginError(
            f"plugin {manifest.name!r} declares an invalid kernel range {manifest.kernel!r}"
        ) from None
    if Version(__version__) not in spec:
        raise PluginError(
            f"plugin {manifest.name!r} {manifest.version} is built for crmcore {manifest.kernel}, "
            f"but this kernel is {__version__}; install a matching version of the plugin"
        )


def dependency_order(names: Iterable[str], manifests: dict[str, PluginManifest]) -> list[str]:
    """Order plugin names so each comes after what it requires."""
    ordered: list[str] = []
    seen: set[str] = set()
    wanted = set(names)

    def visit(name: str, stack: tuple[str, ...]) -> None:
        if name in seen:
            return
        if name in stack:
            raise PluginError(
                f"plugins require each other in a cycle: {' -> '.join(stack + (name,))}"
            )
        for req in manifests[name].requires:
            if (
                req in wanted
            ):  # order only what was asked for; a missing requirement is reported elsewhere
                visit(req, stack + (name,))
        seen.add(name)
        ordered.append(name)

    for n in sorted(wanted):
        visit(n, ())
    return ordered


class PluginHost:
    """Knows the installed plugins, which are enabled, and owns the pluggy manager for the enabled ones."""

    def __init__(
        self,
        enabled: Iterable[str],
        manifests: dict[str, PluginManifest] | None = None,
        extra_plugins: Iterable[tuple[str, object, ModuleType | None]] = (),
    ):
        self.manifests = installed_manifests() if manifests is None else manifests
        self.enabled = dependency_order(list(enabled), self.manifests)
        self._extra = list(extra_plugins)
        self._pm: pluggy.PluginManager | None = None
        self._prefixes: dict[str, str] = {}
        self._events: frozenset[str] | None = None
        self._row_only: dict[tuple[str, str], Any] = {}

    # --- the pluggy manager -------------------------------------------------------------------------
    @property
    def pm(self) -> pluggy.PluginManager:
        if self._pm is None:
            self._pm = self._build()
        return self._pm

    def _build(self) -> pluggy.PluginManager:
        pm = pluggy.PluginManager(PROJECT)
        for mod in SPEC_MODULES:
            pm.add_hookspecs(importlib.import_module(mod))
        for name in self.enabled:
            m = self.manifests[name]
            if m.hookspecs:
                pm.add_hookspecs(importlib.import_module(m.hookspecs))
        for name, _obj, specs in self._extra:
            if specs is not None:
                pm.add_hookspecs(specs)
        from . import kernel_hooks

        pm.register(kernel_hooks, name=KERNEL)
        self._prefixes["crmcore."] = KERNEL
        # pluggy calls the last registered implementation first; registering dependants before what they
        # require makes every hook run in dependency order (loyalty before tiers, the kernel's own last)
        for name in reversed(self.enabled):
            m = self.manifests[name]
            check_kernel_compatible(m)
            for req in m.requires:
                if req not in self.enabled:
                    raise PluginError(
                        f"plugin {name!r} requires {req!r}, which is not "
                        f"{'enabled' if req in self.manifests else 'installed'}"
                    )
            if m.models:
                importlib.import_module(m.models)
            if m.hooks:
                module = importlib.import_module(m.hooks)
                pm.register(module, name=name)
            self._prefixes[m.package + "."] = name
        for name, obj, _specs in self._extra:
            pm.register(obj, name=name)
            modname = obj.__name__ if isinstance(obj, ModuleType) else type(obj).__module__
            self._prefixes[modname + "."] = name
            self._prefixes[modname] = name
        self._check_unknown_hooks(pm)
        return pm

    def _check_unknown_hooks(self, pm: pluggy.PluginManager) -> None:
        """Refuse an implementation of a hook nobody declares (a misspelled ``crm_customer_merged``
        would otherwise register silently and never be called). A hook declared by an installed
        plugin that is not enabled is an optional one (transfers answering referrals' question)."""
        unknown = [
            (impl.plugin_name, name)
            for name, caller in vars(pm.hook).items()
            if isinstance(caller, pluggy.HookCaller) and not caller.has_spec()
            for impl in caller.get_hookimpls()
            if not impl.optionalhook
        ]
        if not unknown:
            return
        declared = set(_spec_names(SPEC_MODULES))
        declared.update(_spec_names(m.hookspecs for m in self.manifests.values() if m.hookspecs))
        for plugin, name in unknown:
            if name in declared:
                continue
            near = difflib.get_close_matches(name, sorted(declared), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise PluginError(
                f"plugin {plugin!r} implements {name!r}, which no hook specification declares{hint}"
            )

    @property
    def hook(self):
        return self.pm.hook

    @property
    def events(self) -> frozenset[str]:
        """Every event name a unit of work may emit: the hook specifications and the outbox-only
        events the enabled plugins declare (``OUTBOX_EVENTS`` in their hookspecs module)."""
        if self._events is None:
            names = {
                name
                for name, caller in vars(self.pm.hook).items()
                if isinstance(caller, pluggy.HookCaller) and caller.has_spec()
            }
            for name in self.enabled:
                manifest = self.manifests.get(name)
                if manifest is not None and manifest.hookspecs:
                    module = importlib.import_module(manifest.hookspecs)
                    names.update(getattr(module, "OUTBOX_EVENTS", ()))
            for _name, obj, specs in self._extra:
                names.update(getattr(specs, "OUTBOX_EVENTS", ()), getattr(obj, "OUTBOX_EVENTS", ()))
            self._events = frozenset(names)
        return self._events

    def check_event(self, name: str) -> None:
        """Refuse an event nobody declared: a misspelled ``emit`` would otherwise start a new kind
        of outbox row that no worker or trigger ever reads."""
        if name not in self.events:
            near = difflib.get_close_matches(name, sorted(self.events), n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise PluginError(
                f"no hook specification or OUTBOX_EVENTS entry declares the event {name!r}{hint}"
            )

    def call(self, hook_name: str, **kwargs: Any) -> list[Any]:
        """Call a hook; if an implementation raises, raise :class:`PluginHookError` naming the plugin."""
        caller = getattr(self.pm.hook, hook_name)
        try:
            return caller(**kwargs)
        except PluginHookError:
            raise
        except Exception as exc:
            plugin = self.blame(exc.__traceback__)
            if plugin is None or plugin == KERNEL:
                raise
            raise PluginHookError(plugin, hook_name, exc) from exc

    def call_one(self, impl, hook_name: str, **kwargs: Any) -> Any:
        """Call one implementation of a hook (a pluggy ``HookImpl`` from ``get_hookimpls()``) with the
        arguments it asks for, when the caller needs to know which plugin answered what; a raising plugin is
        named as by :meth:`call`."""
        try:
            return impl.function(*[kwargs[name] for name in impl.argnames])
        except PluginHookError:
            raise
        except Exception as exc:
            if impl.plugin_name == KERNEL:
                raise
            raise PluginHookError(impl.plugin_name, hook_name, exc) from exc

    def row_only_caller(self, row_hook: str, batch_hook: str):
        """A caller of ``row_hook`` for the plugins that do not implement ``batch_hook`` (its batch
        form: they get it instead), or ``None`` when there are none. Pluggy's subset caller keeps
        the order."""
        key = (row_hook, batch_hook)
        if key not in self._row_only:
            pm = self.pm
            batch_caller = getattr(pm.hook, batch_hook, None)
            impls = batch_caller.get_hookimpls() if batch_caller else []
            batched = {i.plugin_name for i in impls}
            row_caller = getattr(pm.hook, row_hook)
            rest = [i for i in row_caller.get_hookimpls() if i.plugin_name not in batched]
            self._row_only[key] = (
                pm.subset_hook_caller(
                    row_hook, remove_plugins=[pm.get_plugin(name) for name in batched]
                )
                if rest
                else None
            )
        return self._row_only[key]

    def row_only_plugins(self, row_hook: str, batch_hook: str) -> list[str]:
        """The plugins implementing ``row_hook`` but not ``batch_hook`` (kernel excluded)."""
        caller = self.row_only_caller(row_hook, batch_hook)
        return (
            []
            if caller is None
            else [i.plugin_name for i in caller.get_hookimpls() if i.plugin_name != KERNEL]
        )

    def call_caller(self, caller, hook_name: str, **kwargs: Any) -> list[Any]:
        """:meth:`call` through a caller of :meth:`row_only_caller`."""
        try:
            return caller(**kwargs)
        except PluginHookError:
            raise
        except Exception as exc:
            plugin = self.blame(exc.__traceback__)
            if plugin is None or plugin == KERNEL:
                raise
            raise PluginHookError(plugin, hook_name, exc) from exc

    def blame(self, tb: TracebackType | None) -> str | None:
        """The plugin whose code raised: the outermost traceback frame inside a registered plugin."""
        while tb is not None:
            modname = tb.tb_frame.f_globals.get("__name__", "")
            for prefix, plugin in self._prefixes.items():
                if plugin != KERNEL and (modname + ".").startswith(
                    prefix if prefix.endswith(".") else prefix + "."
                ):
                    return plugin
            tb = tb.tb_next
        return None

    def implemented_hooks(self, name: str) -> list[str]:
        plugin = self.pm.get_plugin(name)
        if plugin is None:
            return []
        return sorted(h.name for h in self.pm.get_hookcallers(plugin) or [])

    def is_enabled(self, name: str) -> bool:
        """Enabled: an installed plugin in the enabled set, or an object registered with ``extra_plugins``."""
        return name in self.enabled or any(extra[0] == name for extra in self._extra)


# --- state stored in the database ---------------------------------------------------------------------
def stored_states(session: "Session") -> dict[str, bool]:
    from sqlalchemy import select

    from .storage.models import PluginState

    return {s.name: s.enabled for s in session.scalars(select(PluginState))}


def set_state(session: "Session", name: str, enabled: bool, version: str | None) -> None:
    from .domain.dates import utcnow
    from .storage.models import PluginState

    state = session.get(PluginState, name)
    if state is None:
        state = PluginState(name=name)
        session.add(state)
    state.enabled = enabled
    state.version = version
    state.changed_at = utcnow()


def check_can_enable(
    name: str, enabled: Iterable[str], manifests: dict[str, PluginManifest]
) -> PluginManifest:
    if name not in manifests:
        known = ", ".join(manifests) or "none installed"
        raise PluginError(f"unknown plugin {name!r} (installed: {known})")
    m = manifests[name]
    check_kernel_compatible(m)
    enabled = set(enabled)
    missing = [r for r in m.requires if r not in enabled]
    if missing:
        req = missing[0]
        how = (
            f"enable it first: crm plugins enable {req}"
            if req in manifests
            else f"install it first: pip install crmcore-{req}"
        )
        raise PluginError(
            f"plugin {name!r} requires {req!r}, which is not "
            f"{'enabled' if req in manifests else 'installed'}; {how}"
        )
    return m


def check_can_disable(
    name: str, enabled: Iterable[str], manifests: dict[str, PluginManifest]
) -> None:
    if name not in manifests:
        raise PluginError(f"unknown plugin {name!r} (installed: {', '.join(manifests) or 'none'})")
    dependants = [
        n
        for n in enabled
        if n != name and name in manifests.get(n, PluginManifest(n, "", "")).requires
    ]
    if dependants:
        raise PluginError(
            f"plugin {name!r} is required by {', '.join(dependants)}; disable "
            f"{'it' if len(dependants) == 1 else 'them'} first"
        )


def _spec_names(modules: Iterable[str]) -> Iterable[str]:
    for mod in modules:
        yield from (fn.__name__ for fn in spec_functions(importlib.import_module(mod)))
