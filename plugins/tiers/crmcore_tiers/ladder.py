"""The tier ladder: the ``[[tiers]]`` section of the loyalty program file, validated into a :class:`Ladder`.

Loyalty hands the parsed section to :func:`validate_section` (claimed through ``loyalty_program_sections``)
when a program is loaded, checked or read; errors name the tier and key (``tiers.gold.threshold``) and loyalty
stores nothing. The lowest rank is the base tier every member starts in; every other tier qualifies on a metric
(``points`` earned, ``spend`` or ``purchases``) reaching a ``threshold`` within a window, or on the alternatives
``or_points`` / ``or_spend`` / ``or_purchases``.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from crmcore.api import ValidationError, parse_money

METRICS = ("points", "spend", "purchases")
METRIC_UNITS = {"points": "points", "spend": "spent", "purchases": "purchases"}
TIER_KEYS = {
    "name",
    "title",
    "title_fa",
    "rank",
    "metric",
    "threshold",
    "window",
    "or_points",
    "or_spend",
    "or_purchases",
    "multiplier",
    "discount_percent",
    "perks",
    "grace_days",
    "notice_days",
    "rollover",
}
QUALIFYING_KEYS = (
    "metric",
    "threshold",
    "window",
    "or_points",
    "or_spend",
    "or_purchases",
    "grace_days",
    "notice_days",
    "rollover",
)
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_ROLLING = re.compile(r"^rolling\s+(\d+)\s+days?$")


@attrs.frozen
class Window:
    """Where qualifying activity is counted: the last ``days`` local days, or a Gregorian or Jalali year."""

    kind: str  # rolling | calendar_year | jalali_year
    days: int = 0

    @property
    def yearly(self) -> bool:
        return self.kind != "rolling"

    def describe(self) -> str:
        return {"calendar_year": "calendar year", "jalali_year": "Jalali year"}.get(
            self.kind, f"rolling {self.days} days"
        )

    def describe_fa(self) -> str:
        return {"calendar_year": "سال میلادی", "jalali_year": "سال شمسی"}.get(
            self.kind, f"{self.days} روز اخیر"
        )


@attrs.frozen
class Criterion:
    """``metric`` reaching ``threshold``: an int for points and purchases, a decimal amount for spend (in the
    program's currency, converted to minor units with :meth:`minor`)."""

    metric: str
    threshold: Any  # int, or Decimal for spend
    key: str  # the key it was written under (threshold, or_spend…), for messages

    def minor(self, currency: str) -> int:
        """The threshold in the unit measured: points, purchases, or minor units of ``currency``."""
        if self.metric != "spend":
            return int(self.threshold)
        return parse_money(str(self.threshold), currency).minor


@attrs.frozen
class Tier:
    name: str
    rank: int
    title: str
    title_fa: str | None = None
    criteria: tuple[Criterion, ...] = ()
    window: Window | None = None
    multiplier: Decimal = Decimal(1)
    discount_percent: int = 0
    perks: tuple[str, ...] = ()
    grace_days: int = 0
    notice_days: int = 30
    rollover: bool = False

    @property
    def is_base(self) -> bool:
        return not self.criteria

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rank": self.rank,
            "title": self.title,
            "title_fa": self.title_fa,
            "qualify": [{"metric": c.metric, "threshold": str(c.threshold)} for c in self.criteria],
            "window": self.window.describe() if self.window else None,
            "multiplier": str(self.multiplier),
            "discount_percent": self.discount_percent,
            "perks": list(self.perks),
            "grace_days": self.grace_days,
            "notice_days": self.notice_days,
            "rollover": self.rollover,
        }


@attrs.frozen
class Ladder:
    tiers: tuple[Tier, ...]  # ascending rank; tiers[0] is the base tier

    @property
    def base(self) -> Tier:
        return self.tiers[0]

    @property
    def top(self) -> Tier:
        return self.tiers[-1]

    def get(self, name: str | None) -> Tier | None:
        return next((t for t in self.tiers if t.name == name), None)

    def rank_of(self, name: str | None) -> int:
        """The rank of ``name``; a tier no longer in the ladder ranks below the base tier."""
        tier = self.get(name)
        return tier.rank if tier is not None else self.base.rank - 1

    def above(self, name: str | None) -> list[Tier]:
        rank = self.rank_of(name)
        return [t for t in self.tiers if t.rank > rank]

    def next_above(self, name: str | None) -> Tier | None:
        higher = self.above(name)
        return higher[0] if higher else None

    def names(self) -> str:
        return ", ".join(t.name for t in self.tiers)


