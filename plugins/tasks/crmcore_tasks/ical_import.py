"""Importing an ``.ics`` file (Google Calendar, Outlook, Apple…): each appointment booked elsewhere becomes a
task of a customer. The whole file is one unit of work: one bad event refuses the file and nothing changes.

- The customer: ``customer`` for every event, else the customer whose email is an ATTENDEE or ORGANIZER of
  the event (or ``X-CRMCORE-CUSTOMER-ID`` of our own export). Events matching no customer refuse the file,
  unless ``skip_unmatched``.
- Times: TZID zones (IANA or Windows names such as ``Iran Standard Time``) and UTC are honoured; floating
  times are read in the application's zone; DATE values make all-day tasks.
- Recurring events keep their RRULE and EXDATEs; the task's due moment is the next occurrence from now.
- The event's UID is kept: importing the same file again updates the tasks instead of duplicating them;
  ``STATUS:CANCELLED`` cancels the task.
- Events that are over are skipped unless ``include_past``; VALARMs become reminders.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
from icalendar import Calendar
from sqlalchemy import select

from crmcore.api import CRMError, Customer, CustomerEmail, ValidationError, get_customer

from . import recurrence
from .models import Task, TaskReminder
from .service import (
    _announce_created,
    _customer,
    _insert,
    _touch,
    arm_reminders,
    cancel_task,
    prepare_task,
)
from .values import KINDS, Due, overdue_moment, parse_kind

MAX_BYTES = 20 * 1024 * 1024


@attrs.define
class ImportSummary:
    created: list[int] = attrs.field(factory=list)
    updated: list[int] = attrs.field(factory=list)
    unchanged: list[int] = attrs.field(factory=list)
    cancelled: list[int] = attrs.field(factory=list)
    skipped: list[dict[str, str]] = attrs.field(factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "cancelled": self.cancelled,
            "skipped": self.skipped,
        }


def parse_calendar(data: bytes | str, *, name: str = "file") -> Calendar:
    """The VCALENDAR in ``data``, or a ValidationError saying why it is not one."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise ValidationError(
            f"{name} is larger than {MAX_BYTES // (1024 * 1024)} MB", field="file"
        )
    if not data.strip():
        raise ValidationError(f"{name} is empty, not an iCalendar file", field="file")
    if not data.lstrip(b"\xef\xbb\xbf \r\n\t").upper().startswith(b"BEGIN:VCALENDAR"):
        raise ValidationError(
            f"{name} is not an iCalendar file (it does not start with BEGIN:VCALENDAR)",
            field="file",
        )
    try:
        cal = Calendar.from_ical(data)
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        raise ValidationError(
            f"{name} is not a valid iCalendar file: {exc}", field="file"
        ) from None
    if isinstance(cal, list) or cal.name != "VCALENDAR":
        raise ValidationError(f"{name} does not hold exactly one VCALENDAR", field="file")
    if not list(cal.walk("VEVENT")) and not list(cal.walk("VTODO")):
        raise ValidationError(
            f"{name} is a calendar without any event (VEVENT) or to-do (VTODO)", field="file"
        )
    return cal


def import_calendar(
    uow,
    data: bytes | str,
    *,
    name: str = "file",
    customer: Any = None,
    assignee: str | None = None,
    kind: str | None = None,
    include_past: bool = False,
    skip_unmatched: bool = False,
) -> ImportSummary:
    cal = parse_calendar(data, name=name)
    fixed_customer = _customer(uow, customer) if customer not in (None, "") else None
    forced_kind = parse_kind(kind) if kind else None
    summary = ImportSummary()
    unmatched: list[dict[str, str]] = []
    for component in cal.walk():
        if component.name not in ("VEVENT", "VTODO"):
            continue
        item = _read(uow, component, name)
        if item is None:
            continue
        if item["recurrence_id"]:
            summary.skipped.append(
                {
                    "uid": item["uid"],
                    "title": item["title"],
                    "reason": "a changed single occurrence of a recurring event (kept as the series)",
                }
            )
            continue
        existing = uow.session.scalar(select(Task).where(Task.uid == item["uid"]))
        if item["status"] == "CANCELLED":
            if existing is not None and existing.state == "open":
                cancel_task(uow, existing.id, reason=f"cancelled in the imported calendar {name}")
                summary.cancelled.append(existing.id)
            else:
                summary.skipped.append(
                    {"uid": item["uid"], "title": item["title"], "reason": "cancelled"}
                )
            continue
        due = _current_due(uow, item)
        if due is None or (
            not include_past and overdue_moment(due, item["all_day"], item["tz"]) <= uow.now()
        ):
            summary.skipped.append(
                {"uid": item["uid"], "title": item["title"], "reason": "already over"}
            )
            continue
        if existing is not None:
            _update(uow, existing, item, due, summary)
            continue
        who = fixed_customer or _match_customer(uow, item)
        if who is None:
            unmatched.append(
                {"uid": item["uid"], "title": item["title"], "reason": "no matching customer"}
            )
            continue
        task = prepare_task(
            uow,
            customer=who,
            kind=forced_kind or item["kind"],
            title=item["title"],
            notes=item["notes"],
            location=item["location"],
            due=Due(at=due, all_day=item["all_day"]),
            assignee=assignee,
            priority=item["priority"],
            duration=item["duration"],
            reminders=item["reminders"],
            uid=item["uid"],
            tz=item["tz"],
            source="ical",
        )
        if item["rrule"]:
            _set_series(task, item, due)
        _insert(uow, task)
        _announce_created(uow, task)
        summary.created.append(task.id)
    if unmatched and not skip_unmatched:
        shown = "; ".join(f"{u['title']!r} (UID {u['uid']})" for u in unmatched[:5])
        shown += f"; and {len(unmatched) - 5} more" if len(unmatched) > 5 else ""
        raise ValidationError(
            f"{len(unmatched)} event(s) in {name} match no customer by attendee email: {shown}. "
            "Give --customer, or --skip-unmatched to import the others",
            field="customer",
        )
    summary.skipped += unmatched
    return summary


