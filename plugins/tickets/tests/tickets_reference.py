"""A deliberately naive minute-by-minute model of business time, the oracle for the property tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from crmcore_tickets.businesshours import BusinessCalendar, jalali_month_day

MINUTE = timedelta(minutes=1)


def business_minute(cal: BusinessCalendar, moment: datetime) -> bool:
    """Is the minute starting at ``moment`` inside working hours (local wall clock, holidays excluded)?"""
    local = moment.astimezone(cal.zone)
    day = local.date()
    if day in cal.holidays or jalali_month_day(day) in cal.yearly_jalali:
        return False
    m = local.hour * 60 + local.minute
    return any(a <= m < b for a, b in cal.hours.get(day.weekday(), ()))


def make_oracle(cal: BusinessCalendar):
    @lru_cache(maxsize=None)
    def is_business(moment: datetime) -> bool:
        return business_minute(cal, moment)

    return is_business


def ref_add(cal, start: datetime, minutes: int, pauses=()) -> datetime:
    """Walk minute by minute, counting business minutes outside pauses, until ``minutes`` are counted."""
    if minutes == 0:
        return start
    is_business = make_oracle(cal)
    t, counted = start, 0
    while True:
        if is_business(t) and not any(p0 <= t < p1 for p0, p1 in pauses):
            counted += 1
            if counted == minutes:
                return t + MINUTE
        t += MINUTE


def ref_between(cal, a: datetime, b: datetime) -> int:
    is_business = make_oracle(cal)
    t, counted = a, 0
    while t < b:
        counted += is_business(t)
        t += MINUTE
    return counted
