"""What a person does to a member's points, with the checks the CLI and the web share (one rule, one
place): earning by hand, adjusting, and the readable texts of the program's rules in the currency's
major unit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmcore.api import Formatter, Money, ValidationError

from .ledger import PROGRAM_EXPIRY, credit, debit
from .program import Program, Rule


def earn_points(
    uow,
    customer_id: int,
    points: int,
    *,
    reason: str,
    key: str | None = None,
    expires_at: Any = PROGRAM_EXPIRY,
):
    """Give ``points`` by hand (a goodwill gesture, a campaign). A negative amount is refused
    with the command that removes points; an expiry must lie in the future."""
    if isinstance(points, int) and not isinstance(points, bool) and points < 0:
        raise ValidationError(
            f"earn gives points; to remove {-points} points use an adjustment "
            f"(crm loyalty adjust CUSTOMER {points} --reason …)",
            field="points",
        )
    if isinstance(expires_at, datetime) and expires_at <= uow.now():
        raise ValidationError(
            "the expiry is in the past: points would expire at once", field="expires"
        )
    return credit(
        uow, customer_id, points, kind="earn", reason=reason, key=key, expires_at=expires_at
    )


def adjust_points(uow, customer_id: int, points: int, *, reason: str, key: str | None = None):
    """Correct a balance by ``points`` (negative removes, never below zero); audited."""
    if isinstance(points, bool) or not isinstance(points, int):
        raise ValidationError(f"points are whole numbers, not {points!r}", field="points")
    if points == 0:
        raise ValidationError("an adjustment of 0 points changes nothing", field="points")
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("a reason is required", field="reason")
    if points > 0:
        entry = credit(uow, customer_id, points, kind="adjust", reason=reason, key=key)
    else:
        entry = debit(uow, customer_id, -points, kind="adjust", reason=reason, key=key)
    uow.audit(
        "adjust",
        "loyalty_points",
        entry.id,
        {"points": points, "reason": reason},
        customer_id=customer_id,
    )
    return entry


def parse_points(raw: Any, field: str = "points") -> int:
    """Whole points from a form or the API (Persian digits and grouping allowed)."""
    from crmcore.api import to_ascii_digits

    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    text = to_ascii_digits(str(raw or "")).replace(",", "").replace("٬", "").strip()
    if not text.lstrip("-+").isdigit() or text.count("-") + text.count("+") > 1:
        raise ValidationError(f"{raw!r} is not a whole number of points", field=field)
    return int(text)


def rule_text(rule: Rule, program: Program, fmt: Formatter) -> str:
    """What a rule does, amounts in the currency's major unit: ``1 point per 1.00 USD``."""

    def money(minor: int) -> str:
        return fmt.money(Money(minor, program.currency))

    fa = fmt.lang == "fa"
    n = fmt.number
    per = money(rule.per_minor) if rule.per_minor else ""
    if rule.kind == "per_amount":
        return f"{n(rule.points)} امتیاز به ازای هر {per}" if fa else f"{n(rule.points)} per {per}"
    if rule.kind == "per_sku":
        skus = ", ".join(rule.skus)
        return (
            f"{n(rule.points)} امتیاز به ازای هر {per} از {skus}"
            if fa
            else f"{n(rule.points)} per {per} of {skus}"
        )
    if rule.kind == "per_category":
        cats = ", ".join(rule.categories)
        return (
            f"{n(rule.points)} امتیاز به ازای هر {per} در {cats}"
            if fa
            else f"{n(rule.points)} per {per} in {cats}"
        )
    if rule.kind == "multiplier":
        on = ", ".join(rule.applies_to)
        return f"× {fmt.number(rule.factor)}" + ((" روی " if fa else " on ") + on if on else "")
    if rule.kind == "threshold":
        return (
            f"هر {money(rule.every_minor)} خرید ← {rule.reward}"
            if fa
            else f"every {money(rule.every_minor)} spent → {rule.reward}"
        )
    return f"{n(rule.points)} امتیاز" if fa else f"{n(rule.points)} points"
