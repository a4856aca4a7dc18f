"""How tasks are shown: JSON-ready dicts for ``--json`` and the web, and due moments in the user's calendar
(Jalali or Gregorian) and zone."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from crmcore.api import format_date, format_datetime

from . import recurrence
from .models import Task
from .service import is_overdue, ref_string
from .values import KIND_LABELS_FA


def persian_locale() -> bool:
    """True when the user's locale is Persian (``LANG=fa_IR.UTF-8`` or ``LC_ALL``/``LANGUAGE`` starting fa)."""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(var, "")
        if value:
            return value.lower().startswith("fa")
    return False


def display_calendar(app, explicit: str | None = None) -> str:
    """The calendar to show dates in: one chosen explicitly (``--calendar``, ``CRM_CALENDAR``), else Jalali
    when the user's locale is Persian, else the app's."""
    if explicit or os.environ.get("CRM_CALENDAR") or app.calendar != "gregorian":
        return app.calendar
    return "jalali" if persian_locale() else app.calendar


def format_due(task: Task, calendar: str, tz: str | None = None) -> str:
    zone = tz or task.timezone
    if task.all_day:
        return format_date(task.due_at, calendar, tz=zone)
    return format_datetime(task.due_at, calendar, tz=zone)


def kind_label(kind: str, persian: bool) -> str:
    return KIND_LABELS_FA.get(kind, kind) if persian else kind.replace("_", " ")


def task_to_dict(
    task: Task,
    *,
    calendar: str = "gregorian",
    tz: str | None = None,
    now: datetime | None = None,
    customer_name: str | None = None,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": task.id,
        "uid": task.uid,
        "customer_id": task.customer_id,
        "kind": task.kind,
        "title": task.title,
        "notes": task.notes,
        "location": task.location,
        "assignee": task.assignee,
        "priority": task.priority,
        "state": task.state,
        "all_day": task.all_day,
        "due_at": task.due_at.isoformat(),
        "due": format_due(task, calendar, tz),
        "timezone": task.timezone,
        "duration_minutes": task.duration_minutes,
        "rrule": task.rrule,
        "recurrence": recurrence.describe(task.rrule) if task.rrule else None,
        "series_start": task.series_start.isoformat() if task.series_start else None,
        "reminders_minutes_before": [r.minutes_before for r in task.reminders],
        "reference": ref_string(task),
        "source": task.source,
        "dedup_key": task.dedup_key,
        "created_at": task.created_at.isoformat(),
        "closed_at": task.closed_at.isoformat() if task.closed_at else None,
    }
    if customer_name is not None:
        data["customer_name"] = customer_name
    if now is not None:
        data["overdue"] = is_overdue(task, now)
    return data
