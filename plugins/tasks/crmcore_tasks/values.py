"""Reading what users type: kinds, priorities, due moments (Jalali or Gregorian, all-day or timed, relative),
durations, reminder offsets and references. Each bad value raises a ValidationError naming its field."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmcore.api import ValidationError, parse_date, parse_datetime, to_ascii_digits

KINDS = ("call_back", "meeting", "follow_up", "visit", "email", "task")
#: kinds that are appointments: they take time (a duration) and are calendar events
APPOINTMENT_KINDS = ("meeting", "visit")
KIND_LABELS_FA = {
    "call_back": "تماس مجدد",
    "meeting": "جلسه",
    "follow_up": "پیگیری",
    "visit": "بازدید",
    "email": "ایمیل",
    "task": "کار",
}
_KIND_ALIASES = {
    "callback": "call_back",
    "call": "call_back",
    "followup": "follow_up",
    "todo": "task",
    **{v: k for k, v in KIND_LABELS_FA.items()},
}

PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
#: iCalendar PRIORITY (1 highest … 9 lowest)
PRIORITY_ICAL = {"urgent": 1, "high": 3, "normal": 5, "low": 9}
_PRIORITY_ALIASES = {
    "کم": "low",
    "عادی": "normal",
    "زیاد": "high",
    "بالا": "high",
    "فوری": "urgent",
}

STATES = ("open", "done", "cancelled")
DEFAULT_APPOINTMENT_MINUTES = 60
#: the longest duration or reminder offset accepted (8 weeks)
MAX_MINUTES = 8 * 7 * 24 * 60

_RELATIVE = re.compile(r"^\+?(\d+)\s*(m|min|minutes?|h|hours?|d|days?|w|weeks?)$")
_UNIT_MINUTES = {"m": 1, "h": 60, "d": 24 * 60, "w": 7 * 24 * 60}
_DATE_ONLY = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{8}$")
_WORDS = {"today": 0, "امروز": 0, "tomorrow": 1, "فردا": 1, "پس‌فردا": 2, "پسفردا": 2}


def parse_kind(raw: str | None, *, field: str = "kind") -> str:
    text = to_ascii_digits(str(raw or "")).strip().lower().replace("-", "_").replace(" ", "_")
    text = _KIND_ALIASES.get(text, _KIND_ALIASES.get(str(raw or "").strip(), text))
    if text not in KINDS:
        raise ValidationError(
            f"{raw!r} is not a task kind (one of: {', '.join(KINDS)})", field=field
        )
    return text


def parse_priority(raw: str | None, *, field: str = "priority") -> str:
    if raw is None or str(raw).strip() == "":
        return "normal"
    text = str(raw).strip()
    text = _PRIORITY_ALIASES.get(text, text.lower())
    if text not in PRIORITIES:
        raise ValidationError(
            f"{raw!r} is not a priority (one of: {', '.join(PRIORITIES)})", field=field
        )
    return text


def check_timezone(name: str, *, field: str = "timezone") -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{name!r} is not a time zone (e.g. Asia/Tehran, Europe/Berlin)", field=field
        ) from None
    return name


@attrs.frozen
class Due:
    """A due moment: ``at`` is aware UTC; for an all-day task it is local midnight of the day in ``tz``."""

    at: datetime
    all_day: bool

    def overdue_at(self, tz: str) -> datetime:
        return overdue_moment(self.at, self.all_day, tz)


def overdue_moment(due_at: datetime, all_day: bool, tz: str) -> datetime:
    """When a task due at ``due_at`` becomes overdue: at once for timed ones, the next local midnight for
    all-day ones."""
    if not all_day:
        return due_at
    local_day = due_at.astimezone(ZoneInfo(tz)).date()
    return local_midnight(local_day + timedelta(days=1), tz)


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(timezone.utc)


def parse_due(
    raw: Any, *, now: datetime, tz: str, all_day: bool | None = None, field: str = "due"
) -> Due:
    """Read a due moment.

    Accepts ``1403-07-15 14:30`` (Jalali) or ``2024-10-06T14:30`` (Gregorian, optional offset), a bare date
    (an all-day task), ``today``/``tomorrow``/``امروز``/``فردا`` (all day), and ``+30m``, ``+2h``, ``+3d``
    relative to now. A day that does not exist in its calendar is refused.
    """
    if isinstance(raw, datetime):
        at = parse_datetime(raw, tz=tz, field=field)
        return Due(at=at, all_day=bool(all_day))
    if isinstance(raw, date):
        return Due(at=local_midnight(raw, tz), all_day=True if all_day is None else all_day)
    text = to_ascii_digits(str(raw or "")).strip()
    if not text:
        raise ValidationError(
            "a due date is required (e.g. 1403-07-15 14:30, 2024-10-06, tomorrow, +2h)", field=field
        )
    low = text.lower()
    if low in _WORDS:
        day = now.astimezone(ZoneInfo(tz)).date() + timedelta(days=_WORDS[low])
        return Due(at=local_midnight(day, tz), all_day=True)
    m = _RELATIVE.match(low)
    if m:
        minutes = int(m.group(1)) * _UNIT_MINUTES[m.group(2)[0]]
        return Due(
            at=(now + timedelta(minutes=minutes)).replace(second=0, microsecond=0), all_day=False
        )
    if _DATE_ONLY.match(text):
        day = parse_date(text, field=field)
        return Due(at=local_midnight(day, tz), all_day=True if all_day is None else all_day)
    if not re.match(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}[ T]", text):
        raise ValidationError(
            f"{raw!r} is not a due date (expected 1403-07-15 14:30, 2024-10-06, tomorrow or +2h)",
            field=field,
        )
    return Due(at=parse_datetime(text, tz=tz, field=field), all_day=False)


def parse_minutes(raw: Any, *, field: str, allow_zero: bool = False) -> int:
    """``90``, ``90m``, ``1h``, ``1h30m``, ``2d`` → minutes (an int)."""
    if isinstance(raw, bool):
        raise ValidationError(f"{raw!r} is not a duration", field=field)
    if isinstance(raw, int):
        minutes = raw
    else:
        text = to_ascii_digits(str(raw or "")).strip().lower().replace(" ", "")
        if text.isdigit():
            minutes = int(text)
        else:
            parts = re.findall(r"(\d+)(w|d|h|m)", text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValidationError(
                    f"{raw!r} is not a duration (e.g. 15m, 1h, 1h30m, 2d)", field=field
                )
            minutes = sum(int(n) * _UNIT_MINUTES[u] for n, u in parts)
    if minutes < 0 or (minutes == 0 and not allow_zero):
        raise ValidationError(f"{raw!r} must be more than zero minutes", field=field)
    if minutes > MAX_MINUTES:
        raise ValidationError(f"{raw!r} is longer than 8 weeks", field=field)
    return minutes


def parse_reference(raw: Any, *, field: str = "reference") -> tuple[str | None, str | None]:
    """A link to another plugin's record: ``"deal:17"``, ``("ticket", 42)`` or ``{"type": "deal", "id": 17}``."""
    if raw is None or raw == "":
        return None, None
    if isinstance(raw, dict):
        kind, ident = raw.get("type"), raw.get("id")
    elif isinstance(raw, (tuple, list)) and len(raw) == 2:
        kind, ident = raw
    else:
        kind, sep, ident = str(raw).partition(":")
        if not sep:
            raise ValidationError(
                f"{raw!r} is not a reference (expected TYPE:ID, e.g. deal:17)", field=field
            )
    kind = str(kind or "").strip().lower()
    ident = str(ident if ident is not None else "").strip()
    if not re.fullmatch(r"[a-z][a-z0-9_.]{0,39}", kind) or not ident or len(ident) > 100:
        raise ValidationError(
            f"{raw!r} is not a reference (expected TYPE:ID, e.g. deal:17)", field=field
        )
    return kind, ident
