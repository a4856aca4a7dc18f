"""Evaluation (``crm tiers evaluate --as-of DATE`` and the ``tiers.evaluate`` job): downgrades, grace periods and
"will downgrade on DATE unless N more" notices.

At the end of the evaluated local day (or now, for today) every member above the base tier is measured:

- still qualifying: nothing changes (a running grace period ends); if the qualification will lapse within the
  tier's ``notice_days``, the member is warned once (``tiers_downgrade_warning``);
- no longer qualifying, tier without grace: moved down at once to the highest tier they qualify for;
- no longer qualifying, tier with ``grace_days``: the grace period starts (and the member is warned); the
  first evaluation on or after its last day moves them down unless they re-qualified.

Dates in the future and dates before the last evaluation are refused: history only moves forward.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from crmcore.api import Customer, Interaction, ValidationError, format_date

from .ladder import Ladder
from .models import TierEvaluation, TierMember
from .qualify import (
    TICK,
    Measurer,
    end_of_day,
    lapse_day,
    local_day,
    qualified_tier,
    shortfall,
    tier_evidence,
)
from .service import change_tier, currency_of, describe, ensure_member, require_ladder


def evaluation_moment(uow, as_of: date | None) -> tuple[date, datetime]:
    """The local day evaluated and the instant measured at (end of that day; now for today)."""
    now = uow.now()
    today = local_day(now, uow.app.timezone)
    as_of = as_of or today
    if as_of > today:
        raise ValidationError(
            f"{format_date(as_of, uow.app.calendar)} is in the future (today is "
            f"{format_date(today, uow.app.calendar)}); tiers are evaluated on what already "
            "happened",
            field="as_of",
        )
    last = uow.session.scalar(select(func.max(TierEvaluation.as_of)))
    if last is not None and as_of < last:
        raise ValidationError(
            f"tiers were already evaluated as of {format_date(last, uow.app.calendar)}; evaluate "
            "that day or a later one (history only moves forward)",
            field="as_of",
        )
    return as_of, min(
        end_of_day(as_of, uow.app.timezone), now + TICK
    )  # what happened up to now counts


def _warn(
    uow,
    member: TierMember,
    ladder: Ladder,
    m: Measurer,
    tier,
    today: date,
    lapse: date,
    summary: dict[str, Any],
) -> None:
    metric, needed = shortfall(ladder, tier, m, today, lapse)
    downgrade_on = member.grace_until or lapse + timedelta(days=tier.grace_days)
    member.warned_for = lapse
    customer = uow.session.get(Customer, member.customer_id)
    uow.emit(
        "tiers_downgrade_warning",
        customer_id=member.customer_id,
        data={
            "tier": tier.name,
            "title": tier.title,
            "title_fa": tier.title_fa,
            "downgrade_on": downgrade_on.isoformat(),
            "needed": needed,
            "metric": metric,
            "currency": m.currency if metric == "spend" else None,
        },
        customer=customer,
        tier=tier.name,
        downgrade_on=downgrade_on,
        needed=needed,
        metric=metric,
    )
    summary["notices"] += 1


def _enroll_and_upgrade(
    uow,
    ladder: Ladder,
    moment: datetime,
    currency: str,
    include_base: bool,
    summary: dict[str, Any],
) -> None:
    """Customers who bought before the ladder existed join now (as of their first purchase); they, and with
    ``include_base`` every base-tier member, move up at once if their activity already qualifies."""
    first = uow.session.execute(
        select(Interaction.customer_id, func.min(Interaction.occurred_at))
        .where(
            Interaction.kind == "purchase",
            Interaction.occurred_at < moment,
            Interaction.customer_id.not_in(select(TierMember.customer_id)),
        )
        .group_by(Interaction.customer_id)
        .order_by(Interaction.customer_id)
    ).all()
    candidates = []
    for customer_id, at in first:
        candidates.append(ensure_member(uow, ladder, customer_id, at))
        summary["enrolled"] += 1
    if include_base:
        uow.session.flush()
        candidates = list(
            uow.session.scalars(
                select(TierMember)
                .where(TierMember.tier == ladder.base.name, TierMember.since < moment)
                .order_by(TierMember.customer_id)
            )
        )
    for member in candidates:
        m = Measurer(uow, member.customer_id, currency, uow.app.timezone)
        best, evidence = qualified_tier(ladder, m, moment, above_rank=ladder.rank_of(member.tier))
        if best is not None:
            change_tier(
                uow,
                ladder,
                member,
                best,
                direction="up",
                at=moment,
                reason=f"qualified for {best.title} at evaluation: {describe(evidence, currency)}",
                details={"evidence": evidence.to_dict()},
            )
            summary["upgraded"] += 1


def evaluate(uow, as_of: date | None = None, *, include_base: bool = False) -> dict[str, Any]:
    """Evaluate every member above the base tier as of ``as_of`` (default today); returns a summary.

    Customers with purchases but no tier yet (history from before the ladder) are enrolled first; with
    ``include_base`` base-tier members are checked for an upgrade too (after a ladder change)."""
    ladder = require_ladder(uow)
    day, moment = evaluation_moment(uow, as_of)
    tz = uow.app.timezone
    currency = currency_of(uow)
    summary: dict[str, Any] = {
        "as_of": day.isoformat(),
        "members": 0,
        "kept": 0,
        "downgraded": 0,
        "upgraded": 0,
        "grace_started": 0,
        "grace_ended": 0,
        "notices": 0,
        "enrolled": 0,
    }
    present = day == local_day(uow.now(), tz)
    _enroll_and_upgrade(uow, ladder, moment, currency, include_base, summary)
    members = list(
        uow.session.scalars(
            select(TierMember)
            .where(
                TierMember.since < moment,
                (TierMember.rank > ladder.base.rank)
                | TierMember.tier.not_in([t.name for t in ladder.tiers]),
            )
            .order_by(TierMember.customer_id)
        )
    )
    for member in members:
        summary["members"] += 1
        m = Measurer(uow, member.customer_id, currency, tz)
        current = ladder.get(member.tier)
        best, evidence = qualified_tier(ladder, m, moment)
        best = best or ladder.base
        if current is None:  # the tier left the ladder: settle on what the member qualifies for now
            direction = "up" if best.rank > member.rank else "down"
            change_tier(
                uow,
                ladder,
                member,
                best,
                direction=direction,
                at=moment,
                reason=f"tier {member.tier!r} is no longer in the ladder; qualifies for {best.title}",
            )
            summary["upgraded" if direction == "up" else "downgraded"] += 1
            continue
        if best.rank > current.rank:
            change_tier(
                uow,
                ladder,
                member,
                best,
                direction="up",
                at=moment,
                reason=f"qualified for {best.title} at evaluation: {describe(evidence, currency)}",
                details={"evidence": evidence.to_dict()},
            )
            summary["upgraded"] += 1
            continue
        if best.rank == current.rank:
            summary["kept"] += 1
            if member.grace_until is not None:
                member.grace_until = None
                member.warned_for = None
                summary["grace_ended"] += 1
            if present:  # notices look ahead from today only; a past day's evaluation sends none
                lapse = lapse_day(ladder, current, m, day)
                if (
                    lapse is not None
                    and (lapse - day).days <= current.notice_days
                    and member.warned_for != lapse
                ):
                    _warn(uow, member, ladder, m, current, day, lapse, summary)
            continue
        _, seen = tier_evidence(ladder, current, m, moment)
        why = "; ".join(describe(e, currency) for e in seen)
        if current.grace_days and member.grace_until is None:
            member.grace_until = day + timedelta(days=current.grace_days)
            summary["grace_started"] += 1
            if present:
                _warn(uow, member, ladder, m, current, day, day, summary)
            continue
        if member.grace_until is not None and day < member.grace_until:
            summary["kept"] += 1
            continue
        grace = (
            f" (grace ended {format_date(member.grace_until, uow.app.calendar)})"
            if member.grace_until is not None
            else ""
        )
        change_tier(
            uow,
            ladder,
            member,
            best,
            direction="down",
            at=moment,
            reason=f"below {current.title} at evaluation: {why}{grace}",
            details={"evidence": [e.to_dict() for e in seen]},
        )
        summary["downgraded"] += 1
    uow.session.add(
        TierEvaluation(as_of=day, moment=moment, ran_at=uow.now(), actor=uow.actor, summary=summary)
    )
    uow.audit("evaluate", "tiers", None, summary)
    return summary


def at_risk(uow, within_days: int | None = None) -> list[dict[str, Any]]:
    """Members above the base tier whose qualification lapses (or grace ends) within ``within_days`` (default:
    each tier's ``notice_days``), soonest first, with what they need to keep the tier."""
    ladder = require_ladder(uow)
    tz = uow.app.timezone
    today = local_day(uow.now(), tz)
    currency = currency_of(uow)
    out = []
    for member in uow.session.scalars(
        select(TierMember)
        .where(TierMember.rank > ladder.base.rank)
        .order_by(TierMember.customer_id)
    ):
        tier = ladder.get(member.tier)
        if tier is None:
            continue
        m = Measurer(uow, member.customer_id, currency, tz)
        horizon = tier.notice_days if within_days is None else within_days
        if member.grace_until is not None:
            lapse = today
            downgrade_on = member.grace_until
        else:
            lapse = lapse_day(ladder, tier, m, today)
            if lapse is None:
                lapse = today
            downgrade_on = lapse + timedelta(days=tier.grace_days)
        if (downgrade_on - today).days > horizon:
            continue
        metric, needed = shortfall(ladder, tier, m, today, max(lapse, today))
        out.append(
            {
                "customer_id": member.customer_id,
                "tier": tier.name,
                "downgrade_on": downgrade_on.isoformat(),
                "metric": metric,
                "needed": needed,
                "in_grace": member.grace_until is not None,
                "currency": currency if metric == "spend" else None,
            }
        )
    return sorted(out, key=lambda r: (r["downgrade_on"], r["customer_id"]))