# ---------------------------------------------------------------------------------------------------------
# validation


def parse_window(value: Any, field: str) -> Window:
    text = str(value).strip().lower().replace("_", " ") if isinstance(value, str) else None
    if text in ("calendar year", "gregorian year", "year"):
        return Window("calendar_year")
    if text in ("jalali year", "persian year", "shamsi year"):
        return Window("jalali_year")
    m = _ROLLING.match(text or "")
    if m and int(m.group(1)) > 0:
        return Window("rolling", int(m.group(1)))
    raise ValidationError(
        f'{value!r} is not a window ("rolling 365 days", "calendar year" or "jalali year")',
        field=field,
    )


def _threshold(metric: str, value: Any, field: str) -> Any:
    if metric == "spend":
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError(
                f'write amounts as text or whole numbers ("50000000"), not {value!r}', field=field
            )
        try:
            amount = Decimal(str(value).replace(",", "").strip())
        except InvalidOperation:
            raise ValidationError(f"{value!r} is not an amount", field=field) from None
        if not amount.is_finite() or amount <= 0:
            raise ValidationError(f"must be a positive amount, not {value}", field=field)
        return amount
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"must be a whole number of {metric}, not {value!r}", field=field)
    if value <= 0:
        raise ValidationError(f"must be a positive number of {metric}, not {value}", field=field)
    return value


def _int(raw: dict, key: str, field: str, default: int, *, maximum: int | None = None) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"must be a whole number (0 or more), not {value!r}", field=field)
    if maximum is not None and value > maximum:
        raise ValidationError(f"must be at most {maximum}, not {value}", field=field)
    return value


def _tier(raw: Any, i: int) -> tuple[Tier, dict]:
    where = f"#{i + 1}"
    if not isinstance(raw, dict):
        raise ValidationError("each tier is a table: write [[tiers]] blocks", field=where)
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError('every tier needs a name (name = "gold")', field=f"{where}.name")
    name = name.strip()
    if not _NAME.match(name):
        raise ValidationError(
            f'{name!r} is not a tier name: use a short latin name such as "gold" (lower-case '
            "letters, digits, - or _) and put the Persian name in title_fa",
            field=f"{where}.name",
        )
    where = name
    extra = sorted(set(raw) - TIER_KEYS)
    if extra:
        raise ValidationError(
            f"unknown key {extra[0]!r} (allowed: {', '.join(sorted(TIER_KEYS))})",
            field=f"{where}.{extra[0]}",
        )
    rank = raw.get("rank")
    if isinstance(rank, bool) or not isinstance(rank, int):
        raise ValidationError(
            f"every tier needs a whole-number rank (0 for the lowest), not {rank!r}",
            field=f"{where}.rank",
        )
    title = raw.get("title", name.title())
    if not isinstance(title, str) or not title.strip():
        raise ValidationError("must be a non-empty text", field=f"{where}.title")
    title_fa = raw.get("title_fa")
    if title_fa is not None and (not isinstance(title_fa, str) or not title_fa.strip()):
        raise ValidationError("must be a non-empty text", field=f"{where}.title_fa")
    multiplier = Decimal(1)
    if "multiplier" in raw:
        value = raw["multiplier"]
        try:
            multiplier = (
                Decimal(str(value))
                if isinstance(value, (str, int)) and not isinstance(value, bool)
                else None
            )
        except InvalidOperation:
            multiplier = None
        if multiplier is None or not multiplier.is_finite() or multiplier <= 0:
            raise ValidationError(
                f'must be a positive decimal written as text ("1.5"), not {value!r}',
                field=f"{where}.multiplier",
            )
    perks = raw.get("perks", [])
    if not isinstance(perks, list) or not all(isinstance(p, str) and p.strip() for p in perks):
        raise ValidationError(
            'must be a list of texts (perks = ["free delivery"])', field=f"{where}.perks"
        )
    rollover = raw.get("rollover", False)
    if not isinstance(rollover, bool):
        raise ValidationError(f"must be true or false, not {rollover!r}", field=f"{where}.rollover")
    tier = Tier(
        name=name,
        rank=rank,
        title=title.strip(),
        title_fa=title_fa.strip() if title_fa else None,
        multiplier=multiplier,
        discount_percent=_int(raw, "discount_percent", f"{where}.discount_percent", 0, maximum=100),
        perks=tuple(p.strip() for p in perks),
        grace_days=_int(raw, "grace_days", f"{where}.grace_days", 0),
        notice_days=_int(raw, "notice_days", f"{where}.notice_days", 30),
        rollover=rollover,
    )
    return tier, raw


