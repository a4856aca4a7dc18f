"""The program file (TOML): parsing and validation into a :class:`Program`, with errors naming the key.

A program is loaded as a new version (``crm loyalty program load FILE``); the highest version is active and
its number is recorded on every ledger entry. Unknown keys, negative rates, unknown rule kinds or rewards are
refused before anything is stored. Sections owned by other plugins (``[tiers]``, ``[transfers]``) are checked
by the validators they return from the ``loyalty_program_sections`` hook.
"""

from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

import attrs

from crmcore.api import ValidationError, parse_date, parse_money

SPEND_ORDERS = ("soonest_expiring", "oldest")
NEGATIVE_POLICIES = ("allow_negative", "clawback", "absorb")
EARNING_KINDS = (
    "per_amount",
    "per_sku",
    "per_category",
    "fixed",
    "first_purchase",
    "birthday_month",
)
RULE_KINDS = EARNING_KINDS + ("multiplier", "threshold")
STACKING = ("stack", "exclusive")
REWARD_KINDS = ("percent_discount", "fixed_discount", "free_item", "voucher", "points_payment")
CALENDARS = ("jalali", "gregorian")
PERIODS = ("month", "year")

PROGRAM_KEYS = {
    "name",
    "currency",
    "calendar",
    "spend_order",
    "negative_balance",
    "expiry",
    "expiry_warning_days",
    "point_value",
}
CAPS_KEYS = {"per_purchase", "per_period", "period"}
RULE_COMMON = {"name", "kind", "priority", "stacking", "description", "starts", "ends"}
RULE_KEYS = {
    "per_amount": {"points", "per"},
    "per_sku": {"points", "per", "skus"},
    "per_category": {"points", "per", "categories"},
    "fixed": {"points"},
    "first_purchase": {"points"},
    "birthday_month": {"points"},
    "multiplier": {"factor", "rules"},
    "threshold": {"every", "reward"},
}
REWARD_COMMON = {
    "code",
    "title",
    "title_fa",
    "kind",
    "cost",
    "valid_days",
    "per_customer_limit",
    "global_limit",
    "available_from",
    "available_until",
}
REWARD_KEYS = {
    "percent_discount": {"percent"},
    "fixed_discount": {"amount"},
    "free_item": {"sku"},
    "voucher": {"amount"},
    "points_payment": {"min_points"},
}


@attrs.frozen
class Expiry:
    """When earned points expire: ``never``, after N ``months``/``days``, or at the ``end_of_year``."""

    unit: str = "never"  # never | months | days | end_of_year
    count: int = 0

    def describe(self) -> str:
        return {"never": "never", "end_of_year": "end_of_year"}.get(
            self.unit, f"{self.count} {self.unit}"
        )


@attrs.frozen
class Rule:
    name: str
    kind: str
    priority: int = 100
    stacking: str = "stack"
    points: int = 0
    per_minor: int = 0
    skus: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    factor: Decimal = Decimal(1)
    applies_to: tuple[str, ...] = ()  # multiplier: only these rules (empty: all)
    every_minor: int = 0
    reward: str | None = None
    starts: date | None = None
    ends: date | None = None  # inclusive
    description: str = ""

    def active_on(self, day: date) -> bool:
        return (self.starts is None or day >= self.starts) and (
            self.ends is None or day <= self.ends
        )


@attrs.frozen
class Reward:
    code: str
    title: str
    kind: str
    cost: int
    title_fa: str | None = None
    percent: int | None = None
    amount_minor: int | None = None
    sku: str | None = None
    min_points: int = 1
    valid_days: int | None = None
    per_customer_limit: int | None = None
    global_limit: int | None = None
    available_from: date | None = None
    available_until: date | None = None  # inclusive


