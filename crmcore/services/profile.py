"""The customer 360° view: panels contributed by plugins (hook ``crm_customer_profile``).

Plugins return a :class:`crmcore.ui.Panel` of typed components. The older :class:`ProfileSection` (a dict
shown as a generic key/value list) is accepted for one more release with a ``DeprecationWarning``."""
from __future__ import annotations

import warnings
from typing import Any, Union

import attrs

from ..ui import Panel


@attrs.frozen
class ProfileSection:
    """Deprecated: one plugin's part of a customer profile as a JSON-ready dict (``data``), rendered as a
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
    warnings.warn(f"{who} returned a ProfileSection from crm_customer_profile; return a crmcore.ui.Panel of "
                  "components instead (ProfileSection is removed in the next release)",
                  DeprecationWarning, stacklevel=3)


def profile_sections(uow, customer) -> list[Contribution]:
    """Every plugin's panel (or deprecated section) for ``customer``, by ``order`` then ``key``."""
    sections = [s for s in uow.call("crm_customer_profile", customer=customer) if s is not None]
    for s in sections:
        if isinstance(s, ProfileSection):
            warn_deprecated(s)
    return sorted(sections, key=lambda s: (s.order, s.key))
