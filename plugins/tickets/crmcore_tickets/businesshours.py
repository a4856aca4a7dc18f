"""Business-hours arithmetic: when is a target of N business hours due, how much business time lies between
two moments. Pure (no database); the SLA service builds a :class:`BusinessCalendar` from stored rows.

Working hours are wall-clock intervals per weekday in the calendar's zone (default Saturday–Wednesday
09:00–17:00, Thursday 09:00–13:00, Friday off, Asia/Tehran). Holidays are whole local days, either on a given
date or every year on a Jalali month and day (Nowruz 01-01…01-04, 11-22, 12-29…). All moments in and out
are aware datetimes; results are in UTC.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from crmcore.api import ValidationError, to_ascii_digits

#: weekday names in Iranian week order (the week starts on Saturday) → Python's weekday numbers
WEEKDAYS = {"sat": 5, "sun": 6, "mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4}
WEEK_ORDER = list(WEEKDAYS)
DEFAULT_HOURS = ("sat-wed 09:00-17:00", "thu 09:00-13:00")
DEFAULT_TIMEZONE = "Asia/Tehran"
#: how far ahead a due time is searched before the calendar is declared to have no working time
MAX_SEARCH_DAYS = 3 * 366

_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")
Interval = tuple[int, int]  # minutes after local midnight, [start, end)


def _minutes(text: str, spec: str) -> int:
    m = _CLOCK.match(text.strip())
    if (
        not m
        or int(m.group(2)) > 59
        or int(m.group(1)) > 24
        or (int(m.group(1)) == 24 and m.group(2) != "00")
    ):
        raise ValidationError(
            f"{text!r} in {spec!r} is not a time of day (HH:MM, 00:00–24:00)", field="hours"
        )
    return int(m.group(1)) * 60 + int(m.group(2))


def _days(text: str, spec: str) -> list[int]:
    days: list[int] = []
    for part in text.lower().split(","):
        part = part.strip()
        first, _, last = part.partition("-")
        if first not in WEEKDAYS or (last and last not in WEEKDAYS):
            raise ValidationError(
                f"{part!r} in {spec!r} is not a weekday or range of weekdays "
                f"({', '.join(WEEK_ORDER)}; ranges follow the week from Saturday, e.g. sat-wed)",
                field="hours",
            )
        i, j = WEEK_ORDER.index(first), WEEK_ORDER.index(last or first)
        if j < i:
            raise ValidationError(
                f"{part!r} in {spec!r} runs backwards; the week starts on Saturday", field="hours"
            )
        days.extend(WEEKDAYS[d] for d in WEEK_ORDER[i : j + 1])
    return days


def parse_hours(specs: Iterable[str]) -> dict[int, tuple[Interval, ...]]:
    """Read ``["sat-wed 09:00-17:00", "thu 09:00-13:00,14:00-16:00"]`` into weekday → sorted intervals.

    Refuses unknown weekdays, impossible times, empty or backward intervals and overlapping hours.
    """
    week: dict[int, list[Interval]] = {d: [] for d in WEEKDAYS.values()}
    for spec in specs:
        text = to_ascii_digits(spec or "").strip()
        days_text, _, ranges_text = text.partition(" ")
        if not ranges_text.strip():
            raise ValidationError(
                f"{spec!r} is not DAYS HH:MM-HH:MM (e.g. 'sat-wed 09:00-17:00')", field="hours"
            )
        intervals = []
        for r in ranges_text.replace(" ", "").split(","):
            start, sep, end = r.partition("-")
            if not sep:
                raise ValidationError(
                    f"{r!r} in {spec!r} is not a range HH:MM-HH:MM", field="hours"
                )
            a, b = _minutes(start, spec), _minutes(end, spec)
            if a >= b:
                raise ValidationError(
                    f"{r!r} in {spec!r} ends before it starts (hours cannot cross midnight; "
                    f"split them over two days)",
                    field="hours",
                )
            intervals.append((a, b))
        for d in _days(days_text, spec):
            week[d].extend(intervals)
    return {d: check_day(d, ivs) for d, ivs in week.items()}


def check_day(weekday: int, intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    ordered = sorted(intervals)
    for (a1, b1), (a2, b2) in zip(ordered, ordered[1:]):
        if a2 < b1:
            name = next(n for n, v in WEEKDAYS.items() if v == weekday)
            raise ValidationError(
                f"overlapping hours on {name}: {_fmt(a1)}-{_fmt(b1)} and {_fmt(a2)}-{_fmt(b2)}",
                field="hours",
            )
    return tuple(ordered)


def _fmt(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_hours(week: dict[int, tuple[Interval, ...]]) -> dict[str, list[str]]:
    """``{"sat": ["09:00-17:00"], …, "fri": []}`` in Iranian week order (for JSON and display)."""
    return {
        name: [f"{_fmt(a)}-{_fmt(b)}" for a, b in week.get(WEEKDAYS[name], ())]
        for name in WEEK_ORDER
    }


def check_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{name!r} is not a time zone (e.g. Asia/Tehran)", field="timezone"
        ) from None


@lru_cache(maxsize=4096)
def jalali_month_day(day: date) -> tuple[int, int]:
    import jdatetime

    j = jdatetime.date.fromgregorian(date=day)
    return j.month, j.day


@attrs.frozen
class BusinessCalendar:
    """Working hours of a week, a zone and holidays; answers due-time and elapsed-time questions."""

    hours: dict[int, tuple[Interval, ...]]
    timezone: str = DEFAULT_TIMEZONE
    holidays: frozenset[date] = frozenset()
    yearly_jalali: frozenset[tuple[int, int]] = frozenset()  # (month, day) every Jalali year

    def __attrs_post_init__(self):
        check_timezone(self.timezone)
        for d, ivs in self.hours.items():
            check_day(d, ivs)
        if not any(self.hours.values()):
            raise ValidationError("the calendar has no working hours on any weekday", field="hours")

    @classmethod
    def default(cls) -> "BusinessCalendar":
        return cls(parse_hours(DEFAULT_HOURS))

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays or (
            bool(self.yearly_jalali) and jalali_month_day(day) in self.yearly_jalali
        )

    def day_intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of a local day as UTC moments (empty on a holiday)."""
        if self.is_holiday(day):
            return []
        zone = self.zone
        out = []
        for a, b in self.hours.get(day.weekday(), ()):
            start = _local(day, a, zone)
            end = _local(day, b, zone)
            if end > start:
                out.append((start, end))
        return out

    def intervals_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals (UTC) that end after ``moment``, clipped to start no earlier than it."""
        moment = _utc(moment)
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        idle = 0
        while True:
            found = False
            for start, end in self.day_intervals(day):
                if end > moment:
                    found = True
                    yield max(start, moment), end
            idle = 0 if found else idle + 1
            if idle > MAX_SEARCH_DAYS:
                raise ValidationError(
                    f"the calendar has no working time within {MAX_SEARCH_DAYS} days after "
                    f"{moment:%Y-%m-%d} (are all those days holidays?)",
                    field="holidays",
                )
            day += timedelta(days=1)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment at which ``duration`` of business time has elapsed after ``start``."""
        if duration < timedelta(0):
            raise ValidationError("a business-time duration cannot be negative", field="duration")
        start = _utc(start)
        if duration == timedelta(0):
            return start
        remaining = duration
        for a, b in self.intervals_from(start):
            if remaining <= b - a:
                return a + remaining
            remaining -= b - a
        raise AssertionError("unreachable")  # pragma: no cover - intervals_from raises first

    def between(self, a: datetime, b: datetime) -> timedelta:
        """Business time in ``[a, b)`` (zero when ``b <= a``)."""
        a, b = _utc(a), _utc(b)
        total = timedelta(0)
        if b <= a:
            return total
        day = a.astimezone(self.zone).date() - timedelta(days=1)
        last = b.astimezone(self.zone).date() + timedelta(days=1)
        while day <= last:
            for s, e in self.day_intervals(day):
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def is_open(self, moment: datetime) -> bool:
        moment = _utc(moment)
        day = moment.astimezone(self.zone).date()
        return any(
            s <= moment < e
            for d in (day - timedelta(days=1), day)
            for s, e in self.day_intervals(d)
        )


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    if minutes == 24 * 60:
        return datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    return datetime.combine(day, time(minutes // 60, minutes % 60), zone).astimezone(timezone.utc)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("give an aware datetime")
    return moment.astimezone(timezone.utc)


def resume_due(
    calendar: BusinessCalendar, due: datetime, paused_at: datetime, resumed_at: datetime
) -> datetime:
    """The new due time of a target whose clock stopped at ``paused_at`` and restarts at ``resumed_at``.

    The business time that was left at the pause is added from the resumption. A target already overdue when
    the clock stopped keeps its due time (the breach stands).
    """
    if due <= paused_at:
        return due
    left = calendar.between(paused_at, due)
    return calendar.add(max(resumed_at, paused_at), left)
