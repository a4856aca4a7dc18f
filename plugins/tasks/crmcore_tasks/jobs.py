"""Jobs of ``crm jobs run``: announcing due reminders, keeping CalDAV calendars in step."""

from __future__ import annotations

from crmcore.api import Job


def _run_reminders(uow, now):
    from .reminders import announce_due_reminders

    return announce_due_reminders(uow, now)


def _run_calendar_sync(uow, now):
    """Every connected calendar in step; a failing server is noted in ``calendar status``."""
    from .calendar_sync import sync_all_in

    return sync_all_in(uow)


JOBS = [
    Job(
        name="tasks.reminders",
        description="Announce due task reminders (tasks_reminder_due; messaging sends them)",
        run=_run_reminders,
    ),
    Job(
        name="tasks.calendar_sync",
        description="Two-way sync of every connected CalDAV calendar with its user's tasks",
        run=_run_calendar_sync,
    ),
]
