"""The customer page's panels: every enabled plugin's ``crm_customer_profile`` section, each known by the
plugin that gave it (so per-plugin permissions apply), rendered by the plugin's template (``crm_web_panels``)
or generically as a definition list. A plugin that fails costs its own panel, never the page."""
from __future__ import annotations

import logging
from typing import Any

import attrs

from ..services.profile import ProfileSection

log = logging.getLogger("crmcore.web")


@attrs.frozen
class Panel:
    plugin: str
    section: ProfileSection | None
    error: str | None = None


def gather_panels(uow, customer, may_read) -> list[Panel]:
    """Sections of the plugins ``may_read(plugin)`` allows, in the sections' order. The sections
    see the same rule as ``uow.may_read``, so one showing another plugin's data leaves it out when
    that is not allowed."""
    uow.may_read = may_read
    panels: list[Panel] = []
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
            panels.append(Panel(plugin, None, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        if section is not None:
            panels.append(Panel(plugin, section))
    return sorted(panels, key=lambda p: (p.section.order, p.section.key) if p.section else (10**6, p.plugin))


def sections_json(panels: list[Panel]) -> dict[str, Any]:
    return {p.section.key: p.section.data for p in panels if p.section is not None}
