"""Qualification: what a member did within a window, which tier that earns, and when a tier will lapse.

Windows are counted in local days of the application's time zone. A rolling window of N days at a moment
covers the N local days ending on that moment's day, up to the moment. A year window (Gregorian or Jalali)
qualifies a member for the rest of the year and the whole next year: the current year so far counts, and so
does the previous full year. With ``rollover``, the surplus above the threshold of the tier a year reached
counts toward the next year (one year only, surpluses do not chain).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import case, func, or_, select

from crmcore.api import Interaction, jalali_year_bounds

from .ladder import Criterion, Ladder, Tier, Window

TICK = timedelta(microseconds=1)


def local_day(moment: datetime, tz: str) -> date:
    return moment.astimezone(ZoneInfo(tz)).date()


def day_start(day: date, tz: str) -> datetime:
    """The UTC instant of local midnight at the start of ``day``."""
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(timezone.utc)


def end_of_day(day: date, tz: str) -> datetime:
    return day_start(day + timedelta(days=1), tz)


def year_of(window: Window, day: date) -> int:
    if window.kind == "jalali_year":
        import jdatetime

        return jdatetime.date.fromgregorian(date=day).year
    return day.year


def year_days(window: Window, year: int) -> tuple[date, date]:
    """First day of ``year`` and first day of the next, as Gregorian dates."""
    if window.kind == "jalali_year":
        return jalali_year_bounds(year)
    return date(year, 1, 1), date(year + 1, 1, 1)


class Measurer:
    """Measures one member's activity in windows, remembering what it already asked within one check."""

    def __init__(
        self, uow, customer_id: int, currency: str, tz: str, cut: tuple[datetime, int] | None = None
    ):
        self.uow = uow
        self.customer_id = customer_id
        self.currency = currency
        self.tz = tz
        #: ``(moment, interaction id)``: of the interactions at that very moment, only those recorded
        #: up to this one count. A history file gives several purchases one date; the one that
        #: crosses a threshold must be found in file order, as live recording would find it.
        self.cut = cut
        self._seen: dict[tuple[str, datetime, datetime], int] = {}

    def value(self, metric: str, start: datetime, end: datetime) -> int:
        key = (metric, start, end)
        if key not in self._seen:
            self._seen[key] = self._query(metric, start, end)
        return self._seen[key]

    def _query(self, metric: str, start: datetime, end: datetime) -> int:
        if metric == "points":
            from crmcore_loyalty import api as loyalty

            return loyalty.points_earned_between(self.uow, self.customer_id, start, end)
        where = (
            Interaction.customer_id == self.customer_id,
            Interaction.occurred_at >= start,
            Interaction.occurred_at < end,
        )
        if self.cut is not None and start <= self.cut[0] < end:
            at, last = self.cut
            where += (or_(Interaction.occurred_at != at, Interaction.id <= last),)
        if metric == "purchases":
            return int(
                self.uow.session.scalar(
                    select(func.count(Interaction.id)).where(*where, Interaction.kind == "purchase")
                )
                or 0
            )
        signed = case(
            (Interaction.kind == "refund", -Interaction.amount_minor),
            else_=Interaction.amount_minor,
        )
        return int(
            self.uow.session.scalar(
                select(func.coalesce(func.sum(signed), 0)).where(
                    *where,
                    Interaction.kind.in_(("purchase", "refund")),
                    Interaction.currency == self.currency,
                )
            )
            or 0
        )

    # -- windows ---------------------------------------------------------------------------------------------
    def rolling_start(self, window: Window, end: datetime) -> datetime:
        day = local_day(end - TICK, self.tz)
        return day_start(day - timedelta(days=window.days - 1), self.tz)

    def year_total(
        self, ladder: Ladder, window: Window, metric: str, year: int, *, carry: bool = True
    ) -> int:
        lo, hi = year_days(window, year)
        total = self.value(metric, day_start(lo, self.tz), day_start(hi, self.tz))
        return total + (self.carry(ladder, window, metric, year - 1) if carry else 0)

    def carry(self, ladder: Ladder, window: Window, metric: str, year: int) -> int:
        """Surplus of ``year`` rolled into the next: above the threshold of the tier that year reached, if that
        tier rolls over (computed on the year's own activity: surpluses do not chain)."""
        if not any(t.rollover and t.window == window for t in ladder.tiers):
            return 0
        total = self.year_total(ladder, window, metric, year, carry=False)
        reached = None
        for tier in ladder.tiers:
            for c in tier.criteria:
                if tier.window == window and c.metric == metric and total >= c.minor(self.currency):
                    reached = (tier, c)
        if reached is None or not reached[0].rollover:
            return 0
        return total - reached[1].minor(self.currency)


@attrs.frozen
class Evidence:
    """Why a tier was (or was not) reached: the criterion, the measured value, over which period."""

    tier: str
    metric: str
    value: int
    threshold: int
    period: str  # "rolling 365 days", "2025", "1404", "1403 (previous year)"
    met: bool

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _year_label(window: Window, year: int, current: bool) -> str:
    kind = "Jalali year" if window.kind == "jalali_year" else "year"
    return f"{kind} {year}" + ("" if current else " (previous year)")


