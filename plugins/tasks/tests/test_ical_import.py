from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from crmcore_tasks.display import task_to_dict
from crmcore_tasks.ical_export import export_calendar
from crmcore_tasks.ical_import import import_calendar
from crmcore_tasks.models import Task
from crmcore_tasks.service import list_tasks

from crmcore.api import ValidationError
from crmcore.testing import make_customer

FIXTURES = Path(__file__).parent / "fixtures"
UTC = timezone.utc
TEHRAN = ZoneInfo("Asia/Tehran")


def do_import(app, name, **kwargs):
    data = (FIXTURES / name).read_bytes() if isinstance(name, str) else name
    with app.unit_of_work() as uow:
        return import_calendar(uow, data, name=str(name), **kwargs)


def tasks_by_title(app):
    with app.unit_of_work(readonly=True) as uow:
        return {t.title: task_to_dict(t, now=uow.now()) for t in list_tasks(uow, state="all")}


def test_google_calendar_export_becomes_tasks(crm_app, users, customer):
    ali = make_customer(crm_app, "Ali Mohammadi", emails=["ali.mohammadi@example.com"])
    summary = do_import(crm_app, "google_calendar.ics", assignee="sara")
    reasons = sorted(s["reason"] for s in summary.skipped)
    assert reasons == [
        "a changed single occurrence of a recurring event (kept as the series)",
        "already over",
        "cancelled",
    ]
    assert len(summary.created) == 4
    found = tasks_by_title(crm_app)
    meeting = found["جلسه بررسی سفارش عمده"]
    assert meeting["customer_id"] == customer  # matched by the attendee's email (case-insensitive)
    assert meeting["due_at"] == "2025-04-05T07:00:00+00:00" and meeting["duration_minutes"] == 60
    assert meeting["reminders_minutes_before"] == [1440, 30]
    assert meeting["uid"] == "5n3k0v9l2q1c8m7b6a4d3e2f1g@google.com"
    assert meeting["location"] == "دفتر مرکزی، تهران، خیابان ولیعصر"
    assert (
        "نمونه‌ها" in meeting["notes"]
        and meeting["assignee"] == "sara"
        and meeting["source"] == "ical"
    )
    weekly = found["تماس هفتگی پیگیری سفارش‌ها"]
    # started on 1 March; 22 March is excluded (EXDATE), so the next one is Saturday 29 March, 09:00 Tehran
    assert (
        weekly["due_at"] == "2025-03-29T05:30:00+00:00"
        and weekly["rrule"] == "FREQ=WEEKLY;BYDAY=SA"
    )
    assert weekly["series_start"] == "2025-03-01T05:30:00+00:00"
    visit = found["بازدید از غرفه مشتری در نمایشگاه"]
    assert visit["all_day"] is True and visit["due"] == "2025-04-02"
    assert found["Price list demo"]["customer_id"] == ali
    assert found["Price list demo"]["due_at"] == "2025-04-07T06:30:00+00:00"


def test_outlook_export_with_windows_zone_names_becomes_tasks(crm_app, users, customer):
    summary = do_import(crm_app, "outlook.ics", assignee="reza")
    assert len(summary.created) == 3 and summary.skipped == []
    found = tasks_by_title(crm_app)
    review = found["Quarterly review with Maryam Rezaei"]
    assert review["due_at"] == "2025-04-06T10:30:00+00:00"  # 14:00 "Iran Standard Time"
    assert review["timezone"] == "Asia/Tehran" and review["priority"] == "urgent"
    assert review["reminders_minutes_before"] == [15]
    weekly = found["تماس هفتگی با مریم رضایی"]
    assert weekly["rrule"] == "FREQ=WEEKLY;COUNT=10;BYDAY=TU;WKST=SU"
    assert datetime.fromisoformat(weekly["due_at"]).astimezone(TEHRAN) == datetime(
        2025, 3, 25, 16, 0, tzinfo=TEHRAN
    )
    site = found["Site visit Isfahan branch"]
    assert site["all_day"] is True and site["due"] == "2025-04-10"


