"""The public API of the loyalty plugin: the only module other plugins (tiers, transfers, lottery) import.

Every function takes the unit of work first; points are ints; errors are ``crmcore.api`` errors
(:class:`ValidationError` for bad input such as an overspend, :class:`NotFound`, :class:`Conflict`).
Writes lock the member's account row (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite),
so concurrent spends from one balance are serialised and never overspend.

- :func:`balance` — the member's current balance (0 for a non-member).
- :func:`credit` — add points as a new lot (``expires_at``: default the program's expiry rule, ``None`` never).
- :func:`debit` — spend points from lots in the program's spend order; ``entry.consumed`` lists the lots used.
- :func:`points_earned_between` — points earned from purchases in a window, net of refund reversals.
- :func:`active_program` — the active program; ``.sections[name]`` holds other plugins' validated sections.
- :func:`ledger`, :func:`lots` — a member's entries (oldest first) and open lots.

A repeated idempotency ``key`` returns the original entry and changes nothing; the same key for a different
operation is a :class:`Conflict`.
"""
from __future__ import annotations

from .ledger import (  # noqa: F401
    PROGRAM_EXPIRY, balance, credit, debit, entry_to_dict, ledger, lock_account, lots, points_earned_between,
)
from .models import LoyaltyAccount, LoyaltyEntry, LoyaltyLot, LoyaltyRedemption, LoyaltyVoucher  # noqa: F401
from .program import Program, Reward, Rule  # noqa: F401
from .programs import active_program  # noqa: F401

__all__ = [
    "PROGRAM_EXPIRY", "balance", "credit", "debit", "entry_to_dict", "ledger", "lock_account", "lots",
    "points_earned_between", "active_program", "Program", "Reward", "Rule",
    "LoyaltyAccount", "LoyaltyEntry", "LoyaltyLot", "LoyaltyRedemption", "LoyaltyVoucher",
]
