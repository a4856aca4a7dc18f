"""Business calendars stored by name: working hours, time zone, holidays (Jalali or Gregorian dates, or every
Jalali year on a month and day)."""

from __future__ import annotations

import re
from typing import Iterable

from sqlalchemy import select

from crmcore.api import (
    Conflict,
    NotFound,
    ValidationError,
    format_date,
    parse_date,
    to_ascii_digits,
)

from .businesshours import (
    DEFAULT_HOURS,
    DEFAULT_TIMEZONE,
    WEEKDAYS,
    BusinessCalendar,
    check_timezone,
    format_hours,
    parse_hours,
)
from .models import BusinessCalendarRow, Holiday

DEFAULT_CALENDAR = "default"
DATE_CALENDARS = ("auto", "jalali", "gregorian")
JALALI_MONTH_DAYS = (
    31,
    31,
    31,
    31,
    31,
    31,
    30,
    30,
    30,
    30,
    30,
    30,
)  # Esfand has 30 days in leap years


def find_calendar(session, name: str) -> BusinessCalendarRow | None:
    return session.scalar(select(BusinessCalendarRow).where(BusinessCalendarRow.name == name))


def get_calendar(uow, name: str | None = None) -> BusinessCalendarRow:
    """The calendar called ``name``; ``default`` is created with the standard Iranian week on first use."""
    name = (name or DEFAULT_CALENDAR).strip()
    row = find_calendar(uow.session, name)
    if row is not None:
        return row
    if name == DEFAULT_CALENDAR:
        return set_calendar(uow, DEFAULT_CALENDAR)
    known = uow.session.scalars(
        select(BusinessCalendarRow.name).order_by(BusinessCalendarRow.name)
    ).all()
    raise NotFound(
        f"no business calendar named {name!r} (known: {', '.join(known) or 'none yet'}; "
        f"create it with: crm tickets calendar set {name} --hours 'sat-wed 09:00-17:00')",
        field="calendar",
    )


def set_calendar(
    uow, name: str, *, hours: Iterable[str] | None = None, timezone: str | None = None
) -> BusinessCalendarRow:
    """Create or change a calendar. Omitted hours or zone keep the stored ones (new: the Iranian defaults)."""
    name = " ".join((name or "").split())
    if not name or len(name) > 60:
        raise ValidationError("a calendar name of 1–60 characters is required", field="name")
    row = find_calendar(uow.session, name)
    hours = list(hours or ())
    if hours:
        week = parse_hours(hours)
    elif row is not None:
        week = _stored_week(row)
    else:
        week = parse_hours(DEFAULT_HOURS)
    zone = timezone or (row.timezone if row is not None else DEFAULT_TIMEZONE)
    check_timezone(zone)
    BusinessCalendar(week, timezone=zone)  # refuses a week without working hours
    if row is None:
        row = BusinessCalendarRow(name=name, timezone=zone, hours=format_hours(week))
        uow.session.add(row)
        uow.session.flush()
        uow.audit(
            "create",
            "tickets_calendar",
            row.id,
            {"name": name, "timezone": zone, "hours": row.hours},
        )
    else:
        changes = {"timezone": [row.timezone, zone], "hours": [row.hours, format_hours(week)]}
        row.timezone, row.hours = zone, format_hours(week)
        uow.audit("update", "tickets_calendar", row.id, changes)
    uow.cache.pop("tickets.calendars", None)
    return row


def _stored_week(row: BusinessCalendarRow):
    specs = [f"{day} {','.join(ranges)}" for day, ranges in (row.hours or {}).items() if ranges]
    return {**{d: () for d in WEEKDAYS.values()}, **parse_hours(specs)}


def business_calendar(uow, row: BusinessCalendarRow) -> BusinessCalendar:
    """The arithmetic object of a stored calendar (cached for the unit of work)."""
    cache = uow.cache.setdefault("tickets.calendars", {})
    if row.id not in cache:
        cache[row.id] = BusinessCalendar(
            _stored_week(row),
            timezone=row.timezone,
            holidays=frozenset(h.day for h in row.holidays if h.day is not None),
            yearly_jalali=frozenset(
                (h.jalali_month, h.jalali_day) for h in row.holidays if h.day is None
            ),
        )
    return cache[row.id]


