"""Members and their tiers: joining, upgrades when a purchase crosses a threshold, the earning multiplier, and
the history of every change.

Downgrades happen only at evaluation (:mod:`crmcore_tiers.evaluation`).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from crmcore.api import Customer, ValidationError

from .ladder import Ladder, Tier
from .models import TierChange, TierMember
from .qualify import TICK, Evidence, Measurer, qualified_tier

UNDRAINED = "tiers.undrained"


def ladder_of(uow) -> Ladder | None:
    """The ladder of the active loyalty program (``None`` when its file has no ``[[tiers]]``)."""
    from crmcore_loyalty import api as loyalty

    return loyalty.active_program(uow).sections.get("tiers")


def require_ladder(uow) -> Ladder:
    ladder = ladder_of(uow)
    if ladder is None:
        raise ValidationError(
            "the active loyalty program has no tier ladder: add [[tiers]] blocks to the program "
            "file and load it with `crm loyalty program load FILE`",
            field="tiers",
        )
    return ladder


def currency_of(uow) -> str:
    from crmcore_loyalty import api as loyalty

    return loyalty.active_program(uow).currency


def measurer(uow, customer_id: int, cut: tuple[datetime, int] | None = None) -> Measurer:
    return Measurer(uow, customer_id, currency_of(uow), uow.app.timezone, cut)


MEMBERS = "tiers.members"


def get_member(uow, customer_id: int) -> TierMember | None:
    """The member's row (remembered for the unit of work, absence included: purchases ask for it thrice)."""
    known = uow.cache.setdefault(MEMBERS, {})
    if customer_id not in known:
        known[customer_id] = uow.session.get(TierMember, customer_id)
    return known[customer_id]


def forget_member(uow, customer_id: int) -> None:
    uow.cache.setdefault(MEMBERS, {}).pop(customer_id, None)


def tier_of(uow, ladder: Ladder, customer_id: int) -> Tier:
    """The member's current tier (the base tier for a customer who never joined or whose tier left the ladder)."""
    member = get_member(uow, customer_id)
    return (ladder.get(member.tier) if member is not None else None) or ladder.base


def ensure_member(uow, ladder: Ladder, customer_id: int, at: datetime) -> TierMember:
    """The member's row, created in the base tier (with a ``join`` entry in the history) on first activity."""
    member = get_member(uow, customer_id)
    if member is not None:
        return member
    base = ladder.base
    member = TierMember(
        customer_id=customer_id,
        tier=base.name,
        rank=base.rank,
        since=at,
        joined_at=at,
        updated_at=uow.now(),
    )
    uow.session.add(member)
    uow.cache.setdefault(MEMBERS, {})[customer_id] = member
    uow.session.add(
        TierChange(
            customer_id=customer_id,
            old_tier=None,
            new_tier=base.name,
            old_rank=None,
            new_rank=base.rank,
            direction="join",
            reason=f"joined the club in {base.title}",
            occurred_at=at,
            recorded_at=uow.now(),
            actor=uow.actor,
            details={},
        )
    )
    return member


def describe(evidence: Evidence, currency: str) -> str:
    """``1,020 of 1,000 points in rolling 365 days`` (amounts in the program's currency)."""
    if evidence.metric == "spend":
        from crmcore.api import Money, format_money

        have = format_money(Money(evidence.value, currency))
        need = format_money(Money(evidence.threshold, currency))
        return f"{have} spent of {need} in {evidence.period}"
    return f"{evidence.value:,} of {evidence.threshold:,} {evidence.metric} in {evidence.period}"


