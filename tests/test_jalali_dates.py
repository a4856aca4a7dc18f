"""The Jalali → Gregorian conversion of dates typed into the CRM, against jdatetime itself."""

import jdatetime
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.domain.dates import jalali_to_gregorian


def jdatetime_outcome(y: int, m: int, d: int):
    try:
        return jdatetime.date(y, m, d).togregorian()
    except ValueError:
        return ValueError


def outcome(y: int, m: int, d: int):
    try:
        return jalali_to_gregorian(y, m, d)
    except ValueError:
        return ValueError


def test_every_day_and_every_impossible_day_of_five_centuries():
    """Years 1200–1699 (1821–2321), months 0–13, days 0–32: the same date, or the same refusal."""
    mismatches = [
        (y, m, d)
        for y in range(1200, 1700)
        for m in range(14)
        for d in range(33)
        if outcome(y, m, d) != jdatetime_outcome(y, m, d)
    ]
    assert mismatches == []


@settings(max_examples=2000, deadline=None)
@given(st.integers(-5, 1699), st.integers(-1, 14), st.integers(-1, 40))
def test_any_year_a_date_can_be_written_with(y, m, d):
    assert outcome(y, m, d) == jdatetime_outcome(y, m, d)


def test_leap_esfand():
    assert jalali_to_gregorian(1403, 12, 30).isoformat() == "2025-03-20"  # 1403 is leap
    assert outcome(1402, 12, 30) is ValueError
    assert jalali_to_gregorian(1404, 1, 1).isoformat() == "2025-03-21"