def _fail(name: str, component, why: str) -> ValidationError:
    uid = str(component.get("UID", "")) or "without UID"
    title = str(component.get("SUMMARY", ""))
    return ValidationError(
        f"{name}: {component.name} {title!r} ({uid}) {why}; nothing was imported", field="file"
    )


def _zone_name(prop, app_tz: str) -> str:
    tzid = prop.params.get("TZID") if prop is not None else None
    if tzid:
        from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

        name = WINDOWS_TO_OLSON.get(tzid, tzid)
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return app_tz


def _as_utc(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None:  # floating time: the application's (or the event's named) zone
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(timezone.utc)


def _read(uow, component, name: str) -> dict[str, Any] | None:
    errors = getattr(component, "errors", None)
    if errors:
        prop, why = errors[0]
        raise _fail(name, component, f"has an unreadable {prop}: {why}")
    app_tz = uow.app.timezone
    is_todo = component.name == "VTODO"
    start_prop = (
        component.get("DUE")
        if is_todo and component.get("DUE") is not None
        else component.get("DTSTART")
    )
    if start_prop is None:
        if is_todo:
            return None  # a to-do without a date is not something to schedule
        raise _fail(name, component, "has no DTSTART")
    tz = _zone_name(start_prop, app_tz)
    start = start_prop.dt
    all_day = isinstance(start, date) and not isinstance(start, datetime)
    start_utc = (
        datetime.combine(start, datetime.min.time(), ZoneInfo(tz)).astimezone(timezone.utc)
        if all_day
        else _as_utc(start, tz)
    )
    duration = None
    if not is_todo and not all_day:
        end = component.get("DTEND")
        if end is not None:
            end_dt = end.dt
            if not isinstance(end_dt, datetime):
                raise _fail(name, component, "mixes a timed DTSTART with a date DTEND")
            duration = int((_as_utc(end_dt, tz) - start_utc).total_seconds() // 60)
        elif component.get("DURATION") is not None:
            duration = int(component.decoded("DURATION").total_seconds() // 60)
        if duration is not None and duration < 0:
            raise _fail(name, component, "ends before it starts")
        duration = duration or None
    uid = str(component.get("UID", "")).strip()
    if not uid:
        digest = hashlib.sha256(
            f"{start_utc.isoformat()}|{component.get('SUMMARY', '')}".encode()
        ).hexdigest()
        uid = f"import-{digest[:32]}@crmcore"
    rrule = None
    if component.get("RRULE") is not None:
        raw_rule = component.get("RRULE")
        raw_rule = raw_rule[0] if isinstance(raw_rule, list) else raw_rule
        try:
            rrule = recurrence.normalize_rule(raw_rule.to_ical().decode(), tz=tz)
        except ValidationError as exc:
            raise _fail(
                name, component, f"has a recurrence rule that cannot be used: {exc.message}"
            ) from None
    exdates = []
    ex = component.get("EXDATE")
    for group in ex if isinstance(ex, list) else [ex] if ex is not None else []:
        for d in group.dts:
            value = d.dt
            exdates.append(
                datetime.combine(value, datetime.min.time(), ZoneInfo(tz)).astimezone(timezone.utc)
                if not isinstance(value, datetime)
                else _as_utc(value, tz)
            )
    kind = "meeting" if not is_todo else "task"
    title = " ".join(str(component.get("SUMMARY", "")).split()) or (
        "جلسه" if not is_todo else "کار"
    )
    notes = str(component.get("DESCRIPTION", "")).strip() or None
    if (
        component.get("X-CRMCORE-TITLE") is not None
    ):  # our own export: the task's fields as they were
        title = str(component["X-CRMCORE-TITLE"])
        notes = str(component.get("X-CRMCORE-NOTES", "")).strip() or None
        kind = str(component.get("X-CRMCORE-KIND", kind))
        kind = kind if kind in KINDS else "meeting"
    return {
        "uid": uid,
        "title": title[:300],
        "notes": notes,
        "location": str(component.get("LOCATION", "")).strip() or None,
        "start": start_utc,
        "all_day": all_day,
        "tz": tz,
        "duration": duration,
        "rrule": rrule,
        "exdates": exdates,
        "kind": kind,
        "priority": _priority(component.get("PRIORITY")),
        "reminders": _reminders(component, start_utc),
        "status": str(component.get("STATUS", "")).upper(),
        "recurrence_id": component.get("RECURRENCE-ID") is not None,
        "emails": _emails(component),
        "crm_customer": str(component.get("X-CRMCORE-CUSTOMER-ID", "")).strip(),
        "sequence": int(component.get("SEQUENCE", 0) or 0),
    }


def _priority(value) -> str:
    try:
        number = int(value) if value is not None else 0
    except (TypeError, ValueError):
        return "normal"
    if number == 0:
        return "normal"
    if number <= 2:
        return "urgent"
    if number <= 4:
        return "high"
    return "normal" if number == 5 else "low"


def _reminders(component, start_utc: datetime) -> list[int]:
    minutes = set()
    for alarm in component.walk("VALARM"):
        if alarm.get("TRIGGER") is None:
            continue
        trigger = alarm.decoded("TRIGGER")
        related_end = str(alarm.get("TRIGGER").params.get("RELATED", "START")).upper() == "END"
        if isinstance(trigger, timedelta):
            if related_end or trigger > timedelta(0):
                continue  # reminders after the start are not reminders "before due"
            minutes.add(int(-trigger.total_seconds() // 60))
        elif isinstance(trigger, datetime):
            before = start_utc - _as_utc(trigger, "UTC")
            if before >= timedelta(0):
                minutes.add(int(before.total_seconds() // 60))
    return sorted(m for m in minutes if m <= 8 * 7 * 24 * 60)


def _emails(component) -> list[str]:
    found = []
    for key in ("ATTENDEE", "ORGANIZER"):
        values = component.get(key)
        for value in values if isinstance(values, list) else [values] if values is not None else []:
            text = str(value).strip()
            if text.lower().startswith("mailto:"):
                found.append(text[7:].strip().lower())
    return found


def _match_customer(uow, item: dict[str, Any]) -> Customer | None:
    if item["crm_customer"].isdigit():
        try:
            return get_customer(uow.session, int(item["crm_customer"]))
        except CRMError:  # gone or forgotten here: fall back to the attendees
            pass
    for email in item["emails"]:
        cid = uow.session.scalar(
            select(CustomerEmail.customer_id).where(CustomerEmail.email == email).limit(1)
        )
        if cid is not None:
            return get_customer(uow.session, cid)
    return None


def _current_due(uow, item: dict[str, Any]) -> datetime | None:
    """A one-off event's start; for a series the first occurrence not yet over (None when the series ended)."""
    if not item["rrule"]:
        return item["start"]
    first = recurrence.check_has_occurrence(item["rrule"], item["start"], item["tz"], field="file")
    now = uow.now()
    moment = first
    while moment is not None and overdue_moment(moment, item["all_day"], item["tz"]) <= now:
        moment = recurrence.next_occurrence(
            item["rrule"],
            item["start"],
            item["tz"],
            max(moment, now - timedelta(days=1)),
            item["exdates"],
        )
    if moment is not None and moment in item["exdates"]:
        moment = recurrence.next_occurrence(
            item["rrule"], item["start"], item["tz"], moment, item["exdates"]
        )
    return moment


def _set_series(task: Task, item: dict[str, Any], due: datetime) -> None:
    task.rrule = item["rrule"]
    task.series_start = item["start"]
    task.occurrence_at = due
    task.exdates = [e.isoformat() for e in item["exdates"]]


def _update(uow, task: Task, item: dict[str, Any], due: datetime, summary: ImportSummary) -> None:
    """Apply a re-imported event to its task (open tasks only; done or cancelled ones stay as they are)."""
    if task.state != "open":
        summary.unchanged.append(task.id)
        return
    changes = {
        "title": item["title"],
        "notes": item["notes"],
        "location": item["location"],
        "duration_minutes": item["duration"],
        "all_day": item["all_day"],
        "timezone": item["tz"],
        "rrule": item["rrule"],
    }
    changed = {k: v for k, v in changes.items() if getattr(task, k) != v}
    if task.due_at != due and (not task.rrule or task.occurrence_at != due):
        changed["due_at"] = due
    if sorted(r.minutes_before for r in task.reminders) != item["reminders"]:
        task.reminders = [
            TaskReminder(minutes_before=m) for m in sorted(item["reminders"], reverse=True)
        ]
        changed["reminders"] = item["reminders"]
    if not changed:
        summary.unchanged.append(task.id)
        return
    for key, value in changed.items():
        if key not in ("due_at", "reminders"):
            setattr(task, key, value)
    if "due_at" in changed:
        task.due_at = due
    task.overdue_at = overdue_moment(task.due_at, task.all_day, task.timezone)
    arm_reminders(task)
    if item["rrule"]:
        _set_series(task, item, task.due_at)
    else:
        task.series_start = task.occurrence_at = None
        task.exdates = []
    _touch(uow, task)
    uow.audit(
        "import-update",
        "task",
        task.id,
        {k: str(v) for k, v in changed.items()},
        customer_id=task.customer_id,
    )
    summary.updated.append(task.id)