def criterion_evidence(
    ladder: Ladder, tier: Tier, c: Criterion, m: Measurer, end: datetime
) -> list[Evidence]:
    """The measurements deciding ``c`` at ``end`` (exclusive): one for a rolling window, two for a year."""
    window = tier.window
    threshold = c.minor(m.currency)
    if not window.yearly:
        v = m.value(c.metric, m.rolling_start(window, end), end)
        return [Evidence(tier.name, c.metric, v, threshold, window.describe(), v >= threshold)]
    year = year_of(window, local_day(end - TICK, m.tz))
    lo, _hi = year_days(window, year)
    current = m.value(c.metric, day_start(lo, m.tz), end) + m.carry(
        ladder, window, c.metric, year - 1
    )
    out = [
        Evidence(
            tier.name,
            c.metric,
            current,
            threshold,
            _year_label(window, year, True),
            current >= threshold,
        )
    ]
    if current < threshold:
        previous = m.year_total(ladder, window, c.metric, year - 1)
        out.append(
            Evidence(
                tier.name,
                c.metric,
                previous,
                threshold,
                _year_label(window, year - 1, False),
                previous >= threshold,
            )
        )
    return out


def tier_evidence(
    ladder: Ladder, tier: Tier, m: Measurer, end: datetime
) -> tuple[bool, list[Evidence]]:
    """Whether the member qualifies for ``tier`` at ``end``, and the measurements (stops at the first met)."""
    seen: list[Evidence] = []
    for c in tier.criteria:
        found = criterion_evidence(ladder, tier, c, m, end)
        seen.extend(found)
        if any(e.met for e in found):
            return True, seen
    return False, seen


def qualified_tier(
    ladder: Ladder,
    m: Measurer,
    end: datetime,
    *,
    above_rank: int | None = None,
    metrics: set[str] | None = None,
) -> tuple[Tier | None, Evidence | None]:
    """The highest tier qualified for at ``end`` (only tiers above ``above_rank``; only ``metrics`` checked).

    Returns ``(tier, the evidence that met it)``; ``(None, None)`` when no such tier qualifies."""
    for tier in reversed(ladder.tiers):
        if tier.is_base or (above_rank is not None and tier.rank <= above_rank):
            continue
        for c in tier.criteria:
            if metrics is not None and c.metric not in metrics:
                continue
            met = next((e for e in criterion_evidence(ladder, tier, c, m, end) if e.met), None)
            if met is not None:
                return tier, met
    return None, None


def lapse_day(ladder: Ladder, tier: Tier, m: Measurer, today: date) -> date | None:
    """The first local day after ``today`` at whose end the member no longer qualifies for ``tier`` if nothing
    new happens; ``None`` when they do not qualify today either (already lapsed)."""

    def holds(day: date) -> bool:
        return tier_evidence(ladder, tier, m, end_of_day(day, m.tz))[0]

    if tier.is_base:
        return None
    if not holds(today):
        return None
    window = tier.window
    if not window.yearly:
        lo, hi = (
            today + timedelta(days=1),
            today + timedelta(days=window.days),
        )  # the window is empty at hi
        while lo < hi:  # qualification only shrinks as days pass: find the first day it fails
            mid = lo + (hi - lo) // 2
            if holds(mid):
                lo = mid + timedelta(days=1)
            else:
                hi = mid
        return lo
    year = year_of(window, today)
    for ahead in (1, 2, 3):
        first = year_days(window, year + ahead)[0]
        if not holds(first):
            return first
    return year_days(window, year + 4)[0]


def shortfall(ladder: Ladder, tier: Tier, m: Measurer, today: date, lapse: date) -> tuple[str, int]:
    """``(metric, how much more)`` of the tier's first criterion to keep ``tier`` past ``lapse``."""
    c = tier.criteria[0]
    threshold = c.minor(m.currency)
    if tier.window.yearly:
        year = year_of(tier.window, today)
        lo, _hi = year_days(tier.window, year)
        have = m.value(c.metric, day_start(lo, m.tz), end_of_day(today, m.tz)) + m.carry(
            ladder, tier.window, c.metric, year - 1
        )
    else:
        end = end_of_day(lapse, m.tz)
        have = m.value(c.metric, m.rolling_start(tier.window, end), end)
    return c.metric, max(threshold - have, 0)


def progress(ladder: Ladder, tier: Tier, m: Measurer, end: datetime) -> list[dict[str, Any]]:
    """How far the member is from ``tier`` on each of its criteria (the current window)."""
    out = []
    for c in tier.criteria:
        best = max(criterion_evidence(ladder, tier, c, m, end), key=lambda e: e.value)
        out.append(
            {
                "metric": c.metric,
                "have": best.value,
                "threshold": best.threshold,
                "needed": max(best.threshold - best.value, 0),
                "period": best.period,
            }
        )
    return out
