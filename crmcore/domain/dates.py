"""Dates and times: Jalali and Gregorian input, UTC storage, display in the user's calendar and zone."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import attrs

from ..errors import ValidationError
from .text import to_ascii_digits

DEFAULT_TIMEZONE = "Asia/Tehran"
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_DATETIME = re.compile(
    r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
#: the earliest day a birthday or an interaction may fall on (1278-10-11 in the Jalali calendar): an
#: earlier one is a typing slip (a Jalali year typed where a Gregorian one was meant, a day and year
#: swapped)
EARLIEST_DATE = date(1900, 1, 1)
#: how far past the clock an interaction may be dated (a till whose clock runs ahead, a sale in a
#: zone ahead of the application's); ``CRM(future_margin=…)`` or ``$CRM_FUTURE_MARGIN_HOURS`` sets
#: another
FUTURE_MARGIN = timedelta(days=1)
JALALI_MONTHS = [
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
]


_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_DURATION_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(raw: str | timedelta, *, field: str = "duration") -> timedelta:
    """Read a length of time: ``45s``, ``10m``, ``12h``, ``30d`` (Persian digits too)."""
    if isinstance(raw, timedelta):
        return raw
    m = _DURATION.match(to_ascii_digits(str(raw or "")).strip().lower())
    if not m:
        raise ValidationError(
            f"{raw!r} is not a duration (a number and s, m, h or d: 45s, 10m, 12h, 30d)",
            field=field,
        )
    try:
        return timedelta(**{_DURATION_UNITS[m.group(2)]: int(m.group(1))})
    except OverflowError:
        raise ValidationError(f"{raw!r} is too long a duration", field=field) from None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _is_jalali_year(year: int) -> bool:
    # Jalali years in use are 12xx-15xx; Gregorian years in a CRM are >= 1700.
    return year < 1700


#: Jalali year → (ordinal of its first day, 1 Farvardin, in the Gregorian calendar; leap year), from jdatetime
_JALALI_YEARS: dict[int, tuple[int, bool]] = {}
#: days before each Jalali month: six of 31 days, five of 30, then Esfand (29, or 30 in a leap year)
_JALALI_MONTH_STARTS = (0, 31, 62, 93, 124, 155, 186, 216, 246, 276, 306, 336)


def jalali_to_gregorian(y: int, m: int, d: int) -> date:
    """``jdatetime.date(y, m, d).togregorian()``, raising ``ValueError`` as it does, but asking jdatetime
    once per year (its first day and whether it is leap): building a jdatetime date per distinct birthday was
    most of an import's time spent on birthdays (``benchmarks/row_checks.py``). A test compares the two on
    every day of five centuries."""
    year = _JALALI_YEARS.get(y)
    if year is None:
        import jdatetime

        first = jdatetime.date(y, 1, 1)
        year = _JALALI_YEARS[y] = (first.togregorian().toordinal(), first.isleap())
    if not 1 <= m <= 12 or d < 1 or d > (31 if m <= 6 else 30 if m < 12 or year[1] else 29):
        raise ValueError("day or month out of range")
    return date.fromordinal(year[0] + _JALALI_MONTH_STARTS[m - 1] + d - 1)


def _gregorian_date(y: int, m: int, d: int, raw: str, field: str) -> date:
    if _is_jalali_year(y):
        try:
            return jalali_to_gregorian(y, m, d)
        except ValueError:
            raise ValidationError(
                f"{raw!r} is not a date in the Jalali calendar", field=field
            ) from None
    try:
        return date(y, m, d)
    except ValueError:
        raise ValidationError(
            f"{raw!r} is not a date in the Gregorian calendar", field=field
        ) from None


def parse_date(raw: str | date, *, field: str = "date") -> date:
    """Read a date written in either calendar: ``1403-07-15``, ``1403/07/15``, ``۱۴۰۳/۰۷/۱۵``, ``2024-10-06``.

    Years before 1700 are Jalali. A day that does not exist in its calendar is refused.
    """
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = to_ascii_digits(str(raw or "")).strip()
    m = _DATE.match(text)
    if not m:
        compact = re.fullmatch(r"(\d{4})(\d{2})(\d{2})", text)
        if not compact:
            raise ValidationError(
                f"{raw!r} is not a date (expected YYYY-MM-DD, Jalali or Gregorian)", field=field
            )
        m = compact
    y, mo, d = (int(x) for x in m.groups())
    return _gregorian_date(y, mo, d, str(raw), field)


def parse_datetime(
    raw: str | datetime | date, *, tz: str = DEFAULT_TIMEZONE, field: str = "at"
) -> datetime:
    """Read a moment and return it in UTC. Naive input is local time in ``tz``; a bare date is local midnight.

    Accepts ISO 8601 (``2024-10-06T14:30:00+03:30``, ``...Z``) and Jalali (``1403-07-15 14:30``).
    """
    try:
        return _parse_datetime(raw, tz, field)
    except OverflowError:  # 9999-12-31 23:00 in a zone behind UTC: past Python's last datetime
        raise ValidationError(
            f"{raw!r} is past the last moment that can be stored", field=field
        ) from None


def _parse_datetime(raw: str | datetime | date, tz: str, field: str) -> datetime:
    if isinstance(raw, datetime):
        dt = raw if raw.tzinfo else raw.replace(tzinfo=ZoneInfo(tz))
        return dt.astimezone(timezone.utc)
    if isinstance(raw, date):
        return datetime.combine(raw, time(0), ZoneInfo(tz)).astimezone(timezone.utc)
    text = to_ascii_digits(str(raw or "")).strip()
    m = _DATETIME.match(text)
    if not m:
        return datetime.combine(parse_date(text, field=field), time(0), ZoneInfo(tz)).astimezone(
            timezone.utc
        )
    y, mo, d, hh, mm, ss, offset = m.groups()
    day = _gregorian_date(int(y), int(mo), int(d), str(raw), field)
    try:
        local = datetime.combine(day, time(int(hh), int(mm), int(ss or 0)))
    except ValueError:
        raise ValidationError(f"{raw!r} has an impossible time of day", field=field) from None
    if offset:
        if offset == "Z":
            zone = timezone.utc
        else:
            sign = 1 if offset[0] == "+" else -1
            digits = offset[1:].replace(":", "")
            from datetime import timedelta

            zone = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return local.replace(tzinfo=zone).astimezone(timezone.utc)
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)


def local_today(now: datetime, tz: str = DEFAULT_TIMEZONE) -> date:
    """The day it is at the moment ``now`` in the zone ``tz``."""
    return to_local(now, tz).date()


def _in_both_calendars(day: date) -> str:
    try:
        return f"{day.isoformat()} (Jalali {format_date(day, 'jalali')})"
    except (ValueError, OverflowError):  # beyond the years jdatetime knows
        return day.isoformat()


def check_birthday(day: date, today: date, *, field: str = "birthday") -> date:
    """``day`` if it can be a birthday: not after ``today`` (the local date, :func:`local_today`)
    and not before :data:`EARLIEST_DATE`; else :class:`ValidationError` naming the day in both
    calendars."""
    if EARLIEST_DATE <= day <= today:
        return day
    if day > today:
        raise ValidationError(f"{_in_both_calendars(day)} is in the future", field=field)
    raise ValidationError(
        f"{_in_both_calendars(day)} is before {_in_both_calendars(EARLIEST_DATE)}", field=field
    )


@lru_cache(maxsize=64)
def _earliest_moment(tz: str) -> datetime:
    return datetime.combine(EARLIEST_DATE, time(0), ZoneInfo(tz)).astimezone(timezone.utc)


#: a moment after the first midnight of EARLIEST_DATE in every zone (UTC-12 at the latest): later
#: ones need no look at their zone
_AFTER_EARLIEST_EVERYWHERE = datetime.combine(EARLIEST_DATE, time(0), timezone.utc) + timedelta(
    days=1
)


def check_moment(
    at: datetime,
    now: datetime,
    *,
    tz: str = DEFAULT_TIMEZONE,
    margin: timedelta = FUTURE_MARGIN,
    field: str = "occurred_at",
) -> datetime:
    """``at`` (UTC) if something can have happened then: at most ``margin`` after ``now`` and not
    before :data:`EARLIEST_DATE` in ``tz``; else :class:`ValidationError` naming the local day in
    both calendars."""
    if at > now + margin:
        hours = margin / timedelta(hours=1)
        ahead = (
            f"{hours / 24:g} day{'s' if hours != 24 else ''}"
            if hours % 24 == 0
            else f"{hours:g} hours"
        )
        raise ValidationError(
            f"{_in_both_calendars(to_local(at, tz).date())} is more than {ahead} in the future",
            field=field,
        )
    if at < _AFTER_EARLIEST_EVERYWHERE and at < _earliest_moment(tz):
        raise ValidationError(
            f"{_in_both_calendars(to_local(at, tz).date())} is before "
            f"{_in_both_calendars(EARLIEST_DATE)}",
            field=field,
        )
    return at


@attrs.frozen
class CalendarDate:
    """A Gregorian date viewed in a calendar (``gregorian`` or ``jalali``) for display."""

    value: date
    calendar: str = "gregorian"

    def __str__(self) -> str:
        return format_date(self.value, self.calendar)


def format_date(
    value: date | datetime | None, calendar: str = "gregorian", *, tz: str = DEFAULT_TIMEZONE
) -> str:
    """``2024-10-06`` or, in the Jalali calendar, ``1403-07-15``. Datetimes are first put in ``tz``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_local(value, tz).date()
    if calendar == "jalali":
        import jdatetime

        j = jdatetime.date.fromgregorian(date=value)
        return f"{j.year:04d}-{j.month:02d}-{j.day:02d}"
    if calendar != "gregorian":
        raise ValidationError(
            f"unknown calendar {calendar!r} (gregorian or jalali)", field="calendar"
        )
    return value.isoformat()


def format_datetime(
    value: datetime | None, calendar: str = "gregorian", *, tz: str = DEFAULT_TIMEZONE
) -> str:
    if value is None:
        return ""
    local = to_local(value, tz)
    return f"{format_date(local.date(), calendar)} {local:%H:%M}"


def to_local(value: datetime, tz: str = DEFAULT_TIMEZONE) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(ZoneInfo(tz))


def jalali_month_key(value: date) -> str:
    """``1403-07`` for a Gregorian date in Mehr 1403."""
    import jdatetime

    j = jdatetime.date.fromgregorian(date=value)
    return f"{j.year:04d}-{j.month:02d}"


def jalali_month_bounds(year: int, month: int) -> tuple[date, date]:
    """First day of the Jalali month and first day of the next, as Gregorian dates."""
    import jdatetime

    start = jdatetime.date(year, month, 1).togregorian()
    ny, nm = (year + 1, 1) if month == 12 else (year, month + 1)
    return start, jdatetime.date(ny, nm, 1).togregorian()


def jalali_year_bounds(year: int) -> tuple[date, date]:
    import jdatetime

    return jdatetime.date(year, 1, 1).togregorian(), jdatetime.date(year + 1, 1, 1).togregorian()
