"""Purchases earn points, refunds take them back line by line, spending thresholds give rewards.

Accrual reacts to the kernel's ``crm_interaction_recorded`` (live recording and imported history alike). Each
purchase's earning is stored per line (:class:`LoyaltyAccrual`), so a refund reverses exactly the points of
what was refunded: the refunded lines' share (partially for partial refunds, rounded down on the cumulative
refunded amount, so the full refund reverses everything) and the purchase-level bonuses once the whole
purchase is refunded. Points the member already spent are handled by the program's negative-balance policy.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, func, or_, select

from crmcore.api import (
    Customer,
    Interaction,
    ValidationError,
    jalali_month_bounds,
    jalali_year_bounds,
)

from .ledger import lock_account, take_back
from .models import LoyaltyAccrual, LoyaltyEntry
from .program import Program
from .programs import active_program
from .rules import Earning, allocate, compute_earning, purchase_lines


def local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _is_birthday_month(customer: Customer, day: date, calendar: str) -> bool:
    if customer.birthday is None:
        return False
    if calendar == "jalali":
        import jdatetime

        month = jdatetime.date.fromgregorian(date=customer.birthday).month
        return month == jdatetime.date.fromgregorian(date=day).month
    return customer.birthday.month == day.month


def period_bounds(program: Program, day: date, timezone: str) -> tuple[datetime, datetime]:
    """UTC bounds of the cap period (month or year of the program's calendar) containing local ``day``."""
    if program.calendar == "jalali":
        import jdatetime

        j = jdatetime.date.fromgregorian(date=day)
        lo, hi = (
            jalali_month_bounds(j.year, j.month)
            if program.cap_period == "month"
            else jalali_year_bounds(j.year)
        )
    elif program.cap_period == "month":
        lo = day.replace(day=1)
        hi = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    else:
        lo, hi = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    zone = ZoneInfo(timezone)
    return (
        datetime.combine(lo, time(0), zone).astimezone(ZoneInfo("UTC")),
        datetime.combine(hi, time(0), zone).astimezone(ZoneInfo("UTC")),
    )


def _earned_in_period(uow, program: Program, customer_id: int, day: date) -> int | None:
    if program.cap_per_period is None:
        return None
    lo, hi = period_bounds(program, day, uow.app.timezone)
    return int(
        uow.session.scalar(
            select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
                LoyaltyEntry.customer_id == customer_id,
                LoyaltyEntry.kind == "earn",
                LoyaltyEntry.occurred_at >= lo,
                LoyaltyEntry.occurred_at < hi,
            )
        )
        or 0
    )


def _is_first_purchase(
    uow, program: Program, customer_id: int, interaction: Interaction | None
) -> bool:
    if not any(r.kind == "first_purchase" for r in program.rules):
        return False
    q = select(Interaction.id).where(
        Interaction.customer_id == customer_id, Interaction.kind == "purchase"
    )
    if interaction is not None and interaction.id is not None:
        q = q.where(
            Interaction.id != interaction.id,
            or_(
                Interaction.occurred_at < interaction.occurred_at,
                and_(
                    Interaction.occurred_at == interaction.occurred_at,
                    Interaction.id < interaction.id,
                ),
            ),
        )
    return not uow.session.scalar(select(exists(q)))


def _factors(uow, customer, interaction) -> list[Decimal]:
    if customer is None or not uow.plugins.hook.loyalty_earning_multiplier.get_hookimpls():
        return []
    factors = [
        f
        for f in uow.call("loyalty_earning_multiplier", customer=customer, interaction=interaction)
        if f is not None
    ]
    for f in factors:
        if not isinstance(f, Decimal) or not f.is_finite() or f < 0:
            raise ValidationError(
                f"an earning multiplier must be a non-negative Decimal, not {f!r}",
                field="multiplier",
            )
    return factors


def earning_context(
    uow,
    program: Program,
    interaction,
    *,
    customer: Customer | None,
    first_purchase: bool,
    period_tally: dict | None = None,
    explain: bool = True,
) -> tuple[Earning, list]:
    """What ``interaction`` earns given its context (``period_tally`` carries per-period caps across a batch)."""
    lines = purchase_lines(interaction.payload, interaction.amount_minor or 0, program.currency)
    day = local_day(interaction.occurred_at, uow.app.timezone)
    period_earned = None
    if program.cap_per_period is not None:
        lo, _hi = period_bounds(program, day, uow.app.timezone)
        tally_key = (interaction.customer_id, lo)
        if period_tally is None or tally_key not in period_tally:
            period_earned = _earned_in_period(uow, program, interaction.customer_id, day)
        else:
            period_earned = period_tally[tally_key]
    earning = compute_earning(
        program,
        amount=interaction.amount_minor or 0,
        lines=lines,
        day=day,
        first_purchase=first_purchase,
        birthday_month=customer is not None and _is_birthday_month(customer, day, program.calendar),
        external_factors=_factors(uow, customer, interaction),
        period_earned=period_earned,
        explain=explain,
    )
    if period_tally is not None and period_earned is not None:
        period_tally[(interaction.customer_id, lo)] = period_earned + earning.points
    return earning, lines


