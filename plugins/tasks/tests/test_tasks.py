from datetime import datetime, timezone

import pytest
from crmcore_tasks.models import Task, TaskCompletion
from crmcore_tasks.service import agenda, cancel_task, complete_task, list_tasks, snooze_task

from crmcore.api import Conflict, NotFound, ValidationError
from crmcore.testing import assert_migrations_match_models, make_customer, outbox_events

UTC = timezone.utc


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "tasks")


def test_add_timed_task_with_jalali_due_is_stored_utc_and_shown_in_both_calendars(
    crm_app, users, customer, h
):
    tid = h.add(
        customer,
        kind="call-back",
        title="تماس درباره سفارش",
        due="۱۴۰۴/۰۱/۰۵ ۱۰:۳۰",
        assignee="sara",
        priority="فوری",
        reminders=["15m", "1h"],
        reference="deal:17",
        notes="  شماره دوم را هم بگیرید ",
    )
    t = h.get(tid)
    assert t["due_at"] == "2025-03-25T07:00:00+00:00"  # 10:30 Tehran (+03:30)
    assert t["due"] == "2025-03-25 10:30"
    assert h.get(tid, calendar="jalali")["due"] == "1404-01-05 10:30"
    assert (t["kind"], t["priority"], t["assignee"], t["reference"]) == (
        "call_back",
        "urgent",
        "sara",
        "deal:17",
    )
    assert t["reminders_minutes_before"] == [60, 15]
    assert t["notes"] == "شماره دوم را هم بگیرید"
    assert t["all_day"] is False and t["state"] == "open" and t["uid"].endswith("@crmcore")
    assert [e["event"] for e in outbox_events(crm_app, "tasks_task_created")] == [
        "tasks_task_created"
    ]


def test_a_date_alone_makes_an_all_day_task_overdue_only_after_that_local_day(crm_app, customer, h):
    tid = h.add(customer, kind="visit", title="بازدید", due="1404-01-01")  # today in Tehran
    t = h.get(tid)
    assert t["all_day"] is True and t["duration_minutes"] is None
    assert t["due_at"] == "2025-03-20T20:30:00+00:00"  # local midnight
    assert t["overdue"] is False
    crm_app.clock.set(datetime(2025, 3, 21, 20, 29, tzinfo=UTC))  # 23:59 Tehran
    assert h.get(tid)["overdue"] is False
    crm_app.clock.set(datetime(2025, 3, 21, 20, 30, tzinfo=UTC))  # midnight
    assert h.get(tid)["overdue"] is True


def test_relative_and_word_due_moments(crm_app, customer, h):
    assert h.get(h.add(customer, due="+2h"))["due_at"] == "2025-03-21T11:00:00+00:00"
    tomorrow = h.get(h.add(customer, due="فردا"))
    assert tomorrow["all_day"] and tomorrow["due"] == "2025-03-22"
    meeting = h.get(h.add(customer, kind="meeting", due="2025-03-22T10:00"))
    assert meeting["duration_minutes"] == 60  # appointments take an hour unless told


