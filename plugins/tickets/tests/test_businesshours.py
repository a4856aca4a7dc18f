"""Business-hours arithmetic against a minute-by-minute reference (hypothesis), and worked examples."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from crmcore_tickets.businesshours import BusinessCalendar, format_hours, parse_hours, resume_due
from hypothesis import given, settings
from hypothesis import strategies as st
from tickets_reference import ref_add, ref_between

from crmcore.api import ValidationError

TEHRAN = ZoneInfo("Asia/Tehran")


def tehran(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=TEHRAN)


def test_wednesday_afternoon_plus_two_business_hours_is_thursday_morning():
    cal = BusinessCalendar.default()
    # 2025-01-01 is a Wednesday; 30 minutes left on Wednesday, 90 more from Thursday 09:00
    due = cal.add(tehran(2025, 1, 1, 16, 30), timedelta(hours=2))
    assert due == tehran(2025, 1, 2, 10, 30)


def test_thursday_is_short_and_friday_is_off():
    cal = BusinessCalendar.default()
    # Thursday 12:00 + 3h: 1h on Thursday (until 13:00), Friday off, 2h on Saturday from 09:00
    assert cal.add(tehran(2025, 1, 2, 12), timedelta(hours=3)) == tehran(2025, 1, 4, 11)


def test_jalali_holidays_are_skipped():
    # 1403-11-22 (Bahman 22) is 2025-02-10, a Monday
    cal = BusinessCalendar(
        parse_hours(["sat-wed 09:00-17:00"]), yearly_jalali=frozenset({(11, 22)})
    )
    assert cal.add(tehran(2025, 2, 9, 16), timedelta(hours=2)) == tehran(2025, 2, 11, 10)
    one_off = BusinessCalendar(
        parse_hours(["sat-wed 09:00-17:00"]), holidays=frozenset({date(2025, 2, 10)})
    )
    assert one_off.add(tehran(2025, 2, 9, 16), timedelta(hours=2)) == tehran(2025, 2, 11, 10)


def test_a_target_ending_exactly_at_closing_time_is_due_then():
    cal = BusinessCalendar.default()
    assert cal.add(tehran(2025, 1, 4, 9), timedelta(hours=8)) == tehran(2025, 1, 4, 17)


def test_start_outside_hours_counts_from_the_next_opening():
    cal = BusinessCalendar.default()
    assert cal.add(tehran(2025, 1, 3, 10), timedelta(minutes=1)) == tehran(
        2025, 1, 4, 9, 1
    )  # Friday → Saturday
    assert cal.between(tehran(2025, 1, 3, 0), tehran(2025, 1, 4, 0)) == timedelta(0)


def test_pause_shifts_the_due_time_by_the_business_time_left():
    cal = BusinessCalendar.default()
    due = cal.add(tehran(2025, 1, 4, 9), timedelta(hours=4))  # Saturday 13:00
    # paused Saturday 11:00 (2h left), resumed Sunday 16:00 → 1h Sunday, 1h Monday
    assert resume_due(cal, due, tehran(2025, 1, 4, 11), tehran(2025, 1, 5, 16)) == tehran(
        2025, 1, 6, 10
    )
    # paused after the due time: the breach stands
    assert resume_due(cal, due, tehran(2025, 1, 4, 14), tehran(2025, 1, 5, 16)) == due


@pytest.mark.parametrize(
    "spec, reason",
    [
        (["sat-wed 09:00-17:00", "mon 16:00-18:00"], "overlapping hours on mon"),
        (["sat 17:00-09:00"], "ends before it starts"),
        (["sat 09:00-25:00"], "not a time of day"),
        (["funday 09:00-17:00"], "not a weekday"),
        (["wed-sat 09:00-17:00"], "runs backwards"),
        (["sat-wed"], "not DAYS HH:MM-HH:MM"),
    ],
)
def test_bad_hours_are_refused(spec, reason):
    with pytest.raises(ValidationError, match=reason):
        parse_hours(spec)


def test_a_calendar_without_hours_or_with_only_holidays_is_refused():
    with pytest.raises(ValidationError, match="no working hours"):
        BusinessCalendar(parse_hours([]))
    with pytest.raises(ValidationError, match="time zone"):
        BusinessCalendar(parse_hours(["sat 09:00-10:00"]), timezone="Mars/Olympus")
    every_saturday = frozenset(date(2025, 1, 4) + timedelta(weeks=w) for w in range(200))
    cal = BusinessCalendar(parse_hours(["sat 09:00-10:00"]), holidays=every_saturday)
    with pytest.raises(ValidationError, match="no working time"):
        cal.add(tehran(2025, 1, 1, 9), timedelta(hours=1))


def test_hours_render_in_iranian_week_order():
    assert format_hours(BusinessCalendar.default().hours) == {
        "sat": ["09:00-17:00"],
        "sun": ["09:00-17:00"],
        "mon": ["09:00-17:00"],
        "tue": ["09:00-17:00"],
        "wed": ["09:00-17:00"],
        "thu": ["09:00-13:00"],
        "fri": [],
    }


# --- properties against the minute-by-minute reference ---------------------------------------------------
# Iran has kept no daylight saving since 2022, so moments are drawn from 2023 on; hours on a 30-minute grid.
slots = st.integers(min_value=0, max_value=48)


@st.composite
def day_hours(draw):
    cuts = sorted(set(draw(st.lists(slots, min_size=0, max_size=4))))
    pairs = [(cuts[i] * 30, cuts[i + 1] * 30) for i in range(0, len(cuts) - 1, 2)]
    return tuple(p for p in pairs if p[0] < p[1])


@st.composite
def calendars(draw):
    week = {d: draw(day_hours()) for d in range(7)}
    if not any(week.values()):
        week[5] = ((540, 1020),)
    first = date(2023, 1, 1)
    holidays = frozenset(
        first + timedelta(days=n) for n in draw(st.lists(st.integers(0, 4 * 366), max_size=40))
    )
    yearly = frozenset(
        draw(st.lists(st.tuples(st.integers(1, 12), st.integers(1, 29)), max_size=6))
    )
    return BusinessCalendar(week, holidays=holidays, yearly_jalali=yearly)


moments = st.datetimes(
    min_value=datetime(2023, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(timezone.utc)
).map(lambda d: d.replace(second=0, microsecond=0))


@settings(max_examples=60, deadline=None)
@given(cal=calendars(), start=moments, minutes=st.integers(1, 2400))
def test_add_matches_the_minute_by_minute_reference(cal, start, minutes):
    assert cal.add(start, timedelta(minutes=minutes)) == ref_add(cal, start, minutes)


@settings(max_examples=60, deadline=None)
@given(cal=calendars(), start=moments, span=st.integers(0, 10 * 24 * 60))
def test_between_matches_the_minute_by_minute_reference(cal, start, span):
    end = start + timedelta(minutes=span)
    assert cal.between(start, end) == timedelta(minutes=ref_between(cal, start, end))


@settings(max_examples=40, deadline=None)
@given(
    cal=calendars(),
    start=moments,
    minutes=st.integers(1, 1200),
    pauses=st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 3000)), max_size=3),
)
def test_pausing_and_resuming_matches_the_reference(cal, start, minutes, pauses):
    """The service's way (shift the due time at each resumption) equals counting unpaused business minutes."""
    windows, cursor = [], start
    for gap, length in pauses:
        p0 = cursor + timedelta(minutes=gap)
        windows.append((p0, p0 + timedelta(minutes=length)))
        cursor = p0 + timedelta(minutes=length)
    due = cal.add(start, timedelta(minutes=minutes))
    for p0, p1 in windows:
        due = resume_due(cal, due, p0, p1)  # a pause after the due time changes nothing
    assert due == ref_add(cal, start, minutes, windows)
