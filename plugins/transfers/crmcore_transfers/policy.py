"""The ``[transfers]`` section of the loyalty program file: parsing, validation and the fee rule.

Loyalty calls :func:`validate_section` (claimed through ``loyalty_program_sections``) whenever a program file
is loaded or read; errors name the key inside the section (loyalty prefixes ``transfers.``). Example::

    [transfers]
    recipients = ["family", "approved"]   # "any", "family", "approved" — one or a list (any of them admits)
    min_points = 50
    max_points = 5000
    fee = "2%"                            # or a whole number of points (10); absent: no fee
    expiry_days = 90                      # received points expire 90 days after receipt (or with their lot)
    acceptance = "required"               # or "instant"
    accept_within_days = 7
    family_cooling_days = 14
    family_max_members = 6
    calendar = "jalali"                   # of the period limits; default: the program's calendar

    [[transfers.limits]]
    period = "jalali_month"               # week, month (in the policy's calendar), gregorian_month, jalali_month
    max_count = 4
    max_points = 10000
    direction = "sent"                    # or "received"
"""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

import attrs

from crmcore.api import ValidationError, to_ascii_digits

RECIPIENT_CIRCLES = ("any", "family", "approved")
ACCEPTANCE = ("instant", "required")
PERIODS = ("week", "month", "gregorian_month", "jalali_month")
DIRECTIONS = ("sent", "received")
CALENDARS = ("jalali", "gregorian")
KEYS = {
    "recipients",
    "min_points",
    "max_points",
    "fee",
    "expiry_days",
    "acceptance",
    "accept_within_days",
    "family_cooling_days",
    "family_max_members",
    "calendar",
    "limits",
}
LIMIT_KEYS = {"period", "max_count", "max_points", "direction"}


@attrs.frozen
class Limit:
    """At most ``max_count`` transfers and/or ``max_points`` points per period, sent or received."""

    period: str
    direction: str = "sent"
    max_count: int | None = None
    max_points: int | None = None

    def describe(self, calendar: str) -> str:
        period = {
            "month": "Jalali month" if calendar == "jalali" else "Gregorian month",
            "gregorian_month": "Gregorian month",
            "jalali_month": "Jalali month",
        }.get(self.period, self.period)
        caps = [
            f"{self.max_count} transfers" if self.max_count else "",
            f"{self.max_points:,} points" if self.max_points else "",
        ]
        return f"{' and '.join(c for c in caps if c)} {self.direction} per {period}"


@attrs.frozen
class Policy:
    recipients: tuple[str, ...] = ("any",)
    min_points: int = 1
    max_points: int | None = None
    fee_points: int = 0
    fee_percent: Decimal = Decimal(0)
    expiry_days: int | None = None
    acceptance: str = "instant"
    accept_within_days: int = 7
    family_cooling_days: int = 0
    family_max_members: int = 6
    calendar: str | None = None  # None: the program's calendar
    limits: tuple[Limit, ...] = ()

    @property
    def requires_acceptance(self) -> bool:
        return self.acceptance == "required"

    def fee_for(self, points: int) -> int:
        """The fee the sender pays on top of ``points``: fixed points, or a percent rounded up to a whole point."""
        if self.fee_percent:
            return self.fee_points + int(
                (self.fee_percent * points / 100).to_integral_value(ROUND_CEILING)
            )
        return self.fee_points

    def describe_fee(self) -> str:
        if self.fee_percent:
            return f"{self.fee_percent}% (rounded up)" + (
                f" + {self.fee_points}" if self.fee_points else ""
            )
        return f"{self.fee_points} points" if self.fee_points else "none"

    def to_dict(self, calendar: str) -> dict[str, Any]:
        return {
            "recipients": list(self.recipients),
            "min_points": self.min_points,
            "max_points": self.max_points,
            "fee": self.describe_fee(),
            "fee_points": self.fee_points,
            "fee_percent": str(self.fee_percent),
            "expiry_days": self.expiry_days,
            "acceptance": self.acceptance,
            "accept_within_days": self.accept_within_days,
            "family_cooling_days": self.family_cooling_days,
            "family_max_members": self.family_max_members,
            "calendar": calendar,
            "limits": [
                {
                    "period": lim.period,
                    "direction": lim.direction,
                    "max_count": lim.max_count,
                    "max_points": lim.max_points,
                    "text": lim.describe(calendar),
                }
                for lim in self.limits
            ],
        }


def _int(raw: dict[str, Any], key: str, default: int | None, minimum: int) -> int | None:
    value = raw.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"must be a whole number, not {value!r}", field=key)
    if value < minimum:
        raise ValidationError(f"must be at least {minimum}, not {value}", field=key)
    return value


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.strip() not in choices:
        raise ValidationError(f"{value!r} is not one of {', '.join(choices)}", field=key)
    return value.strip()