def change_tier(
    uow,
    ladder: Ladder,
    member: TierMember,
    new: Tier,
    *,
    direction: str,
    reason: str,
    at: datetime,
    interaction_id: int | None = None,
    details: dict[str, Any] | None = None,
    customer: Customer | None = None,
) -> TierChange:
    """Move ``member`` to ``new``: history row, member row, and the ``tiers_tier_changed`` event."""
    old_name, old_rank = member.tier, member.rank
    at = max(at, member.since)  # history stays in time order even for history imported out of order
    change = TierChange(
        customer_id=member.customer_id,
        old_tier=old_name,
        new_tier=new.name,
        old_rank=old_rank,
        new_rank=new.rank,
        direction=direction,
        reason=reason,
        occurred_at=at,
        recorded_at=uow.now(),
        actor=uow.actor,
        interaction_id=interaction_id,
        details=details or {},
    )
    uow.session.add(change)
    member.previous_tier, member.cause_interaction_id = old_name, interaction_id
    member.tier, member.rank, member.since = new.name, new.rank, at
    member.grace_until = None
    member.warned_for = None
    member.updated_at = uow.now()
    old = ladder.get(old_name)
    customer = customer or uow.session.get(Customer, member.customer_id)
    uow.emit(
        "tiers_tier_changed",
        customer_id=member.customer_id,
        data={
            "old_tier": old_name,
            "new_tier": new.name,
            "old_title": old.title if old else old_name,
            "new_title": new.title,
            "old_title_fa": old.title_fa if old else None,
            "new_title_fa": new.title_fa,
            "direction": direction,
            "reason": reason,
            "occurred_at": at.isoformat(),
            "interaction_id": interaction_id,
        },
        customer=customer,
        old_tier=old_name,
        new_tier=new.name,
        direction=direction,
        reason=reason,
    )
    return change


def check_upgrade(
    uow,
    ladder: Ladder,
    customer_id: int,
    at: datetime,
    *,
    interaction_id: int | None,
    metrics: set[str],
    customer: Customer | None = None,
) -> TierChange | None:
    """Upgrade the member at once if their activity up to ``at`` (included) qualifies for a higher tier.

    Only criteria on ``metrics`` are looked at (points after accrual, spend and purchases when recorded)."""
    member = ensure_member(uow, ladder, customer_id, at)
    current = ladder.rank_of(member.tier)
    if current >= ladder.top.rank:
        return None
    if not any(c.metric in metrics for t in ladder.above(member.tier) for c in t.criteria):
        return None
    m = measurer(uow, customer_id, None if interaction_id is None else (at, interaction_id))
    tier, evidence = qualified_tier(ladder, m, at + TICK, above_rank=current, metrics=metrics)
    if tier is None:
        return None
    reason = f"crossed {tier.title}: {describe(evidence, m.currency)}"
    return change_tier(
        uow,
        ladder,
        member,
        tier,
        direction="up",
        reason=reason,
        at=at,
        interaction_id=interaction_id,
        details={"evidence": evidence.to_dict()},
        customer=customer,
    )


def earning_multiplier(uow, customer, interaction) -> Decimal | None:
    """The factor of the member's tier for this purchase: the tier held before it (a purchase that crossed a
    threshold still earns at the old tier's rate; the new rate applies from the next purchase)."""
    ladder = ladder_of(uow)
    if ladder is None:
        return None
    member = get_member(uow, customer.id)
    name = ladder.base.name
    if member is not None:
        caused_here = (
            interaction is not None
            and interaction.id is not None
            and member.cause_interaction_id == interaction.id
        )
        name = member.previous_tier if caused_here else member.tier
    tier = ladder.get(name) or ladder.base
    return None if tier.multiplier == 1 else tier.multiplier


def history(
    uow, customer_id: int, *, limit: int | None = None, newest_first: bool = False
) -> list[TierChange]:
    q = select(TierChange).where(TierChange.customer_id == customer_id)
    order = (
        (TierChange.occurred_at.desc(), TierChange.id.desc())
        if newest_first
        else (TierChange.occurred_at, TierChange.id)
    )
    q = q.order_by(*order)
    if limit:
        q = q.limit(limit)
    return list(uow.session.scalars(q))


def change_to_dict(change: TierChange) -> dict[str, Any]:
    return {
        "id": change.id,
        "customer_id": change.customer_id,
        "old_tier": change.old_tier,
        "new_tier": change.new_tier,
        "direction": change.direction,
        "reason": change.reason,
        "occurred_at": change.occurred_at.isoformat(),
        "recorded_at": change.recorded_at.isoformat(),
        "actor": change.actor,
        "interaction_id": change.interaction_id,
        "details": change.details or {},
    }
