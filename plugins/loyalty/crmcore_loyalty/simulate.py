"""``crm loyalty simulate``: which rules would fire for a purchase, and why — nothing is written."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmcore.api import Customer, Interaction, ValidationError, parse_money

from .accrual import earning_for
from .ledger import balance
from .programs import active_program
from .rules import allocate


def simulation_lines(
    amount: int, currency: str, skus: list[str], categories: list[str]
) -> list[dict[str, Any]]:
    """Lines from ``SKU[=AMOUNT]`` and ``CATEGORY[=AMOUNT]``; lines without an amount share what is left."""
    lines: list[dict[str, Any]] = []
    for field, values in (("sku", skus), ("category", categories)):
        for raw in values:
            name, _, money = raw.partition("=")
            if not name.strip():
                raise ValidationError(f"{raw!r} names no {field}", field=field)
            minor = parse_money(money, currency).minor if money else None
            lines.append({field: name.strip(), "amount": minor})
    given = sum(ln["amount"] for ln in lines if ln["amount"] is not None)
    if given > amount:
        from .rules import _money

        raise ValidationError(
            f"the lines add up to {_money(given, currency)}, more than the "
            f"amount {_money(amount, currency)}",
            field="amount",
        )
    open_lines = [ln for ln in lines if ln["amount"] is None]
    for ln, part in zip(open_lines, allocate(amount - given, [1] * len(open_lines))):
        ln["amount"] = part
    return [{**ln, "amount": str(ln["amount"])} for ln in lines]


def simulate(
    uow,
    customer: Customer,
    *,
    amount: str,
    skus: list[str] = (),
    categories: list[str] = (),
    at: datetime | None = None,
) -> dict[str, Any]:
    program = active_program(uow)
    if program.version is None:
        raise ValidationError(
            "no program is loaded; run: crm loyalty program load FILE", field="program"
        )
    money = parse_money(amount, program.currency)
    if money.minor <= 0:
        raise ValidationError("the amount must be positive", field="amount")
    payload = {
        "lines": simulation_lines(money.minor, program.currency, list(skus), list(categories))
    }
    purchase = Interaction(
        customer_id=customer.id,
        kind="purchase",
        amount_minor=money.minor,
        currency=program.currency,
        occurred_at=at or uow.now(),
        payload=payload,
    )
    earning, lines = earning_for(uow, program, customer, purchase)
    state = {}
    account_balance = balance(uow, customer.id)
    from .models import LoyaltyAccount

    account = uow.session.get(LoyaltyAccount, customer.id)
    if account is not None:
        state = account.state or {}
    thresholds = []
    for rule in program.thresholds:
        progress = int(state.get(f"threshold:{rule.name}", 0)) + money.minor
        thresholds.append(
            {
                "rule": rule.name,
                "reward": rule.reward,
                "every": rule.every_minor,
                "progress_after": progress % rule.every_minor if progress > 0 else progress,
                "rewards_granted": max(progress // rule.every_minor, 0),
            }
        )
    owed = account.owed if account is not None else 0
    return {
        "customer_id": customer.id,
        "program_version": program.version,
        "amount": str(money.minor),
        "currency": program.currency,
        "points": earning.points,
        "clawed_back": min(owed, earning.points),
        "balance_before": account_balance,
        "balance_after": account_balance + earning.points - min(owed, earning.points),
        "capped": earning.capped,
        "rules": [f.to_dict() for f in earning.firings],
        "lines": [
            {"sku": ln.sku, "category": ln.category, "amount": str(ln.amount), "points": p}
            for ln, p in zip(lines, earning.line_points)
        ],
        "bonus_points": earning.bonus_points,
        "thresholds": thresholds,
    }