def test_importing_the_same_file_again_changes_nothing_and_changed_events_update(
    crm_app, users, customer, h
):
    do_import(crm_app, "outlook.ics", customer=customer)
    again = do_import(crm_app, "outlook.ics", customer=customer)
    assert again.created == [] and again.updated == [] and len(again.unchanged) == 3
    changed = (
        (FIXTURES / "outlook.ics")
        .read_bytes()
        .replace(
            b'DTSTART;TZID="Iran Standard Time":20250406T140000',
            b'DTSTART;TZID="Iran Standard Time":20250406T143000',
        )
    )
    result = do_import(crm_app, changed, customer=customer)
    assert len(result.updated) == 1 and h.count(Task) == 3
    assert (
        tasks_by_title(crm_app)["Quarterly review with Maryam Rezaei"]["due_at"]
        == "2025-04-06T11:00:00+00:00"
    )
    cancelled = changed.replace(
        b"SUMMARY;LANGUAGE=en-us:Quarterly", b"STATUS:CANCELLED\r\nSUMMARY;LANGUAGE=en-us:Quarterly"
    )
    assert len(do_import(crm_app, cancelled, customer=customer).cancelled) == 1
    assert tasks_by_title(crm_app)["Quarterly review with Maryam Rezaei"]["state"] == "cancelled"


@pytest.mark.parametrize(
    "name, message",
    [
        ("contact.vcf.ics", "not an iCalendar file"),
        (
            "broken_rrule.ics",
            "Broken repeat' (bad0rule@google.com) has a recurrence rule that cannot be used",
        ),
    ],
)
def test_a_file_that_is_not_a_usable_calendar_is_refused_and_nothing_is_stored(
    crm_app, customer, h, name, message
):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        do_import(crm_app, name)
    assert h.count(Task) == 0


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "is empty"),
        (b"hello, this is a text file\r\n", "not an iCalendar file"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "without any event"),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:2025zz\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "unreadable DTSTART",
        ),
        (
            b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\nSUMMARY:no start\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
            "has no DTSTART",
        ),
    ],
)
def test_broken_files_are_refused_clearly(crm_app, customer, h, data, message):
    with pytest.raises(ValidationError, match=message):
        do_import(crm_app, data, customer=customer)
    assert h.count(Task) == 0


def test_events_matching_no_customer_refuse_the_file_unless_skipped(crm_app, customer, h):
    with pytest.raises(
        ValidationError, match="1 event\\(s\\) .* match no customer.*Price list demo"
    ):
        do_import(crm_app, "google_calendar.ics")
    assert h.count(Task) == 0
    summary = do_import(crm_app, "google_calendar.ics", skip_unmatched=True)
    assert len(summary.created) == 3
    assert {
        "uid": "utc0event1abcdef@google.com",
        "title": "Price list demo",
        "reason": "no matching customer",
    } in summary.skipped


def test_unknown_assignee_refuses_the_import(crm_app, customer, h):
    with pytest.raises(ValidationError, match="unknown assignee 'ghost'"):
        do_import(crm_app, "outlook.ics", assignee="ghost")
    assert h.count(Task) == 0


def test_past_events_come_in_on_request(crm_app, customer, h):
    summary = do_import(crm_app, "google_calendar.ics", skip_unmatched=True, include_past=True)
    assert "جلسه گذشته" in tasks_by_title(crm_app)
    assert tasks_by_title(crm_app)["جلسه گذشته"]["overdue"] is True
    assert len(summary.created) == 4


def test_importing_our_own_export_again_changes_nothing(
    crm_app, crm_app_factory, users, customer, h
):
    h.add(
        customer,
        kind="meeting",
        title="جلسه",
        due="1404-01-02 09:00",
        assignee="sara",
        duration="30m",
        rrule="FREQ=WEEKLY;COUNT=4",
        reminders=["1h"],
    )
    h.add(customer, kind="visit", title="بازدید", due="1404-01-10", assignee="sara")
    with crm_app.unit_of_work(readonly=True) as uow:
        data = export_calendar(uow, assignee="sara")
        before = {t.title: task_to_dict(t) for t in list_tasks(uow)}
    with crm_app.unit_of_work() as uow:  # same database: the UIDs are known, nothing changes
        result = import_calendar(uow, data)
    assert len(result.unchanged) == 2 and result.created == []
    keys = [
        "due_at",
        "all_day",
        "duration_minutes",
        "rrule",
        "reminders_minutes_before",
        "uid",
        "kind",
    ]
    with crm_app.unit_of_work(readonly=True) as uow:
        after = {t.title: task_to_dict(t) for t in list_tasks(uow)}
    assert {k: {f: v[f] for f in keys} for k, v in after.items()} == {
        k: {f: v[f] for f in keys} for k, v in before.items()
    }
