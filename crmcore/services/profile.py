"""The customer 360° view: sections contributed by plugins (hook ``crm_customer_profile``)."""
from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class ProfileSection:
    """One plugin's part of a customer profile. ``data`` must be JSON-ready."""

    key: str
    title: str
    data: dict[str, Any]
    title_fa: str | None = None
    order: int = 100


def profile_sections(uow, customer) -> list[ProfileSection]:
    sections = [s for s in uow.call("crm_customer_profile", customer=customer) if s is not None]
    return sorted(sections, key=lambda s: (s.order, s.key))