@attrs.frozen
class Program:
    version: int | None = None
    name: str = "loyalty"
    currency: str = "IRR"
    calendar: str = "jalali"
    spend_order: str = "soonest_expiring"
    negative_balance: str = "clawback"
    expiry: Expiry = Expiry()
    expiry_warning_days: int = 30
    point_value_minor: int = (
        0  # what one point is worth when paying with points (and for the liability report)
    )
    cap_per_purchase: int | None = None
    cap_per_period: int | None = None
    cap_period: str = "month"
    rules: tuple[Rule, ...] = ()
    rewards: dict[str, Reward] = attrs.field(factory=dict)
    #: validated sections owned by other plugins (``tiers``, ``transfers``), by section name
    sections: dict[str, Any] = attrs.field(factory=dict)
    config: dict[str, Any] = attrs.field(factory=dict)

    #: earning rules in evaluation order (ascending priority, then file order)
    earning_rules: tuple[Rule, ...] = attrs.field(init=False)
    #: multipliers in evaluation order
    multipliers: tuple[Rule, ...] = attrs.field(init=False)
    thresholds: tuple[Rule, ...] = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        by_priority = sorted(self.rules, key=lambda r: r.priority)
        object.__setattr__(
            self, "earning_rules", tuple(r for r in by_priority if r.kind in EARNING_KINDS)
        )
        object.__setattr__(
            self, "multipliers", tuple(r for r in by_priority if r.kind == "multiplier")
        )
        object.__setattr__(
            self, "thresholds", tuple(r for r in self.rules if r.kind == "threshold")
        )


DEFAULT_PROGRAM = Program()

# ---------------------------------------------------------------------------------------------------------
# parsing


def parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError(
            f"the program file is not valid TOML: {exc}", field="program"
        ) from None


def _unknown(table: dict[str, Any], allowed: set[str], where: str) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ValidationError(
            f"unknown key {extra[0]!r} (allowed: {', '.join(sorted(allowed))})",
            field=f"{where}.{extra[0]}" if where else extra[0],
        )


def _int(value: Any, field: str, *, minimum: int = 0, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"must be a whole number, not {value!r}", field=field)
    if value < minimum:
        raise ValidationError(f"must be at least {minimum}, not {value}", field=field)
    return value


def _str(value: Any, field: str, *, choices: tuple[str, ...] | None = None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"must be a non-empty text, not {value!r}", field=field)
    value = value.strip()
    if choices and value not in choices:
        raise ValidationError(f"{value!r} is not one of {', '.join(choices)}", field=field)
    return value


def _money(value: Any, currency: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(
            f'write amounts as text or whole numbers ("10000"), not {value!r}', field=field
        )
    try:
        minor = parse_money(str(value), currency).minor
    except ValidationError as exc:
        raise ValidationError(exc.message, field=field) from None
    if minor <= 0:
        raise ValidationError(f"must be a positive amount, not {value}", field=field)
    return minor


def _date(value: Any, field: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise ValidationError(
            f"must be a date such as 1403-12-25 or 2025-03-15, not {value!r}", field=field
        )
    return parse_date(value, field=field)


def _names(value: Any, field: str) -> tuple[str, ...]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.strip() for v in value)
    ):
        raise ValidationError("must be a non-empty list of texts", field=field)
    return tuple(v.strip() for v in value)


def parse_expiry(value: Any, field: str = "program.expiry") -> Expiry:
    if value is None or value == "never":
        return Expiry()
    if value == "end_of_year":
        return Expiry("end_of_year")
    if isinstance(value, str):
        parts = value.split()
        if (
            len(parts) == 2
            and parts[0].isdigit()
            and parts[1] in ("months", "month", "days", "day")
        ):
            n = int(parts[0])
            if n <= 0:
                raise ValidationError("the expiry period must be positive", field=field)
            return Expiry("months" if parts[1].startswith("month") else "days", n)
    raise ValidationError(
        f'{value!r} is not an expiry ("never", "12 months", "90 days" or "end_of_year")',
        field=field,
    )


