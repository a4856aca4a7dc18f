"""iCalendar export (RFC 5545) of a user's tasks, for Google Calendar and Outlook to import or subscribe to.

- One VEVENT per task (``style="events"``, what Google Calendar and Outlook show), or VEVENTs for
  appointments and VTODOs for the other tasks (``style="mixed"``, for Thunderbird, Apple Reminders…).
- UIDs are the tasks' stored UIDs, so every export of the same task carries the same UID; SEQUENCE and
  LAST-MODIFIED grow with each change, so subscribed calendars replace the event instead of duplicating it.
- Times carry their TZID (the task's zone, ``Asia/Tehran``) with a VTIMEZONE built from the tz database;
  all-day tasks are DATE values. A recurring task is one VEVENT with its RRULE (and EXDATEs); a snoozed
  current occurrence is an override with RECURRENCE-ID. Reminders become VALARMs.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Todo, vRecur
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from crmcore.api import Customer, ValidationError

from . import __version__
from .models import Task, TaskUser
from .service import ref_string
from .users import check_assignee
from .values import APPOINTMENT_KINDS, KIND_LABELS_FA, PRIORITY_ICAL

PRODID = f"-//crmcore//crmcore-tasks {__version__}//EN"
STYLES = ("events", "mixed")
STATUS_EVENT = {"open": "CONFIRMED", "done": "CONFIRMED", "cancelled": "CANCELLED"}
STATUS_TODO = {"open": "NEEDS-ACTION", "done": "COMPLETED", "cancelled": "CANCELLED"}


def export_calendar(
    uow, *, assignee: str, style: str = "events", include_closed: bool = False
) -> bytes:
    """The VCALENDAR of ``assignee``'s tasks (open ones; with ``include_closed`` also done and cancelled)."""
    if style not in STYLES:
        raise ValidationError(
            f"{style!r} is not an export style ({', '.join(STYLES)})", field="style"
        )
    user = uow.session.get(TaskUser, check_assignee(uow, assignee))
    q = (
        select(Task, Customer.display_name)
        .join(Customer, Customer.id == Task.customer_id)
        .options(selectinload(Task.reminders))
        .where(Task.assignee == user.username)
        .order_by(Task.due_at, Task.id)
    )
    if not include_closed:
        q = q.where(Task.state == "open")
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"crmcore — {user.display_name}")
    cal.add("x-wr-timezone", uow.app.timezone)
    cal.add("refresh-interval", timedelta(hours=1), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT1H")
    for task, customer_name in uow.session.execute(q):
        for component in task_components(task, customer_name, style=style):
            cal.add_component(component)
    cal.add_missing_timezones()
    return cal.to_ical()


def task_components(
    task: Task, customer_name: str, *, style: str = "events"
) -> Iterable[Event | Todo]:
    as_todo = style == "mixed" and task.kind not in APPOINTMENT_KINDS
    main = _todo(task, customer_name) if as_todo else _event(task, customer_name)
    yield main
    moved = (
        task.recurring
        and task.state == "open"
        and task.occurrence_at
        and task.due_at != task.occurrence_at
    )
    if moved and not as_todo:  # the current occurrence was snoozed: override it
        override = _event(task, customer_name, start=task.due_at, recurring=False)
        override.add("recurrence-id", _local(task, task.occurrence_at))
        yield override


def _local(task: Task, moment: datetime):
    zone = ZoneInfo(task.timezone)
    if task.all_day:
        return moment.astimezone(zone).date()
    return moment.astimezone(zone)


def _common(component, task: Task, customer_name: str) -> None:
    component.add("uid", task.uid)
    component.add("dtstamp", task.updated_at.astimezone(timezone.utc))
    component.add("created", task.created_at.astimezone(timezone.utc))
    component.add("last-modified", task.updated_at.astimezone(timezone.utc))
    component.add("sequence", task.sequence or 0)
    component.add("summary", f"{task.title} — {customer_name}" if customer_name else task.title)
    component.add("description", _description(task, customer_name))
    if task.location:
        component.add("location", task.location)
    component.add(
        "categories", [task.kind.replace("_", " "), KIND_LABELS_FA.get(task.kind, task.kind)]
    )
    component.add("priority", PRIORITY_ICAL[task.priority])
    component.add("x-crmcore-task-id", str(task.id))
    component.add("x-crmcore-kind", task.kind)
    component.add("x-crmcore-title", task.title)
    if task.notes:
        component.add("x-crmcore-notes", task.notes)
    component.add("x-crmcore-customer-id", str(task.customer_id))


def _description(task: Task, customer_name: str) -> str:
    lines = [
        f"Customer / مشتری: {customer_name} (#{task.customer_id})",
        f"Kind / نوع: {task.kind.replace('_', ' ')} / {KIND_LABELS_FA.get(task.kind, task.kind)}",
    ]
    ref = ref_string(task)
    if ref:
        lines.append(f"Reference / مرجع: {ref}")
    if task.notes:
        lines += ["", task.notes]
    return "\n".join(lines)


def _alarms(component, task: Task) -> None:
    for reminder in task.reminders:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", task.title)
        alarm.add("trigger", -timedelta(minutes=reminder.minutes_before))
        component.add_component(alarm)


def _event(
    task: Task, customer_name: str, *, start: datetime | None = None, recurring: bool = True
) -> Event:
    event = Event()
    _common(event, task, customer_name)
    begin = start or (task.series_start if task.recurring and recurring else task.due_at)
    event.add("dtstart", _local(task, begin))
    if task.all_day:
        event.add("dtend", _local(task, begin) + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    elif task.duration_minutes:
        event.add("dtend", _local(task, begin) + timedelta(minutes=task.duration_minutes))
    event.add("status", STATUS_EVENT[task.state])
    if task.recurring and recurring:
        _recurrence(event, task)
    _alarms(event, task)
    return event


def _todo(task: Task, customer_name: str) -> Todo:
    todo = Todo()
    _common(todo, task, customer_name)
    begin = task.series_start if task.recurring else task.due_at
    if task.recurring:
        todo.add("dtstart", _local(task, begin))
    todo.add("due", _local(task, task.due_at))
    todo.add("status", STATUS_TODO[task.state])
    if task.state == "done" and task.closed_at:
        todo.add("completed", task.closed_at.astimezone(timezone.utc))
    if task.recurring:
        _recurrence(todo, task)
    _alarms(todo, task)
    return todo


def _recurrence(component, task: Task) -> None:
    rule = vRecur.from_ical(task.rrule)
    if task.all_day and "UNTIL" in rule:  # RFC 5545: UNTIL has DTSTART's value type (a DATE here)
        rule["UNTIL"] = [u.astimezone(ZoneInfo(task.timezone)).date() for u in rule["UNTIL"]]
    component.add("rrule", rule)
    if task.exdates:
        component.add("exdate", [_local(task, datetime.fromisoformat(x)) for x in task.exdates])