@pytest.mark.parametrize(
    "fields, field, reason",
    [
        (
            {"due": "1404-12-30 10:00"},
            "due",
            "not a date in the Jalali calendar",
        ),  # 1404 is not a leap year
        ({"due": "2025-02-29"}, "due", "not a date in the Gregorian calendar"),
        ({"due": "2025-03-22 25:00"}, "due", "impossible time of day"),
        ({"due": "next tuesday"}, "due", "not a due date"),
        ({"due": ""}, "due", "a due date is required"),
        ({"rrule": "FREQ=WEEKLYY"}, "rrule", "needs FREQ="),
        ({"rrule": "FREQ=DAILY;INTERVAL=0"}, "rrule", "outside 1..999"),
        ({"rrule": "FREQ=DAILY;BYMONTH=13"}, "rrule", "outside 1..12"),
        ({"rrule": "every day"}, "rrule", "not NAME=VALUE"),
        ({"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}, "rrule", "never exists"),
        ({"rrule": "FREQ=DAILY;UNTIL=20250101"}, "rrule", "has no occurrence"),
        ({"rrule": "FREQ=DAILY;COUNT=3;UNTIL=20250401"}, "rrule", "both COUNT and UNTIL"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule", "BYDAY item"),
        ({"assignee": "nobody"}, "assignee", "unknown assignee 'nobody'"),
        ({"kind": "party"}, "kind", "not a task kind"),
        ({"priority": "asap"}, "priority", "not a priority"),
        ({"title": "   "}, "title", "a title is required"),
        ({"duration": "an hour"}, "duration", "not a duration"),
        ({"reminders": ["-5m"]}, "remind", "not a duration"),
        ({"reference": "deal"}, "reference", "TYPE:ID"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    crm_app, users, customer, h, fields, field, reason
):
    fields = {"due": "2025-03-22 10:00", **fields}
    with pytest.raises(ValidationError) as err:
        h.add(customer, **fields)
    assert err.value.field == field
    assert reason in str(err.value)
    assert h.count(Task) == 0
    assert outbox_events(crm_app, "tasks_task_created") == []


def test_unknown_customer_and_task_are_not_found(crm_app, customer, h):
    with pytest.raises(NotFound):
        h.add(999, due="+1h")
    with pytest.raises(NotFound, match="no task with id 42"):
        with crm_app.unit_of_work() as uow:
            complete_task(uow, 42)


def test_tasks_can_be_added_by_phone_in_any_format(crm_app, customer, h):
    assert h.get(h.add("۰۹۱۲۱۲۳۴۵۶۷", due="+1h"))["customer_id"] == customer


def test_complete_records_the_completion_and_announces_it(app_with_recorder, recorder, customer, h):
    app = app_with_recorder
    tid = h.add(customer, due="+1h", dedup_key="k1")
    with app.unit_of_work() as uow:
        result = complete_task(uow, tid, note="تماس گرفته شد")
    assert result["state"] == "done" and result["next_due_at"] is None
    assert recorder.completed == [(tid, "done", datetime(2025, 3, 21, 10, 0, tzinfo=UTC))]
    assert h.count(TaskCompletion) == 1
    assert h.get(tid)["state"] == "done"
    with pytest.raises(Conflict, match="is done; only open tasks"):
        with app.unit_of_work() as uow:
            complete_task(uow, tid)
    assert h.count(TaskCompletion) == 1


def test_snooze_by_and_until_and_refusals(crm_app, customer, h):
    tid = h.add(customer, due="2025-03-21 14:00")
    with crm_app.unit_of_work() as uow:
        snooze_task(uow, tid, by="2h")
    assert h.get(tid)["due"] == "2025-03-21 16:00"
    with crm_app.unit_of_work() as uow:
        snooze_task(uow, tid, until="1404-01-03 09:00")
    assert h.get(tid)["due"] == "2025-03-23 09:00"
    for kwargs, reason in [
        ({}, "either --by"),
        ({"by": "1h", "until": "tomorrow"}, "either --by"),
        ({"until": "2025-03-20 10:00"}, "not into the past"),
        ({"until": "2025-03-25"}, "give a date and time"),
    ]:
        with pytest.raises(ValidationError, match=reason):
            with crm_app.unit_of_work() as uow:
                snooze_task(uow, tid, **kwargs)
    assert h.get(tid)["due"] == "2025-03-23 09:00"


def test_cancel_frees_the_dedup_key(crm_app, customer, h):
    tid = h.add(customer, due="+1h", dedup_key="missed:1")
    with pytest.raises(Conflict, match="already has the de-duplication key"):
        h.add(customer, due="+1h", dedup_key="missed:1")
    with crm_app.unit_of_work() as uow:
        cancel_task(uow, tid, reason="duplicate")
    assert h.get(tid)["state"] == "cancelled"
    assert h.add(customer, due="+1h", dedup_key="missed:1") != tid


def test_list_filters_and_agenda(crm_app, users, customer, h):
    other = make_customer(crm_app, "Ali Mohammadi")
    overdue = h.add(customer, due="2025-03-19 10:00", assignee="sara", title="overdue")
    today_late = h.add(
        customer, due="2025-03-21 18:00", assignee="sara", title="today", priority="high"
    )
    today_all_day = h.add(other, due="2025-03-21", assignee="sara", title="all day")
    h.add(customer, due="2025-03-24 10:00", assignee="sara", title="later")
    h.add(customer, due="2025-03-21 11:00", assignee="reza", title="reza's")
    with crm_app.unit_of_work(readonly=True) as uow:
        found = agenda(uow, assignee="sara")
        assert [t.id for t in found["overdue"]] == [overdue]
        assert [t.id for t in found["today"]] == [today_all_day, today_late]
        assert [t.title for t in list_tasks(uow, assignee="sara", overdue=True)] == ["overdue"]
        assert [t.title for t in list_tasks(uow, customer=other)] == ["all day"]
        assert len(list_tasks(uow, state="all")) == 5
        with pytest.raises(ValidationError, match="unknown assignee"):
            agenda(uow, assignee="nobody")
        tomorrow = agenda(uow, assignee="sara", day="1404-01-04")
        assert [t.title for t in tomorrow["today"]] == ["later"]
        assert {t.title for t in tomorrow["overdue"]} == {"overdue", "today", "all day"}
