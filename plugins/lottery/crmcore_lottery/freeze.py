"""Closing a campaign: apply the eligibility rules, freeze the entry list, publish its hash and the hash of a
secret seed. After this nothing about the draw can change without the published hashes giving it away."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, insert, or_, select

from crmcore.api import Conflict, Customer, ValidationError, format_datetime, where_conditions

from . import proof
from .campaigns import draw_spec, tier_clause
from .entries import drain
from .models import LotteryCampaign, LotteryEntry, LotteryFrozenEntry, LotteryWinner

#: exclusion reasons, in the order they are checked (a member is counted under the first that applies)
REASONS = ("inactive", "staff", "recent_winner", "segment", "tier", "too_few_entries")


def _participants(uow, campaign: LotteryCampaign) -> dict[int, int]:
    rows = uow.session.execute(
        select(LotteryEntry.customer_id, func.sum(LotteryEntry.weight))
        .where(LotteryEntry.campaign_id == campaign.id, LotteryEntry.weight > 0)
        .group_by(LotteryEntry.customer_id)
    )
    return {int(cid): int(w) for cid, w in rows if w and int(w) > 0}


def _matching(uow, campaign: LotteryCampaign, condition) -> set[int]:
    ids = select(LotteryEntry.customer_id).where(LotteryEntry.campaign_id == campaign.id)
    return set(uow.session.scalars(select(Customer.id).where(Customer.id.in_(ids), condition)))


def recent_winners(uow, campaign: LotteryCampaign) -> set[int]:
    """Customers who won one of the last ``exclude_recent_winners`` drawn campaigns."""
    if not campaign.exclude_recent_winners:
        return set()
    last = (
        select(LotteryCampaign.id)
        .where(LotteryCampaign.status == "drawn", LotteryCampaign.id != campaign.id)
        .order_by(LotteryCampaign.drawn_at.desc(), LotteryCampaign.id.desc())
        .limit(campaign.exclude_recent_winners)
    )
    ids = [cid for cid in uow.session.scalars(last)]
    if not ids:
        return set()
    return set(
        uow.session.scalars(
            select(LotteryWinner.customer_id).where(LotteryWinner.campaign_id.in_(ids))
        )
    )


def eligibility(uow, campaign: LotteryCampaign) -> tuple[dict[int, int], dict[str, int]]:
    """(eligible members → entries, excluded members counted by reason)."""
    drain(uow)
    people = _participants(uow, campaign)
    excluded: dict[str, set[int]] = {}
    active = _matching(
        uow, campaign, and_(Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))
    )
    excluded["inactive"] = set(people) - active
    staff: set[int] = set()
    if campaign.staff_tags:
        staff = _matching(
            uow, campaign, or_(*where_conditions(uow, [f"tag={t}" for t in campaign.staff_tags]))
        )
    excluded["staff"] = staff
    excluded["recent_winner"] = recent_winners(uow, campaign)
    for reason, clauses in (
        ("segment", campaign.where_clauses),
        ("tier", [tier_clause(campaign.min_tier)] if campaign.min_tier else []),
    ):
        excluded[reason] = (
            set(people) - _matching(uow, campaign, and_(*where_conditions(uow, clauses)))
            if clauses
            else set()
        )
    excluded["too_few_entries"] = {cid for cid, w in people.items() if w < campaign.min_entries}
    counts: dict[str, int] = {}
    remaining = dict(people)
    for reason in REASONS:
        out = [cid for cid in excluded[reason] if cid in remaining]
        for cid in out:
            del remaining[cid]
        if out:
            counts[reason] = len(out)
    return remaining, counts


def _warnings(campaign: LotteryCampaign, eligible: dict[int, int]) -> list[str]:
    warnings = []
    for p in campaign.prizes:
        if p.stock < p.quantity:
            warnings.append(
                f"prize {p.rank} ({p.name}): {p.quantity} to award but {p.stock} in stock; "
                f"{p.slots} will be drawn"
            )
    slots = sum(p.slots for p in campaign.prizes)
    capacity = len(eligible) if campaign.one_prize_per_person else sum(eligible.values())
    if capacity < slots:
        unit = "eligible members" if campaign.one_prize_per_person else "eligible entries"
        warnings.append(
            f"{slots} prizes to draw but only {capacity} {unit}: {capacity} prizes can be awarded"
        )
    return warnings


def close_campaign(
    uow,
    campaign: LotteryCampaign,
    *,
    early: bool = False,
    seed_commitment: str | None = None,
    now=None,
) -> dict[str, Any]:
    """Freeze the entries of ``campaign`` (locked by the caller) and publish the list hash and seed commitment.

    ``seed_commitment``: the SHA-256 of a seed the operator keeps (given back at the draw); by default a seed
    is generated here with :mod:`secrets` and kept until the draw reveals it. ``now``: the moment of
    closing (the job's ``--now``), by default the clock's.

    The list names members by their lottery code (:mod:`crmcore_lottery.members`), in code order.
    """
    calendar, tz = uow.app.calendar, uow.app.timezone
    if campaign.status != "open":
        raise Conflict(
            f"campaign {campaign.name!r} was already closed on "
            f"{format_datetime(campaign.closed_at, calendar, tz=tz)}",
            field="campaign",
        )
    now = now or uow.now()
    if now < campaign.entry_end and not early:
        raise ValidationError(
            f"entries of campaign {campaign.name!r} are open until "
            f"{format_datetime(campaign.entry_end, calendar, tz=tz)}; "
            "close early only on purpose (--early)",
            field="campaign",
        )
    if not campaign.prizes:
        raise ValidationError(
            f"campaign {campaign.name!r} has no prizes; add one before closing", field="prize"
        )
    if seed_commitment is not None:
        try:
            seed_commitment = proof.check_hash(seed_commitment, "the seed commitment")
        except proof.ProofError as exc:
            raise ValidationError(str(exc), field="commitment") from None
    eligible, excluded = eligibility(uow, campaign)
    for p in campaign.prizes:
        p.slots = min(p.quantity, p.stock)
    if campaign.participants_by == "code":
        from .members import codes_of

        codes = codes_of(uow, eligible)
        named = {codes[cid]: weight for cid, weight in eligible.items()}
    else:
        named = dict(eligible)
    frozen = [
        proof.FrozenEntry(position, who, named[who])
        for position, who in enumerate(sorted(named), 1)
    ]
    document = proof.frozen_document(draw_spec(campaign), frozen)
    rows = [
        {
            "campaign_id": campaign.id,
            "position": e.position,
            "participant": e.participant,
            "weight": e.weight,
        }
        for e in frozen
    ]
    for start in range(0, len(rows), 5000):
        uow.session.execute(insert(LotteryFrozenEntry), rows[start : start + 5000])
    seed = None if seed_commitment else proof.new_seed()
    campaign.seed = seed
    campaign.seed_commitment = seed_commitment or proof.commitment(seed)
    campaign.list_sha256 = proof.sha256_hex(document)
    campaign.status = "closed"
    campaign.closed_at = now
    participants = len(eligible) + sum(excluded.values())
    warnings = _warnings(campaign, eligible)
    campaign.close_summary = {
        "participants": participants,
        "eligible": len(eligible),
        "entries": sum(eligible.values()),
        "excluded": excluded,
        "warnings": warnings,
        "seed_kept_by": "operator" if seed_commitment else "crm",
    }
    published = {
        "campaign": campaign.name,
        "list_sha256": campaign.list_sha256,
        "seed_commitment": campaign.seed_commitment,
        "rules_sha256": campaign.rules_sha256,
        "closed_at": now.isoformat(),
        "eligible": len(eligible),
        "entries": sum(eligible.values()),
    }
    uow.emit("lottery_entries_frozen", data=published)
    uow.audit("close", "lottery_campaign", campaign.id, published)
    uow.cache.pop("lottery.open", None)
    return {**published, "excluded": excluded, "participants": participants, "warnings": warnings}
