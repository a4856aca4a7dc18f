"""The customer page's panels: every enabled plugin's ``crm_customer_profile`` contribution (a
:class:`crmcore.ui.Panel`, or a deprecated :class:`ProfileSection`), each known by the plugin that
gave it (so
per-plugin permissions apply). A plugin that fails, in its hook or when its panel is rendered, costs
its own
panel, never the page."""

from __future__ import annotations

import logging
from typing import Any

# the web's panels are the kernel's
from ..services.profile import PluginPanel, gather_panels  # noqa: F401

log = logging.getLogger("crmcore.web")


def sections_json(panels: list[PluginPanel]) -> dict[str, Any]:
    """``{key: machine form}`` of the panels (``Panel.json()``: its ``data`` or what its components
    hold)."""
    out: dict[str, Any] = {}
    for p in panels:
        if p.section is None:
            continue
        try:
            out[p.section.key] = p.section.json()
        except Exception:  # noqa: BLE001 - a panel whose data cannot be read costs its own key
            log.exception("the data of plugin %r's panel could not be read", p.plugin)
    return out


def render_panels(
    web, panels: list[PluginPanel], *, lang: str, variables: dict[str, Any], may
) -> list:
    """Each panel as HTML (:func:`crmcore.web.components.render_panel`); ``may(plugin, access)``
    says
    whether the user may use an action of the plugin."""
    from .components import failed, render_panel

    shown = []
    for p in panels:
        if p.section is None:
            shown.append(failed(p.plugin, lang))
            continue
        shown.append(
            render_panel(
                web.templates,
                p.plugin,
                p.section,
                lang=lang,
                variables=variables,
                may=lambda access, plugin=p.plugin: may(plugin, access),
                panel_templates=web.contributions.panels,
            )
        )
    return shown
