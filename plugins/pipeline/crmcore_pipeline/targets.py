"""Sales targets: what each rep should win in a Jalali or Gregorian month or year."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.api import ValidationError

from .models import SalesTarget
from .reps import get_rep
from .values import parse_amount, parse_period


def set_target(
    uow, rep: str, period: str, amount: str | int, *, currency: str | None = None
) -> SalesTarget:
    """Set (or replace) the target of ``rep`` for ``period`` (``1403-07``, ``1403``, ``2025-03``, ``2025``)."""
    person = get_rep(uow, rep, field="rep")
    label, start, end = parse_period(period)
    money = parse_amount(amount, currency)
    if money is None:
        raise ValidationError("a target needs an amount", field="amount")
    target = uow.session.scalar(
        select(SalesTarget).where(
            SalesTarget.rep_id == person.id,
            SalesTarget.starts_on == start,
            SalesTarget.ends_on == end,
            SalesTarget.currency == money.currency,
        )
    )
    old = None
    if target is None:
        target = SalesTarget(
            rep=person,
            label=label,
            starts_on=start,
            ends_on=end,
            currency=money.currency,
            amount_minor=money.minor,
        )
        uow.session.add(target)
    else:
        old = target.amount_minor
        target.amount_minor = money.minor
    uow.session.flush()
    uow.audit(
        "set",
        "pipeline_target",
        target.id,
        {
            "rep": person.username,
            "period": label,
            "amount": [old, money.minor],
            "currency": money.currency,
        },
    )
    return target


def list_targets(uow, *, rep: str | None = None) -> list[SalesTarget]:
    q = select(SalesTarget).order_by(SalesTarget.starts_on, SalesTarget.rep_id)
    if rep:
        q = q.where(SalesTarget.rep_id == get_rep(uow, rep, field="rep").id)
    return list(uow.session.scalars(q))


def target_to_dict(t: SalesTarget) -> dict:
    from crmcore.api import Money

    return {
        "rep": t.rep.username,
        "period": t.label,
        "starts_on": t.starts_on.isoformat(),
        "ends_on": t.ends_on.isoformat(),
        "amount": str(Money(t.amount_minor, t.currency).amount),
        "currency": t.currency,
    }
