"""The public API of the loyalty plugin: the only module other plugins (tiers, transfers, lottery) import.

Every function takes the unit of work first; points are ints; errors are ``crmcore.api`` errors
(:class:`ValidationError` for bad input such as an overspend, :class:`NotFound`, :class:`Conflict`).
Writes lock the member's account row (``SELECT … FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite),
so concurrent spends from one balance are serialised and never overspend.

- :func:`balance` — the member's current balance (0 for a non-member).
- :func:`credit` — add points as a new lot (``expires_at``: default the program's expiry rule, ``None`` never).
- :func:`debit` — spend points from lots in the program's spend order; ``entry.consumed`` lists the lots used.
- :func:`take_back` — reverse points given earlier (a refund of what earned them) under the program's
  negative-balance policy (allow negative, claw back from later earnings, or absorb).
- :func:`points_earned_between` — points earned from purchases in a window, net of refund reversals.
- :func:`active_program` — the active program; ``.sections[name]`` holds other plugins' validated sections.
- :func:`load_program` — validate and store program text as the next version (``crm loyalty program load``);
  returns ``(program, created)``. Plugins that own a section (tiers, transfers) use it in their demo data.
- :func:`ledger`, :func:`lots` — a member's entries (oldest first) and open lots.

A repeated idempotency ``key`` returns the original entry and changes nothing; the same key for a different
operation is a :class:`Conflict`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from . import ledger as _ledger
from .batch import drain as _drain
from .ledger import PROGRAM_EXPIRY, entry_to_dict  # noqa: F401
from .models import LoyaltyAccount, LoyaltyEntry, LoyaltyLot, LoyaltyRedemption, LoyaltyVoucher  # noqa: F401
from .program import Program, Reward, Rule  # noqa: F401
from .programs import active_program, load_program  # noqa: F401

# Every function first accrues the purchases queued in this unit of work (purchase events are accrued in
# batches), so what it reads or writes includes the purchases recorded just before it.


def balance(uow, customer_id: int) -> int:
    """The member's current balance (0 for a customer who never had points)."""
    _drain(uow)
    return _ledger.balance(uow, customer_id)


def credit(
    uow,
    customer_id: int,
    points: int,
    *,
    kind: str,
    reason: str,
    key: str | None = None,
    expires_at: Any = PROGRAM_EXPIRY,
    ref: str | None = None,
    interaction_id: int | None = None,
    occurred_at: datetime | None = None,
    details: dict | None = None,
) -> LoyaltyEntry:
    """Add ``points`` (> 0) as a new lot; emits ``loyalty_points_earned``.

    ``expires_at``: default the program's expiry rule applied to ``occurred_at`` (default now); a datetime to
    keep a lot's expiry (transfers); ``None`` for never. A repeated ``key`` returns the original entry.
    """
    _drain(uow)
    return _ledger.credit(
        uow,
        customer_id,
        points,
        kind=kind,
        reason=reason,
        key=key,
        expires_at=expires_at,
        ref=ref,
        interaction_id=interaction_id,
        occurred_at=occurred_at,
        details=details,
    )


def debit(
    uow,
    customer_id: int,
    points: int,
    *,
    kind: str,
    reason: str,
    key: str | None = None,
    ref: str | None = None,
    interaction_id: int | None = None,
    occurred_at: datetime | None = None,
    details: dict | None = None,
) -> LoyaltyEntry:
    """Spend ``points`` (> 0) from the lots in the program's spend order; emits ``loyalty_points_redeemed``.

    Refuses an overspend with ``ValidationError(field="points")``. ``entry.consumed`` lists the lots used as
    ``(lot_id, points, expires_at)``. A repeated ``key`` returns the original entry.
    """
    _drain(uow)
    return _ledger.debit(
        uow,
        customer_id,
        points,
        kind=kind,
        reason=reason,
        key=key,
        ref=ref,
        interaction_id=interaction_id,
        occurred_at=occurred_at,
        details=details,
    )


def take_back(
    uow,
    customer_id: int,
    points: int,
    *,
    kind: str,
    reason: str,
    key: str | None = None,
    ref: str | None = None,
    interaction_id: int | None = None,
    occurred_at: datetime | None = None,
    details: dict | None = None,
) -> LoyaltyEntry | None:
    """Take back ``points`` (> 0) given earlier; the part the member already spent follows the active
    program's negative-balance policy. A repeated ``key`` returns the first reversal."""
    _drain(uow)
    return _ledger.take_back(
        uow,
        customer_id,
        points,
        kind=kind,
        reason=reason,
        key=key,
        ref=ref,
        interaction_id=interaction_id,
        occurred_at=occurred_at,
        program=active_program(uow),
        details=details,
    )


def points_earned_between(uow, customer_id: int, start: datetime, end: datetime) -> int:
    """Points from purchases with ``start <= occurred_at < end``, net of refund reversals and claw-backs."""
    _drain(uow)
    return _ledger.points_earned_between(uow, customer_id, start, end)


def ledger(
    uow, customer_id: int, *, limit: int | None = None, newest_first: bool = False
) -> list[LoyaltyEntry]:
    """The member's entries in ``seq`` order (``newest_first`` to reverse)."""
    _drain(uow)
    return _ledger.ledger(uow, customer_id, limit=limit, newest_first=newest_first)


def lots(uow, customer_id: int, *, open_only: bool = True) -> list[LoyaltyLot]:
    """The member's lots (``points``, ``remaining``, ``earned_at``, ``expires_at``), open ones by default."""
    _drain(uow)
    return _ledger.lots(uow, customer_id, open_only=open_only)


def lock_account(uow, customer_id: int) -> LoyaltyAccount:
    """Lock the member's account row now (lock both sides of a transfer in customer-id order)."""
    _drain(uow)
    return _ledger.lock_account(uow, customer_id)


def redeem(
    uow, customer_id: int, reward_code: str, *, points: int | None = None, key: str | None = None
) -> LoyaltyRedemption:
    """Redeem a reward of the active program and issue its voucher (``voucher_of``)."""
    from .rewards import redeem_reward

    _drain(uow)
    return redeem_reward(uow, customer_id, reward_code, points=points, key=key)


def voucher_of(uow, redemption: LoyaltyRedemption) -> LoyaltyVoucher | None:
    from .rewards import voucher_of as _voucher_of

    return _voucher_of(uow, redemption)


__all__ = [
    "PROGRAM_EXPIRY",
    "balance",
    "credit",
    "debit",
    "entry_to_dict",
    "ledger",
    "lock_account",
    "lots",
    "points_earned_between",
    "take_back",
    "active_program",
    "load_program",
    "redeem",
    "voucher_of",
    "Program",
    "Reward",
    "Rule",
    "LoyaltyAccount",
    "LoyaltyEntry",
    "LoyaltyLot",
    "LoyaltyRedemption",
    "LoyaltyVoucher",
]


# -- pages on the kernel's UI contract, shared by the club's plugins (tiers, transfers) ----------
from .webkit import Block, Form, Input, attempt, form_value, page, refused_status  # noqa: E402,F401
