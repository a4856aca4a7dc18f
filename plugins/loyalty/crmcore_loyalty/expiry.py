"""When lots expire: the program's rule applied to the moment points were earned, in the business's zone."""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crmcore.api import jalali_year_bounds

from .program import Program


def _add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def expiry_for(program: Program, earned_at: datetime, timezone: str) -> datetime | None:
    """The moment a lot earned at ``earned_at`` expires (``None``: never).

    ``N months`` and ``N days`` count from the earning moment; ``end_of_year`` is local midnight at the start of
    the next year of the program's calendar (Nowruz for the Jalali calendar).
    """
    rule = program.expiry
    if rule.unit == "never":
        return None
    if rule.unit == "days":
        return earned_at + timedelta(days=rule.count)
    zone = ZoneInfo(timezone)
    local = earned_at.astimezone(zone)
    if rule.unit == "months":
        day = _add_months(local.date(), rule.count)
        return datetime.combine(day, local.timetz().replace(tzinfo=None), zone).astimezone(
            ZoneInfo("UTC")
        )
    # end of year
    if program.calendar == "jalali":
        import jdatetime

        year = jdatetime.date.fromgregorian(date=local.date()).year
        next_year = jalali_year_bounds(year)[1]
    else:
        next_year = date(local.year + 1, 1, 1)
    return datetime.combine(next_year, time(0), zone).astimezone(ZoneInfo("UTC"))
