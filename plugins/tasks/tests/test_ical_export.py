from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from crmcore_tasks.ical_export import export_calendar
from crmcore_tasks.service import complete_task, snooze_task
from icalendar import Calendar

from crmcore.api import ValidationError

UTC = timezone.utc
TEHRAN = ZoneInfo("Asia/Tehran")


def export(app, user="sara", **kwargs) -> bytes:
    with app.unit_of_work(readonly=True) as uow:
        return export_calendar(uow, assignee=user, **kwargs)


def parse(data: bytes) -> Calendar:
    cal = Calendar.from_ical(data)
    assert cal.name == "VCALENDAR"
    for component in cal.walk():
        assert not getattr(component, "errors", None), (component.name, component.errors)
    return cal


def by_summary(cal, name="VEVENT"):
    return {str(c["SUMMARY"]).split(" — ")[0]: c for c in cal.walk(name)}


@pytest.fixture
def agenda_of_sara(crm_app, users, customer, h):
    return {
        "call": h.add(
            customer,
            kind="call_back",
            title="تماس درباره سفارش",
            due="1404-01-05 10:30",
            assignee="sara",
            reminders=["15m"],
            priority="urgent",
            notes="خط دوم",
            reference="deal:7",
        ),
        "visit": h.add(customer, kind="visit", title="بازدید", due="1404-01-10", assignee="sara"),
        "weekly": h.add(
            customer,
            kind="meeting",
            title="جلسه هفتگی",
            due="1404-01-02 09:00",
            duration="45m",
            assignee="sara",
            rrule="FREQ=WEEKLY;BYDAY=SA;COUNT=6",
            location="دفتر",
        ),
        "reza": h.add(customer, title="not Sara's", due="+1h", assignee="reza"),
    }


def test_export_is_a_valid_calendar_with_zones_alarms_and_recurrence(crm_app, agenda_of_sara):
    cal = parse(export(crm_app))
    assert str(cal["VERSION"]) == "2.0" and "crmcore" in str(cal["PRODID"])
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Asia/Tehran"]
    events = by_summary(cal)
    assert set(events) == {"تماس درباره سفارش", "بازدید", "جلسه هفتگی"}
    call = events["تماس درباره سفارش"]
    assert call["DTSTART"].params["TZID"] == "Asia/Tehran"
    assert call.decoded("DTSTART") == datetime(2025, 3, 25, 10, 30, tzinfo=TEHRAN)
    assert call.decoded("DTSTART").astimezone(UTC) == datetime(2025, 3, 25, 7, 0, tzinfo=UTC)
    assert "مریم رضایی" in str(call["SUMMARY"]) and "deal:7" in str(call["DESCRIPTION"])
    assert int(call["PRIORITY"]) == 1
    [alarm] = call.walk("VALARM")
    assert alarm.decoded("TRIGGER") == -timedelta(minutes=15) and str(alarm["ACTION"]) == "DISPLAY"
    visit = events["بازدید"]
    assert visit.decoded("DTSTART") == date(2025, 3, 30) and visit.decoded("DTEND") == date(
        2025, 3, 31
    )
    weekly = events["جلسه هفتگی"]
    assert weekly.decoded("DTEND") - weekly.decoded("DTSTART") == timedelta(minutes=45)
    assert weekly["RRULE"].to_ical() == b"FREQ=WEEKLY;COUNT=6;BYDAY=SA"
    assert str(weekly["LOCATION"]) == "دفتر"


def test_uids_are_stable_across_exports_and_sequence_grows_with_changes(crm_app, agenda_of_sara):
    first = parse(export(crm_app))
    crm_app.clock.advance(hours=3)
    assert (
        export(crm_app) == first.to_ical()
    )  # nothing changed: the same bytes (DTSTAMP is the last change)
    with crm_app.unit_of_work() as uow:
        snooze_task(uow, agenda_of_sara["call"], by="1d")
    second = parse(export(crm_app))
    uids = lambda cal: sorted(str(e["UID"]) for e in cal.walk("VEVENT"))  # noqa: E731
    assert uids(first) == uids(second)
    before, after = by_summary(first)["تماس درباره سفارش"], by_summary(second)["تماس درباره سفارش"]
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    assert after.decoded("DTSTART") - before.decoded("DTSTART") == timedelta(days=1)


def test_a_snoozed_occurrence_of_a_series_is_an_override(crm_app, agenda_of_sara):
    with crm_app.unit_of_work() as uow:
        snooze_task(uow, agenda_of_sara["weekly"], until="1404-01-02 15:00")
    cal = parse(export(crm_app))
    series = [e for e in cal.walk("VEVENT") if str(e["SUMMARY"]).startswith("جلسه هفتگی")]
    assert len(series) == 2 and len({str(e["UID"]) for e in series}) == 1
    [override] = [e for e in series if "RECURRENCE-ID" in e]
    assert override.decoded("RECURRENCE-ID") == datetime(2025, 3, 22, 9, 0, tzinfo=TEHRAN)
    assert override.decoded("DTSTART") == datetime(2025, 3, 22, 15, 0, tzinfo=TEHRAN)
    assert "RRULE" not in override


def test_mixed_style_puts_non_appointments_in_todos_and_closed_tasks_on_request(
    crm_app, agenda_of_sara, customer, h
):
    h.add(customer, title="ارسال پیش‌فاکتور", due="1404-01-03", assignee="sara")
    with crm_app.unit_of_work() as uow:
        complete_task(uow, agenda_of_sara["call"])
    cal = parse(export(crm_app, style="mixed"))
    assert set(by_summary(cal)) == {"جلسه هفتگی", "بازدید"}
    todo = by_summary(cal, "VTODO")["ارسال پیش‌فاکتور"]
    assert todo.decoded("DUE") == date(2025, 3, 23) and str(todo["STATUS"]) == "NEEDS-ACTION"
    cal = parse(export(crm_app, style="mixed", include_closed=True))
    todos = by_summary(cal, "VTODO")
    done = todos["تماس درباره سفارش"]
    assert str(done["STATUS"]) == "COMPLETED" and "COMPLETED" in done
    assert done.decoded("DUE") == datetime(2025, 3, 25, 10, 30, tzinfo=TEHRAN)


def test_export_of_an_unknown_user_or_style_is_refused(crm_app, users):
    with pytest.raises(ValidationError, match="unknown assignee"):
        export(crm_app, user="ghost")
    with pytest.raises(ValidationError, match="not an export style"):
        export(crm_app, style="csv")


def test_an_empty_agenda_is_still_a_valid_calendar(crm_app, users):
    cal = parse(export(crm_app))
    assert cal.walk("VEVENT") == [] and str(cal["X-WR-CALNAME"]) == "crmcore — سارا احمدی"