def parse_fee(value: Any, key: str = "fee") -> tuple[int, Decimal]:
    """``10`` (points) or ``"2%"`` / ``"2.5%"`` (percent of the amount) → ``(points, percent)``."""
    if value is None or value == 0:
        return 0, Decimal(0)
    if isinstance(value, bool) or isinstance(value, float):
        raise ValidationError(
            f'write a fee as whole points (10) or a percent in quotes ("2%"), not {value!r}',
            field=key,
        )
    if isinstance(value, int):
        if value < 0:
            raise ValidationError(f"a fee cannot be negative ({value})", field=key)
        return value, Decimal(0)
    text = to_ascii_digits(str(value)).strip().replace("٪", "%")
    if text.endswith("%"):
        try:
            percent = Decimal(text[:-1].strip())
        except InvalidOperation:
            raise ValidationError(f'{value!r} is not a percent such as "2%"', field=key) from None
        if not percent.is_finite() or percent < 0 or percent >= 100:
            raise ValidationError(
                f"a percent fee must be at least 0 and below 100, not {value!r}", field=key
            )
        return 0, percent
    if text.isdigit():
        return int(text), Decimal(0)
    raise ValidationError(
        f'{value!r} is not a fee (whole points such as 10, or a percent such as "2%")', field=key
    )


def _limit(raw: Any, i: int) -> Limit:
    where = f"limits[{i}]"
    if not isinstance(raw, dict):
        raise ValidationError("each limit is a table ([[transfers.limits]])", field=where)
    extra = sorted(set(raw) - LIMIT_KEYS)
    if extra:
        raise ValidationError(
            f"unknown key {extra[0]!r} (allowed: {', '.join(sorted(LIMIT_KEYS))})",
            field=f"{where}.{extra[0]}",
        )
    if "period" not in raw:
        raise ValidationError(f"is required ({', '.join(PERIODS)})", field=f"{where}.period")
    limit = Limit(
        period=_choice(raw["period"], f"{where}.period", PERIODS),
        direction=_choice(raw.get("direction", "sent"), f"{where}.direction", DIRECTIONS),
        max_count=_int(raw, "max_count", None, 1) if "max_count" in raw else None,
        max_points=_int(raw, "max_points", None, 1) if "max_points" in raw else None,
    )
    if limit.max_count is None and limit.max_points is None:
        raise ValidationError("a limit needs max_count, max_points or both", field=where)
    return limit


def validate_section(raw: Any) -> Policy:
    """Validate the parsed ``[transfers]`` table; returns the :class:`Policy` (errors name the key)."""
    if not isinstance(raw, dict):
        raise ValidationError("must be a table ([transfers])", field="")
    extra = sorted(set(raw) - KEYS)
    if extra:
        raise ValidationError(
            f"unknown key {extra[0]!r} (allowed: {', '.join(sorted(KEYS))})", field=extra[0]
        )
    circles = raw.get("recipients", "any")
    circles = [circles] if isinstance(circles, str) else circles
    if not isinstance(circles, list) or not circles:
        raise ValidationError(
            'must be "any", "family", "approved" or a list of them', field="recipients"
        )
    recipients = tuple(dict.fromkeys(_choice(c, "recipients", RECIPIENT_CIRCLES) for c in circles))
    if "any" in recipients:
        recipients = ("any",)
    min_points = _int(raw, "min_points", 1, 1)
    max_points = _int(raw, "max_points", None, 1)
    if max_points is not None and max_points < min_points:
        raise ValidationError(
            f"max_points ({max_points}) is below min_points ({min_points})", field="max_points"
        )
    fee_points, fee_percent = parse_fee(raw.get("fee"))
    if not isinstance(raw.get("limits", []), list):
        raise ValidationError("write limits as [[transfers.limits]] tables", field="limits")
    with_limits = tuple(_limit(r, i) for i, r in enumerate(raw.get("limits", [])))
    seen = set()
    for i, lim in enumerate(with_limits):
        if (lim.period, lim.direction) in seen:
            raise ValidationError(
                f"two limits for {lim.direction} per {lim.period}; merge them", field=f"limits[{i}]"
            )
        seen.add((lim.period, lim.direction))
    return Policy(
        recipients=recipients,
        min_points=min_points,
        max_points=max_points,
        fee_points=fee_points,
        fee_percent=fee_percent,
        expiry_days=_int(raw, "expiry_days", None, 1),
        acceptance=_choice(raw.get("acceptance", "instant"), "acceptance", ACCEPTANCE),
        accept_within_days=_int(raw, "accept_within_days", 7, 1),
        family_cooling_days=_int(raw, "family_cooling_days", 0, 0),
        family_max_members=_int(raw, "family_max_members", 6, 2),
        calendar=_choice(raw["calendar"], "calendar", CALENDARS) if "calendar" in raw else None,
        limits=with_limits,
    )
