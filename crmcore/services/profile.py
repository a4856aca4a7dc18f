"""The customer 360° view: panels contributed by plugins (hook ``crm_customer_profile``).

Plugins return a :class:`crmcore.ui.Panel` of typed components. The older :class:`ProfileSection` (a
dict
shown as a generic key/value list) is accepted for one more release with a
``DeprecationWarning``."""

from __future__ import annotations

import logging
import warnings
from typing import Any, Callable, Union

import attrs

from ..ui import Panel

log = logging.getLogger("crmcore.profile")


@attrs.frozen
class ProfileSection:
    """Deprecated: one plugin's part of a customer profile as a JSON-ready dict (``data``), rendered
    as a
    generic key/value list. Return a :class:`crmcore.ui.Panel` instead."""

    key: str
    title: str
    data: dict[str, Any]
    title_fa: str | None = None
    order: int = 100

    def json(self) -> dict[str, Any]:
        return self.data


#: what ``crm_customer_profile`` may return
Contribution = Union[Panel, ProfileSection]


def warn_deprecated(section: ProfileSection, plugin: str | None = None) -> None:
    who = f"plugin {plugin!r}" if plugin else f"the section {section.key!r}"
    warnings.warn(
        f"{who} returned a ProfileSection from crm_customer_profile; return a crmcore.ui.Panel of "
        "components instead (ProfileSection is removed in the next release)",
        DeprecationWarning,
        stacklevel=3,
    )


def profile_sections(uow, customer) -> list[Contribution]:
    """Every plugin's panel (or deprecated section) for ``customer``, by ``order`` then ``key``."""
    sections = [s for s in uow.call("crm_customer_profile", customer=customer) if s is not None]
    for s in sections:
        if isinstance(s, ProfileSection):
            warn_deprecated(s)
    return sorted(sections, key=lambda s: (s.order, s.key))


@attrs.frozen
class PluginPanel:
    """What one plugin contributed to a customer's profile, or the error its hook raised."""

    plugin: str
    section: Contribution | None
    error: str | None = None


def gather_panels(
    uow, customer, may_read: Callable[[str], bool] = lambda plugin: True
) -> list[PluginPanel]:
    """Every contribution of the plugins ``may_read(plugin)`` allows, each known by its plugin and
    in their ``order``. A plugin whose hook raises costs its own panel (the error is logged with its
    name and kept in ``error``), never the profile: each hook runs in its own savepoint. The panels
    see the same rule as ``uow.may_read``, so one showing another plugin's data leaves it out when
    that is not allowed."""
    uow.may_read = may_read
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
            log.exception(
                "profile section of plugin %r failed for customer %s", plugin, customer.id
            )
            panels.append(PluginPanel(plugin, None, f"{type(exc).__name__}: {exc}"[:300]))
            continue
        if section is not None:
            panels.append(PluginPanel(plugin, section))
    return sorted(
        panels,
        key=lambda p: (getattr(p.section, "order", 10**6), getattr(p.section, "key", p.plugin)),
    )
