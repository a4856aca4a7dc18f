"""Limit periods in the policy's calendar and the business's time zone: the week (from Saturday in the Jalali
calendar, from Monday in the Gregorian), the Gregorian month and the Jalali month.

A period is a half-open range of UTC moments ``[start, end)`` between local midnights, with a label in its
own calendar (``1403-07`` for Mehr 1403, ``2024-10`` for October, ``week of 1403-07-14``).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import attrs

from crmcore.api import (
    ValidationError,
    format_date,
    jalali_month_bounds,
    jalali_month_key,
    to_local,
)


@attrs.frozen
class Period:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    label: str


def _utc_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(timezone.utc)


def period_of(moment: datetime, period: str, calendar: str, tz: str) -> Period:
    """The period of kind ``period`` (week, month, gregorian_month, jalali_month) that ``moment`` falls in."""
    day = to_local(moment, tz).date()
    if period == "month":
        period = "jalali_month" if calendar == "jalali" else "gregorian_month"
    if period == "week":
        offset = (
            (day.weekday() - 5) % 7 if calendar == "jalali" else day.weekday()
        )  # Saturday / Monday
        first = day - timedelta(days=offset)
        return Period(
            _utc_midnight(first, tz),
            _utc_midnight(first + timedelta(days=7), tz),
            f"week of {format_date(first, calendar)}",
        )
    if period == "gregorian_month":
        first = day.replace(day=1)
        nxt = (first + timedelta(days=32)).replace(day=1)
        return Period(
            _utc_midnight(first, tz), _utc_midnight(nxt, tz), f"{first.year:04d}-{first.month:02d}"
        )
    if period == "jalali_month":
        key = jalali_month_key(day)
        first, nxt = jalali_month_bounds(int(key[:4]), int(key[5:]))
        return Period(_utc_midnight(first, tz), _utc_midnight(nxt, tz), key)
    raise ValidationError(
        f"unknown period {period!r} (week, month, gregorian_month, jalali_month)", field="period"
    )