def earning_for(
    uow, program: Program, customer: Customer, interaction: Interaction
) -> tuple[Earning, list]:
    """Compute (without writing) what ``interaction`` earns; also returns its lines (``crm loyalty simulate``)."""
    return earning_context(
        uow,
        program,
        interaction,
        customer=customer,
        first_purchase=_is_first_purchase(uow, program, customer.id, interaction),
    )


def accrue_purchase(uow, interaction: Interaction, customer: Customer | None = None) -> None:
    """Accrue one purchase now (once: a purchase already accrued earns nothing)."""
    from .batch import accrue_many

    accrue_many(uow, [interaction])


def advance_thresholds(uow, program: Program, account, interaction) -> None:
    """Count a purchase toward the spending thresholds; grant their rewards each time one is crossed."""
    from .rewards import grant_reward

    state = dict(account.state or {})
    day = local_day(interaction.occurred_at, uow.app.timezone)
    amount = interaction.amount_minor or 0
    # imported history: the reward was earned on the purchase's day, and its validity runs from then
    earned_at = interaction.occurred_at if getattr(uow, "history", False) else None
    for rule in program.thresholds:
        if not rule.active_on(day):
            continue
        progress = int(state.get(f"threshold:{rule.name}", 0)) + amount
        times = max(progress // rule.every_minor, 0)
        state[f"threshold:{rule.name}"] = progress - times * rule.every_minor
        for n in range(times):
            grant_reward(
                uow,
                account.customer_id,
                rule.reward,
                key=f"threshold:{interaction.id}:{rule.name}:{n}",
                program=program,
                source="threshold",
                at=earned_at,
            )
    account.state = state


def _apply_refund_to_lines(lines: list[dict[str, Any]], refund: Interaction, amount: int) -> int:
    """Mark ``amount`` of the purchase's lines as refunded; returns the amount applied."""
    refund_lines = (refund.payload or {}).get("lines") or []
    applied = 0
    if refund_lines:
        for i, item in enumerate(refund_lines):
            sku = item.get("sku") if isinstance(item, dict) else None
            try:
                from crmcore.api import parse_money

                want = parse_money(str(item["amount"]), refund.currency or "IRR").minor
            except (KeyError, TypeError, ValidationError):
                raise ValidationError(
                    "each refunded line needs an amount", field=f"payload.lines[{i}].amount"
                ) from None
            candidates = [ln for ln in lines if ln["sku"] == sku and ln["refunded"] < ln["amount"]]
            if not candidates and not any(ln["sku"] == sku for ln in lines):
                raise ValidationError(
                    f"the purchase has no line with SKU {sku!r}", field=f"payload.lines[{i}].sku"
                )
            for ln in candidates:
                take = min(want, ln["amount"] - ln["refunded"])
                ln["refunded"] += take
                want -= take
                applied += take
                if not want:
                    break
        return applied
    open_amounts = [ln["amount"] - ln["refunded"] for ln in lines]
    amount = min(amount, sum(open_amounts))
    for ln, part in zip(lines, allocate(amount, open_amounts)):
        ln["refunded"] += part
    return amount


def reverse_refund(
    uow, refund: Interaction, customer: Customer | None = None
) -> LoyaltyEntry | None:
    """Take back the points of the refunded part of the purchase ``refund.related_id``."""
    from .batch import drain

    drain(uow)  # the purchase may have been recorded in this same unit of work
    accrual = uow.session.get(LoyaltyAccrual, refund.related_id)
    if accrual is None or refund.id in (accrual.refund_ids or []):
        return None
    program = active_program(uow)
    lines = [dict(ln) for ln in accrual.lines]
    amount = min(refund.amount_minor or 0, accrual.amount_minor - accrual.refunded_minor)
    applied = _apply_refund_to_lines(lines, refund, amount)
    accrual.lines = lines
    accrual.refunded_minor += applied
    accrual.refund_ids = [*(accrual.refund_ids or []), refund.id]
    target = sum(ln["points"] * ln["refunded"] // ln["amount"] for ln in lines if ln["amount"])
    if all(ln["refunded"] >= ln["amount"] for ln in lines):
        target += accrual.bonus_points
    delta = target - accrual.reversed_points
    accrual.reversed_points = target
    if program.thresholds and applied:
        account = lock_account(uow, refund.customer_id)
        state = dict(account.state or {})
        for rule in program.thresholds:
            key = f"threshold:{rule.name}"
            state[key] = (
                int(state.get(key, 0)) - applied
            )  # the refunded spending must be spent again
        account.state = state
    if delta <= 0:
        return None
    entry = take_back(
        uow,
        refund.customer_id,
        delta,
        kind="reverse",
        key=f"refund:{refund.id}",
        reason=f"refund {refund.id} of purchase {refund.related_id}",
        ref=f"purchase:{refund.related_id}",
        interaction_id=refund.id,
        occurred_at=refund.occurred_at,
        program=program,
        details={"refunded_amount": applied},
    )
    from .ledger import entry_to_dict

    uow.emit("loyalty_points_reversed", customer_id=refund.customer_id, data=entry_to_dict(entry))
    return entry
