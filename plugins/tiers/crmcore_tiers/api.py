"""The public API of the tiers plugin, for plugins that cooperate with it (messaging congratulating a member).

- :func:`ladder` — the active ladder (``None`` without a ``[[tiers]]`` section); ``ladder.get(name)`` gives a
  tier's ``title``, ``title_fa``, ``rank``, ``multiplier``, ``discount_percent`` and ``perks``.
- :func:`tier_of` — a customer's current :class:`Tier` (the base tier for customers who never joined).
- :func:`history` — the customer's tier changes, oldest first (``old_tier``, ``new_tier``, ``direction``,
  ``reason``, ``occurred_at``).
"""

from __future__ import annotations

from .ladder import Ladder, Tier  # noqa: F401
from .models import TierChange  # noqa: F401
from .service import change_to_dict  # noqa: F401
from .service import history as _history
from .service import ladder_of as _ladder_of
from .service import tier_of as _tier_of


def ladder(uow) -> Ladder | None:
    return _ladder_of(uow)


def tier_of(uow, customer_id: int) -> Tier | None:
    """The customer's tier, or ``None`` when the active program has no ladder."""
    lad = _ladder_of(uow)
    return None if lad is None else _tier_of(uow, lad, customer_id)


def history(uow, customer_id: int) -> list[TierChange]:
    return _history(uow, customer_id)


__all__ = ["Ladder", "Tier", "TierChange", "change_to_dict", "history", "ladder", "tier_of"]