def _rule(raw: Any, i: int, currency: str) -> Rule:
    where = f"rules[{i}]"
    if not isinstance(raw, dict):
        raise ValidationError("each rule is a table ([[rules]])", field=where)
    kind = _str(raw.get("kind"), f"{where}.kind", choices=RULE_KINDS)
    _unknown(raw, RULE_COMMON | RULE_KEYS[kind], where)
    name = _str(raw.get("name"), f"{where}.name")
    fields: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "priority": _int(raw.get("priority", 100), f"{where}.priority"),
        "stacking": _str(raw.get("stacking", "stack"), f"{where}.stacking", choices=STACKING),
        "description": str(raw.get("description", "")),
        "starts": _date(raw.get("starts"), f"{where}.starts"),
        "ends": _date(raw.get("ends"), f"{where}.ends"),
    }
    if fields["starts"] and fields["ends"] and fields["starts"] > fields["ends"]:
        raise ValidationError("starts after it ends", field=f"{where}.starts")
    if kind in EARNING_KINDS:
        if "points" not in raw:
            raise ValidationError("is required", field=f"{where}.points")
        fields["points"] = _int(raw["points"], f"{where}.points", minimum=1)
    if kind in ("per_amount", "per_sku", "per_category"):
        if "per" not in raw:
            raise ValidationError(
                "is required (the amount that earns `points`)", field=f"{where}.per"
            )
        fields["per_minor"] = _money(raw["per"], currency, f"{where}.per")
    if kind == "per_sku":
        fields["skus"] = _names(raw.get("skus"), f"{where}.skus")
    if kind == "per_category":
        fields["categories"] = _names(raw.get("categories"), f"{where}.categories")
    if kind == "multiplier":
        try:
            factor = Decimal(str(raw.get("factor")))
        except InvalidOperation:
            raise ValidationError(
                f"{raw.get('factor')!r} is not a number", field=f"{where}.factor"
            ) from None
        if isinstance(raw.get("factor"), float) or not factor.is_finite() or factor <= 0:
            raise ValidationError(
                'must be a positive decimal written as text ("1.5")', field=f"{where}.factor"
            )
        fields["factor"] = factor
        if "rules" in raw:
            fields["applies_to"] = _names(raw["rules"], f"{where}.rules")
    if kind == "threshold":
        if "every" not in raw:
            raise ValidationError(
                "is required (the spending that earns the reward)", field=f"{where}.every"
            )
        fields["every_minor"] = _money(raw["every"], currency, f"{where}.every")
        fields["reward"] = _str(raw.get("reward"), f"{where}.reward")
    return Rule(**fields)


def _reward(raw: Any, i: int, currency: str) -> Reward:
    where = f"rewards[{i}]"
    if not isinstance(raw, dict):
        raise ValidationError("each reward is a table ([[rewards]])", field=where)
    kind = _str(raw.get("kind"), f"{where}.kind", choices=REWARD_KINDS)
    _unknown(raw, REWARD_COMMON | REWARD_KEYS[kind], where)
    code = _str(raw.get("code"), f"{where}.code")
    fields: dict[str, Any] = {
        "code": code,
        "kind": kind,
        "title": _str(raw.get("title", code), f"{where}.title"),
        "title_fa": raw.get("title_fa"),
        "cost": _int(raw.get("cost", 0), f"{where}.cost"),
        "valid_days": _int(
            raw.get("valid_days"), f"{where}.valid_days", minimum=1, allow_none=True
        ),
        "per_customer_limit": _int(
            raw.get("per_customer_limit"), f"{where}.per_customer_limit", minimum=1, allow_none=True
        ),
        "global_limit": _int(
            raw.get("global_limit"), f"{where}.global_limit", minimum=1, allow_none=True
        ),
        "available_from": _date(raw.get("available_from"), f"{where}.available_from"),
        "available_until": _date(raw.get("available_until"), f"{where}.available_until"),
    }
    if kind == "percent_discount":
        fields["percent"] = _int(raw.get("percent"), f"{where}.percent", minimum=1)
        if fields["percent"] > 100:
            raise ValidationError("a discount cannot exceed 100 percent", field=f"{where}.percent")
    if kind in ("fixed_discount", "voucher"):
        if "amount" not in raw:
            raise ValidationError("is required", field=f"{where}.amount")
        fields["amount_minor"] = _money(raw["amount"], currency, f"{where}.amount")
    if kind == "free_item":
        fields["sku"] = _str(raw.get("sku"), f"{where}.sku")
    if kind == "points_payment":
        fields["min_points"] = _int(raw.get("min_points", 1), f"{where}.min_points", minimum=1)
    if (
        kind != "points_payment"
        and kind != "free_item"
        and fields["cost"] == 0
        and "cost" not in raw
    ):
        raise ValidationError(
            "is required (points the reward costs; 0 for threshold-only rewards)",
            field=f"{where}.cost",
        )
    return Reward(**fields)


