from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from crmcore_tasks import recurrence
from crmcore_tasks.models import TaskCompletion
from crmcore_tasks.service import complete_task, snooze_task
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmcore.api import ValidationError

UTC = timezone.utc
TEHRAN = ZoneInfo("Asia/Tehran")


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("weekly", "FREQ=WEEKLY"),
        ("هفتگی", "FREQ=WEEKLY"),
        ("RRULE:freq=weekly;byday=sa,mo;count=4", "FREQ=WEEKLY;COUNT=4;BYDAY=SA,MO"),
        ("FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=-1FR"),
        (
            "FREQ=DAILY;UNTIL=20250401",
            "FREQ=DAILY;UNTIL=20250401T202959Z",
        ),  # end of 1 April in Tehran
    ],
)
def test_rules_are_normalised(raw, canonical):
    assert recurrence.normalize_rule(raw, tz="Asia/Tehran") == canonical


def test_weekly_series_advances_in_local_wall_time_and_ends_after_count(crm_app, customer, h):
    tid = h.add(
        customer,
        kind="meeting",
        title="جلسه هفتگی",
        due="1404-01-02 10:00",
        rrule="FREQ=WEEKLY;BYDAY=SA,MO;COUNT=3",
    )
    dues = []
    for _ in range(3):
        t = h.get(tid)
        assert t["state"] == "open"
        dues.append(
            datetime.fromisoformat(t["due_at"]).astimezone(TEHRAN).strftime("%a %Y-%m-%d %H:%M")
        )
        with crm_app.unit_of_work() as uow:
            complete_task(uow, tid)
    assert dues == ["Sat 2025-03-22 10:00", "Mon 2025-03-24 10:00", "Sat 2025-03-29 10:00"]
    assert h.get(tid)["state"] == "done"
    assert h.count(TaskCompletion) == 3


def test_a_due_moment_that_is_not_an_occurrence_is_refused(crm_app, customer, h):
    with pytest.raises(ValidationError, match="is not an occurrence") as err:
        h.add(customer, due="2025-03-23 10:00", rrule="FREQ=WEEKLY;BYDAY=SA")  # a Sunday
    assert err.value.field == "due"


def test_snoozed_occurrence_then_done_moves_to_the_next_regular_occurrence(crm_app, customer, h):
    tid = h.add(customer, due="2025-03-22 09:00", rrule="FREQ=DAILY")
    with crm_app.unit_of_work() as uow:
        snooze_task(uow, tid, until="2025-03-23 15:00")  # past the next occurrence's time
    with crm_app.unit_of_work() as uow:
        result = complete_task(uow, tid)
    assert result["completed_due_at"] == "2025-03-23T11:30:00+00:00"
    assert h.get(tid)["due"] == "2025-03-23 09:00"  # the series' next occurrence after the 22nd


def test_until_ends_the_series_and_all_day_series_keep_their_dates(crm_app, customer, h):
    tid = h.add(customer, due="1404-01-05", rrule="FREQ=DAILY;UNTIL=20250326")
    days = []
    while h.get(tid)["state"] == "open":
        days.append(h.get(tid, calendar="jalali")["due"])
        with crm_app.unit_of_work() as uow:
            complete_task(uow, tid)
    assert days == ["1404-01-05", "1404-01-06"]


def test_rule_parsing_of_pathological_rules_is_quick_and_clear():
    for rule in (
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=SECONDLY",
        "FREQ=DAILY;BYSETPOS=2",
        "FREQ=MONTHLY;BYWEEKNO=60",
        "FREQ=WEEKLY;BYMONTHDAY=3",
        "FREQ=MONTHLY;BYMONTH=4,6;BYMONTHDAY=-31",
    ):
        with pytest.raises(ValidationError):
            canonical = recurrence.normalize_rule(rule, tz="Asia/Tehran")
            recurrence.check_has_occurrence(
                canonical, datetime(2025, 3, 21, tzinfo=UTC), "Asia/Tehran"
            )


rules = st.builds(
    lambda freq, interval, count, byday: ";".join(
        [f"FREQ={freq}", f"INTERVAL={interval}", f"COUNT={count}"]
        + ([f"BYDAY={byday}"] if byday else [])
    ),
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]),
    st.integers(1, 3),
    st.integers(1, 6),
    st.sampled_from([None, "SA", "MO,WE", "SA,SU,MO,TU,WE,TH,FR"]),
)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rule=rules, hour=st.integers(0, 23))
def test_completing_a_series_visits_exactly_dateutils_occurrences(crm_app, customer, h, rule, hour):
    first = rrulestr(rule, dtstart=datetime(2025, 3, 22, hour, 15, tzinfo=TEHRAN))[0]
    expected = list(rrulestr(rule, dtstart=first))  # the series starts at its first occurrence
    tid = h.add(customer, title=f"series {rule}", due=expected[0].astimezone(UTC), rrule=rule)
    seen = []
    while h.get(tid)["state"] == "open":
        seen.append(datetime.fromisoformat(h.get(tid)["due_at"]))
        with crm_app.unit_of_work() as uow:
            complete_task(uow, tid)
    assert seen == [e.astimezone(UTC) for e in expected]
