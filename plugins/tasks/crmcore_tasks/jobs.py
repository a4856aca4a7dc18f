"""Jobs of ``crm jobs run``: announcing due reminders."""
from __future__ import annotations

from crmcore.api import Job


def _run_reminders(uow, now):
    from .reminders import announce_due_reminders

    return announce_due_reminders(uow, now)


JOBS = [Job(name="tasks.reminders",
            description="Announce due task reminders (tasks_reminder_due; messaging sends them)",
            run=_run_reminders)]