def validate_program(
    data: dict[str, Any],
    section_validators: dict[str, Callable[[Any], Any]],
    version: int | None = None,
) -> Program:
    """Validate a parsed program file; return the :class:`Program` (raises :class:`ValidationError`)."""
    known = {"program", "caps", "rules", "rewards"} | set(section_validators)
    extra = sorted(set(data) - known)
    if extra:
        owners = (
            f"; sections of enabled plugins: {', '.join(sorted(section_validators))}"
            if section_validators
            else ""
        )
        raise ValidationError(
            f"unknown section [{extra[0]}] (allowed: program, caps, rules, rewards{owners})",
            field=extra[0],
        )
    head = data.get("program", {})
    if not isinstance(head, dict):
        raise ValidationError("must be a table", field="program")
    _unknown(head, PROGRAM_KEYS, "program")
    currency = _str(head.get("currency", "IRR"), "program.currency").upper()
    try:
        parse_money("1", currency)
    except ValidationError:
        raise ValidationError(f"unknown currency {currency!r}", field="program.currency") from None
    fields: dict[str, Any] = {
        "version": version,
        "name": _str(head.get("name", "loyalty"), "program.name"),
        "currency": currency,
        "calendar": _str(head.get("calendar", "jalali"), "program.calendar", choices=CALENDARS),
        "spend_order": _str(
            head.get("spend_order", "soonest_expiring"), "program.spend_order", choices=SPEND_ORDERS
        ),
        "negative_balance": _str(
            head.get("negative_balance", "clawback"),
            "program.negative_balance",
            choices=NEGATIVE_POLICIES,
        ),
        "expiry": parse_expiry(head.get("expiry", "never")),
        "expiry_warning_days": _int(
            head.get("expiry_warning_days", 30), "program.expiry_warning_days"
        ),
        "point_value_minor": (
            _money(head["point_value"], currency, "program.point_value")
            if "point_value" in head
            else 0
        ),
    }
    caps = data.get("caps", {})
    if not isinstance(caps, dict):
        raise ValidationError("must be a table", field="caps")
    _unknown(caps, CAPS_KEYS, "caps")
    fields["cap_per_purchase"] = _int(
        caps.get("per_purchase"), "caps.per_purchase", minimum=1, allow_none=True
    )
    fields["cap_per_period"] = _int(
        caps.get("per_period"), "caps.per_period", minimum=1, allow_none=True
    )
    fields["cap_period"] = _str(caps.get("period", "month"), "caps.period", choices=PERIODS)

    raw_rules = data.get("rules", [])
    if not isinstance(raw_rules, list):
        raise ValidationError("write rules as [[rules]] tables", field="rules")
    rules = tuple(_rule(r, i, currency) for i, r in enumerate(raw_rules))
    names = [r.name for r in rules]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise ValidationError(f"two rules are named {dup!r}", field="rules")
    raw_rewards = data.get("rewards", [])
    if not isinstance(raw_rewards, list):
        raise ValidationError("write rewards as [[rewards]] tables", field="rewards")
    rewards: dict[str, Reward] = {}
    for i, raw in enumerate(raw_rewards):
        reward = _reward(raw, i, currency)
        if reward.code in rewards:
            raise ValidationError(
                f"two rewards have the code {reward.code!r}", field=f"rewards[{i}].code"
            )
        rewards[reward.code] = reward
    for i, rule in enumerate(rules):
        if rule.kind == "threshold" and rule.reward not in rewards:
            raise ValidationError(
                f"no reward with code {rule.reward!r} in [[rewards]]", field=f"rules[{i}].reward"
            )
        for target in rule.applies_to:
            if target not in names or target == rule.name:
                raise ValidationError(
                    f"no earning rule named {target!r}", field=f"rules[{i}].rules"
                )
    if (
        any(r.kind == "points_payment" for r in rewards.values())
        and not fields["point_value_minor"]
    ):
        raise ValidationError(
            "paying with points needs program.point_value (what one point is worth)",
            field="program.point_value",
        )
    sections: dict[str, Any] = {}
    for name, validator in section_validators.items():
        if name in data:
            try:
                sections[name] = validator(data[name])
            except ValidationError as exc:
                raise ValidationError(
                    exc.message, field=f"{name}.{exc.field}" if exc.field else name
                ) from None
    return Program(**fields, rules=rules, rewards=rewards, sections=sections, config=data)
