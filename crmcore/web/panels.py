"""The customer page's panels: every enabled plugin's ``crm_customer_profile`` contribution (a
:class:`crmcore.ui.Panel`, or a deprecated :class:`ProfileSection`), each known by the plugin that gave it (so
per-plugin permissions apply). A plugin that fails, in its hook or when its panel is rendered, costs its own
panel, never the page."""
from __future__ import annotations

import logging
from typing import Any

import attrs

from ..services.profile import Contribution

log = logging.getLogger("crmcore.web")


@attrs.frozen
class PluginPanel:
    plugin: str
    section: Contribution | None
    error: str | None = None


def gather_panels(uow, customer, may_read) -> list[PluginPanel]:
    """Contributions of the plugins ``may_read(plugin)`` allows, in their ``order``."""
    panels: list[PluginPanel] = []
    for impl in uow.plugins.hook.crm_customer_profile.get_hookimpls():
        plugin = impl.plugin_name
        if not may_read(plugin):
            continue
        kwargs = {"uow": uow, "customer": customer}
        try:
            with uow.session.begin_nested():
                section = impl.function(*[kwargs[a] for a in impl.argnames])
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the customer
            log.exception("profile section of plugin %r failed for customer %s", plugin, customer.id)
            panels.append(PluginPanel(plugin, None, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        if section is not None:
            panels.append(PluginPanel(plugin, section))
    return sorted(panels, key=lambda p: (getattr(p.section, "order", 10**6), getattr(p.section, "key", p.plugin)))


def sections_json(panels: list[PluginPanel]) -> dict[str, Any]:
    """``{key: machine form}`` of the panels (``Panel.json()``: its ``data`` or what its components hold)."""
    out: dict[str, Any] = {}
    for p in panels:
        if p.section is None:
            continue
        try:
            out[p.section.key] = p.section.json()
        except Exception:  # noqa: BLE001 - a panel whose data cannot be read costs its own key
            log.exception("the data of plugin %r's panel could not be read", p.plugin)
    return out


def render_panels(web, panels: list[PluginPanel], *, lang: str, variables: dict[str, Any], may) -> list:
    """Each panel as HTML (:func:`crmcore.web.components.render_panel`); ``may(plugin, access)`` says
    whether the user may use an action of the plugin."""
    from .components import failed, render_panel

    shown = []
    for p in panels:
        if p.section is None:
            shown.append(failed(p.plugin, lang))
            continue
        shown.append(render_panel(web.templates, p.plugin, p.section, lang=lang, variables=variables,
                                  may=lambda access, plugin=p.plugin: may(plugin, access),
                                  panel_templates=web.contributions.panels))
    return shown
