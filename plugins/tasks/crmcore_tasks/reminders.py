"""Announcing due reminders: each reminder of an open task once per due moment, to its assignee (a
staff notification: their web list, pop, own email and mobile — never the customer), through the
``tasks_reminder_due`` hook and the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from crmcore.api import Customer, Formatter, notify_user

from .models import Task, TaskReminder, TaskUser
from .service import task_event_data


def due_reminders(uow, now: datetime) -> list[tuple[Task, TaskReminder]]:
    """Open tasks' reminders whose moment (due − minutes_before) has come, not yet announced for the current
    due moment, and whose task is not overdue yet (a reminder after the fact helps nobody)."""
    q = (
        select(Task, TaskReminder)
        .join(TaskReminder, TaskReminder.task_id == Task.id)
        .where(
            TaskReminder.remind_at <= now,
            Task.state == "open",
            Task.overdue_at > now,
            or_(TaskReminder.announced_for.is_(None), TaskReminder.announced_for != Task.due_at),
        )
        .order_by(Task.due_at, Task.id, TaskReminder.minutes_before.desc())
    )
    return [(task, reminder) for task, reminder in uow.session.execute(q)]


def announce_due_reminders(uow, now: datetime) -> dict[str, int]:
    """Announce every due reminder; when several reminders of one task are due at once (the job did not run
    for a while) only the closest one is announced and the others are marked done with it."""
    announced = skipped = notified = 0
    seen: set[int] = set()
    pending = due_reminders(uow, now)
    latest: dict[int, TaskReminder] = {}
    for task, reminder in pending:
        latest[task.id] = (
            reminder  # ordered by minutes_before descending: the last is the closest to due
        )
    for task, reminder in pending:
        reminder.announced_for = task.due_at
        reminder.announced_at = now
        if latest[task.id] is not reminder:
            skipped += 1
            continue
        seen.add(task.id)
        uow.emit(
            "tasks_reminder_due",
            customer_id=task.customer_id,
            data={**task_event_data(task), "minutes_before": reminder.minutes_before},
            task=task,
            reminder=reminder,
        )
        notified += remind_assignee(uow, task, reminder)
        announced += 1
    return {"announced": announced, "superseded": skipped, "tasks": len(seen), "notified": notified}


def remind_assignee(uow, task: Task, reminder: TaskReminder) -> int:
    """Tell the task's assignee (a staff notification; 0 when the task has nobody with a login)."""
    if not task.assignee:
        return 0
    fmt = Formatter.for_language("fa", tz=task.timezone)
    customer = uow.session.get(Customer, task.customer_id)
    when = fmt.date(task.due_at) if task.all_day else fmt.moment(task.due_at)
    who = customer.display_name if customer is not None else ""
    title = f"یادآوری: {task.title}، {who}، {when}"
    key = f"task:{task.id}:r{reminder.minutes_before}@{task.due_at.isoformat()}"
    sent = notify_user(
        uow,
        task.assignee,
        title,
        task.notes,
        link=f"/p/tasks/tasks/{task.id}",
        kind="reminder",
        key=key,
    )
    if sent is not None:
        return 1
    # a tasks user without a login: their own address on the tasks user, if any
    user = uow.session.get(TaskUser, task.assignee)
    if user is None or not user.email:
        return 0
    outcome = uow.call(
        "crm_staff_message",
        channel="email",
        address=user.email,
        subject=title,
        body=task.notes,
        key=f"{key}:email",
    )
    return 1 if outcome else 0
