"""Earning rules: which rules fire for a purchase, in what order, and why — pure computation, no storage.

Order and stacking: earning rules run in ascending ``priority`` (then file order). A rule with
``stacking = "exclusive"`` that fires stops every rule after it; rules before it still count. Multipliers run
the same way among themselves (an exclusive multiplier stops later multipliers); each applies to the rules it
names (``rules = [...]``) or to all. Factors from other plugins (``loyalty_earning_multiplier``, e.g. tiers)
apply to all rules. Each rule's points are rounded down after multiplying; then the per-purchase cap and the
per-period cap cut the total.
"""

from __future__ import annotations

from datetime import date
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import attrs

from crmcore.api import ValidationError, format_date, parse_money

from .program import Program, Rule


@attrs.frozen
class Line:
    sku: str | None
    category: str | None
    amount: int  # minor units


@attrs.frozen
class Firing:
    rule: str
    kind: str
    fired: bool
    points: int
    why: str

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


@attrs.frozen
class Earning:
    points: int
    line_points: tuple[int, ...]
    bonus_points: int
    firings: tuple[Firing, ...]
    factor: Decimal
    capped: str | None = None


def allocate(total: int, weights: list[int]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``weights`` (largest remainder); parts sum to total."""
    if not weights:
        return []
    if len(weights) == 1:  # one line (most purchases): all of it
        return [total]
    weight_sum = sum(weights)
    if weight_sum <= 0:
        return [total] + [0] * (len(weights) - 1)
    parts = [total * w // weight_sum for w in weights]
    rest = total - sum(parts)
    order = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % weight_sum), i))
    for i in order[:rest]:
        parts[i] += 1
    return parts


def purchase_lines(payload: dict[str, Any] | None, amount: int, currency: str) -> list[Line]:
    """The purchase's lines (payload ``lines``), plus a line for any part of the amount they do not cover."""
    raw = (payload or {}).get("lines") or []
    if not isinstance(raw, list):
        raise ValidationError("payload lines must be a list", field="payload.lines")
    lines: list[Line] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or "amount" not in item:
            raise ValidationError("each line needs an amount", field=f"payload.lines[{i}]")
        try:
            minor = parse_money(str(item["amount"]), currency).minor
        except ValidationError as exc:
            raise ValidationError(exc.message, field=f"payload.lines[{i}].amount") from None
        if minor < 0:
            raise ValidationError("line amounts are positive", field=f"payload.lines[{i}].amount")
        sku = item.get("sku")
        category = item.get("category")
        lines.append(
            Line(
                str(sku) if sku is not None else None,
                str(category) if category is not None else None,
                minor,
            )
        )
    covered = sum(line.amount for line in lines)
    if covered < amount:
        lines.append(Line(None, None, amount - covered))
    return lines


def _day(day: date | None, calendar: str) -> str:
    return format_date(day, calendar) if day else "…"


def _inactive(rule: Rule, day: date, calendar: str) -> str:
    return f"not active on {_day(day, calendar)} ({_day(rule.starts, calendar)} to {_day(rule.ends, calendar)})"


def _floor(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def _money(minor: int, currency: str) -> str:
    """An amount in the currency's major unit (``75.50 USD``), as every display shows it."""
    from crmcore.api import Formatter, Money

    return Formatter.for_language("en").money(Money(minor, currency))


def _why_amount(
    rule: Rule, base: int, units: int, points: int, matched: list[int], currency: str
) -> str:
    worth, per = _money(base, currency), _money(rule.per_minor, currency)
    what = (
        f"amount {worth}"
        if rule.kind == "per_amount"
        else f"lines with SKU {', '.join(rule.skus)} worth {worth}"
        if rule.kind == "per_sku"
        else f"lines in category {', '.join(rule.categories)} worth {worth}"
    )
    return (
        f"{what}: {units} × {rule.points} point(s) per {per}"
        if points
        else f"{what}: less than {per}"
        if matched
        else "no matching line"
    )


def compute_earning(
    program: Program,
    *,
    amount: int,
    lines: list[Line],
    day: date,
    first_purchase: bool,
    birthday_month: bool,
    external_factors: list[Decimal] = (),
    period_earned: int | None = None,
    explain: bool = True,
) -> Earning:
    """Points a purchase of ``amount`` (minor units) earns on local ``day`` under ``program``.

    ``explain=False`` lists only the rules that fired, each with an empty ``why`` (batch accrual records
    only which rules fired and their points; ``crm loyalty simulate`` explains every rule)."""
    firings: list[Firing] = []
    per_rule: dict[
        str, tuple[int, list[int], int]
    ] = {}  # rule -> (raw points, per-line weights, bonus)
    stopped_by: str | None = None
    for rule in program.earning_rules:
        if not rule.active_on(day):
            if explain:
                firings.append(
                    Firing(rule.name, rule.kind, False, 0, _inactive(rule, day, program.calendar))
                )
            continue
        if stopped_by:
            if explain:
                firings.append(
                    Firing(
                        rule.name,
                        rule.kind,
                        False,
                        0,
                        f"excluded by the exclusive rule {stopped_by!r}",
                    )
                )
            continue
        weights = [0] * len(lines)
        bonus = 0
        points = 0
        if rule.kind in ("per_amount", "per_sku", "per_category"):
            if rule.kind == "per_amount":
                matched = list(range(len(lines)))
                base = amount
            elif rule.kind == "per_sku":
                matched = [i for i, ln in enumerate(lines) if ln.sku in rule.skus]
                base = sum(lines[i].amount for i in matched)
            else:
                matched = [i for i, ln in enumerate(lines) if ln.category in rule.categories]
                base = sum(lines[i].amount for i in matched)
            units = base // rule.per_minor
            points = units * rule.points
            for i in matched:
                weights[i] = lines[i].amount
            why = (
                _why_amount(rule, base, units, points, matched, program.currency) if explain else ""
            )
        elif rule.kind == "fixed":
            points, bonus, why = rule.points, rule.points, "every purchase"
        elif rule.kind == "first_purchase":
            points = rule.points if first_purchase else 0
            bonus = points
            why = "the member's first purchase" if first_purchase else "not the first purchase"
        else:  # birthday_month
            points = rule.points if birthday_month else 0
            bonus = points
            why = "in the member's birthday month" if birthday_month else "not the birthday month"
        if points:
            per_rule[rule.name] = (points, weights, bonus)
            firings.append(Firing(rule.name, rule.kind, True, points, why))
            if rule.stacking == "exclusive":
                stopped_by = rule.name
        elif explain:
            firings.append(Firing(rule.name, rule.kind, False, 0, why))

    factors: dict[str, Decimal | int] = dict.fromkeys(
        per_rule, 1
    )  # Decimal once a multiplier applies
    stopped_by = None
    for rule in program.multipliers:
        if not rule.active_on(day):
            if explain:
                firings.append(
                    Firing(rule.name, rule.kind, False, 0, _inactive(rule, day, program.calendar))
                )
            continue
        if stopped_by:
            if explain:
                firings.append(
                    Firing(
                        rule.name,
                        rule.kind,
                        False,
                        0,
                        f"excluded by the exclusive multiplier {stopped_by!r}",
                    )
                )
            continue
        targets = [n for n in per_rule if not rule.applies_to or n in rule.applies_to]
        if not targets:
            if explain:
                firings.append(
                    Firing(rule.name, rule.kind, False, 0, "none of its rules earned points")
                )
            continue
        for name in targets:
            factors[name] *= rule.factor
        firings.append(
            Firing(
                rule.name,
                rule.kind,
                True,
                0,
                f"× {rule.factor} on {', '.join(targets)}" if explain else "",
            )
        )
        if rule.stacking == "exclusive":
            stopped_by = rule.name
    external: Decimal | int = 1
    for f in external_factors:
        external *= f
    if external != 1 and per_rule:
        firings.append(
            Firing("plugins", "multiplier", True, 0, f"× {external} from other plugins (tiers)")
        )

    line_points = [0] * len(lines)
    bonus_points = 0
    total = 0
    finals: list[tuple[int, list[int], bool]] = []
    for name, (points, weights, bonus) in per_rule.items():
        factor = factors[name] * external
        final = points if factor == 1 else _floor(points * factor)
        total += final
        finals.append((final, weights, bool(bonus)))
    capped = None
    limit = total
    if program.cap_per_purchase is not None and limit > program.cap_per_purchase:
        limit, capped = program.cap_per_purchase, f"per-purchase cap {program.cap_per_purchase:,}"
    if program.cap_per_period is not None and period_earned is not None:
        headroom = max(program.cap_per_period - period_earned, 0)
        if limit > headroom:
            limit, capped = (
                headroom,
                (
                    f"per-{program.cap_period} cap {program.cap_per_period:,} "
                    f"({period_earned:,} already earned)"
                ),
            )
    if limit != total:
        scaled = allocate(limit, [f for f, _w, _b in finals])
        finals = [(s, w, b) for s, (_f, w, b) in zip(scaled, finals)]
        firings.append(Firing("caps", "cap", True, limit - total, capped or ""))
    for final, weights, is_bonus in finals:
        if is_bonus:
            bonus_points += final
        else:
            for i, part in enumerate(allocate(final, weights)):
                line_points[i] += part
    return Earning(
        points=limit,
        line_points=tuple(line_points),
        bonus_points=bonus_points,
        firings=tuple(firings),
        factor=Decimal(external),
        capped=capped,
    )
