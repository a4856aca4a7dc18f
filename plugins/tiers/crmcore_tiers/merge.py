"""Customer merges: the kept customer keeps the higher of the two tiers and both histories (the
kernel moves the merged one's tier changes, models.py)."""

from __future__ import annotations

from .models import TierChange, TierMember
from .service import change_tier, forget_member, ladder_of


def merge_members(uow, kept, merged) -> None:
    session = uow.session
    forget_member(uow, kept.id)
    forget_member(uow, merged.id)
    gone = session.get(TierMember, merged.id)
    if gone is None:
        return
    member = session.get(TierMember, kept.id)
    ladder = ladder_of(uow)
    if member is None:
        session.add(
            TierMember(
                customer_id=kept.id,
                tier=gone.tier,
                rank=gone.rank,
                since=gone.since,
                joined_at=gone.joined_at,
                previous_tier=gone.previous_tier,
                grace_until=gone.grace_until,
                warned_for=gone.warned_for,
                updated_at=uow.now(),
            )
        )
        session.delete(gone)
        return
    session.delete(gone)
    session.flush()
    rank_of = ladder.rank_of if ladder is not None else (lambda name: None)
    higher = ladder.get(gone.tier) if ladder is not None else None
    if higher is not None and rank_of(gone.tier) > rank_of(member.tier):
        change_tier(
            uow,
            ladder,
            member,
            higher,
            direction="up",
            at=uow.now(),
            customer=kept,
            reason=f"merged with customer {merged.id}, who held {higher.title}",
        )
        return
    # the kept tier stands; say so after the merged history, so the latest entry is the current tier
    session.add(
        TierChange(
            customer_id=kept.id,
            old_tier=member.tier,
            new_tier=member.tier,
            old_rank=member.rank,
            new_rank=member.rank,
            direction="merge",
            occurred_at=max(uow.now(), member.since),
            reason=f"merged with customer {merged.id} ({gone.tier}); keeps {member.tier}",
            recorded_at=uow.now(),
            actor=uow.actor,
            details={},
        )
    )