def _check_date_calendar(date_calendar: str) -> str:
    value = (date_calendar or "auto").strip().lower()
    if value not in DATE_CALENDARS:
        raise ValidationError(
            f"unknown calendar {date_calendar!r} for holiday dates "
            f"(jalali or gregorian; auto tells them apart by the year)",
            field="calendar",
        )
    return value


def _yearly(raw: str, date_calendar: str) -> tuple[int, int]:
    if date_calendar == "gregorian":
        raise ValidationError(
            "yearly holidays follow the Jalali calendar (Nowruz is 01-01); give MM-DD in Jalali",
            field="date",
        )
    m = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})", to_ascii_digits(raw).strip())
    if not m:
        raise ValidationError(
            f"{raw!r} is not a Jalali month and day (MM-DD, e.g. 01-01 for Nowruz)", field="date"
        )
    month, day = int(m.group(1)), int(m.group(2))
    if not 1 <= month <= 12 or not 1 <= day <= JALALI_MONTH_DAYS[month - 1]:
        raise ValidationError(f"{raw!r} is not a day of the Jalali year", field="date")
    return month, day


def add_holiday(
    uow,
    raw_date: str,
    *,
    calendar: str | None = None,
    name: str = "",
    every_year: bool = False,
    date_calendar: str = "auto",
) -> Holiday:
    """Add a day off to a calendar: a Jalali (``1403-11-22``) or Gregorian date, or ``--every-year 01-01``."""
    kind = _check_date_calendar(date_calendar)
    row = get_calendar(uow, calendar)
    if every_year:
        month, day = _yearly(raw_date, kind)
        holiday = Holiday(jalali_month=month, jalali_day=day, name=name.strip())
        clash = any(
            h.day is None and (h.jalali_month, h.jalali_day) == (month, day) for h in row.holidays
        )
        label = f"every year on Jalali {month:02d}-{day:02d}"
    else:
        text = to_ascii_digits(str(raw_date)).strip()
        year = re.match(r"\d{4}", text)
        if year and kind != "auto" and (int(year.group()) < 1700) != (kind == "jalali"):
            raise ValidationError(f"{raw_date!r} is not a {kind.capitalize()} date", field="date")
        day_ = parse_date(text, field="date")
        holiday = Holiday(day=day_, name=name.strip())
        clash = any(h.day == day_ for h in row.holidays)
        label = f"{format_date(day_, 'jalali')} ({day_.isoformat()})"
    if clash:
        raise Conflict(f"calendar {row.name!r} already has a holiday {label}", field="date")
    row.holidays.append(holiday)
    uow.session.flush()
    uow.cache.pop("tickets.calendars", None)
    uow.audit(
        "create",
        "tickets_holiday",
        holiday.id,
        {"calendar": row.name, "holiday": label, "name": name},
    )
    return holiday


def remove_holiday(
    uow, raw_date: str, *, calendar: str | None = None, every_year: bool = False
) -> None:
    row = get_calendar(uow, calendar)
    if every_year:
        month, day = _yearly(raw_date, "jalali")
        found = [
            h
            for h in row.holidays
            if h.day is None and (h.jalali_month, h.jalali_day) == (month, day)
        ]
    else:
        day_ = parse_date(to_ascii_digits(str(raw_date)).strip(), field="date")
        found = [h for h in row.holidays if h.day == day_]
    if not found:
        raise NotFound(f"calendar {row.name!r} has no holiday on {raw_date!r}", field="date")
    for h in found:
        row.holidays.remove(h)
    uow.cache.pop("tickets.calendars", None)
    uow.audit("delete", "tickets_holiday", found[0].id, {"calendar": row.name, "date": raw_date})


def holiday_to_dict(h: Holiday) -> dict:
    if h.day is not None:
        return {
            "date": h.day.isoformat(),
            "jalali": format_date(h.day, "jalali"),
            "every_year": False,
            "name": h.name,
        }
    return {
        "jalali": f"{h.jalali_month:02d}-{h.jalali_day:02d}",
        "every_year": True,
        "name": h.name,
    }


def calendar_to_dict(row: BusinessCalendarRow) -> dict:
    return {
        "name": row.name,
        "timezone": row.timezone,
        "hours": dict(row.hours),
        "holidays": [holiday_to_dict(h) for h in row.holidays],
    }