def _qualification(tier: Tier, raw: dict) -> Tier:
    where = tier.name
    if "metric" not in raw or "threshold" not in raw or "window" not in raw:
        missing = next(k for k in ("metric", "threshold", "window") if k not in raw)
        raise ValidationError(
            f"is required: a tier above the base tier qualifies on a metric ({', '.join(METRICS)}) "
            "reaching a threshold within a window",
            field=f"{where}.{missing}",
        )
    metric = raw["metric"]
    if metric not in METRICS:
        raise ValidationError(
            f"{metric!r} is not a metric ({', '.join(METRICS)})", field=f"{where}.metric"
        )
    criteria = [
        Criterion(metric, _threshold(metric, raw["threshold"], f"{where}.threshold"), "threshold")
    ]
    for alt in METRICS:
        key = f"or_{alt}"
        if key in raw:
            if alt == metric:
                raise ValidationError(
                    f"repeats the tier's own metric {metric!r}; raise or lower the threshold "
                    "instead",
                    field=f"{where}.{key}",
                )
            criteria.append(Criterion(alt, _threshold(alt, raw[key], f"{where}.{key}"), key))
    window = parse_window(raw["window"], f"{where}.window")
    if tier.rollover and not window.yearly:
        raise ValidationError(
            'surplus rolls over from one year to the next: use it with a "calendar year" or '
            '"jalali year" window',
            field=f"{where}.rollover",
        )
    return attrs.evolve(tier, criteria=tuple(criteria), window=window)


def validate_section(raw: Any) -> Ladder:
    """Validate the ``[[tiers]]`` section (a list of tables); raises :class:`ValidationError` naming the key."""
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not raw:
        raise ValidationError("write the ladder as [[tiers]] blocks, one per tier", field="")
    parsed = [_tier(item, i) for i, item in enumerate(raw)]
    seen_names: dict[str, int] = {}
    seen_ranks: dict[int, str] = {}
    for tier, _raw in parsed:
        if tier.name in seen_names:
            raise ValidationError(f"two tiers are named {tier.name!r}", field=f"{tier.name}.name")
        if tier.rank in seen_ranks:
            raise ValidationError(
                f"has the same rank {tier.rank} as {seen_ranks[tier.rank]!r}; ranks order the "
                "ladder and must differ",
                field=f"{tier.name}.rank",
            )
        seen_names[tier.name] = tier.rank
        seen_ranks[tier.rank] = tier.name
    parsed.sort(key=lambda p: p[0].rank)
    base, base_raw = parsed[0]
    stray = next((k for k in QUALIFYING_KEYS if k in base_raw), None)
    if stray:
        raise ValidationError(
            f"the lowest-ranked tier {base.name!r} is where every member starts: it has no "
            f"{stray} (give it the lowest rank only if that is meant, or remove {stray})",
            field=f"{base.name}.{stray}",
        )
    tiers = [base] + [_qualification(t, r) for t, r in parsed[1:]]
    if len(tiers) < 2:
        raise ValidationError("a ladder needs a base tier and at least one tier above it", field="")
    _check_thresholds_rise(tiers[1:])
    return Ladder(tuple(tiers))


def _check_thresholds_rise(tiers: list[Tier]) -> None:
    """Among tiers counting the same metric in the same window, a higher rank needs a strictly higher threshold."""
    last: dict[tuple[str, Window], tuple[Tier, Criterion]] = {}
    for tier in tiers:
        for c in tier.criteria:
            key = (c.metric, tier.window)
            if key in last:
                lower, lc = last[key]
                if c.threshold <= lc.threshold:
                    word = "equals" if c.threshold == lc.threshold else "is below"
                    raise ValidationError(
                        f"{c.threshold} {c.metric} {word} {lower.name!r}'s {lc.threshold} {c.metric} in the same "
                        f"window ({tier.window.describe()}): thresholds must rise with rank, or the tiers overlap",
                        field=f"{tier.name}.{c.key}",
                    )
            last[key] = (tier, c)
