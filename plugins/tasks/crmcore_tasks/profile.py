"""The customer's profile section: open tasks, the next one, and the overdue ones (read only)."""
from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import ProfileSection

from .display import format_due
from .models import Task

SHOWN = 5


def profile_section(uow, customer) -> ProfileSection | None:
    now = uow.now()
    base = select(Task).where(Task.customer_id == customer.id, Task.state == "open")
    open_count = uow.session.scalar(select(func.count()).select_from(base.subquery()))
    done_count = uow.session.scalar(
        select(func.count()).select_from(Task).where(Task.customer_id == customer.id, Task.state == "done"))
    if not open_count and not done_count:
        return None
    calendar, tz = uow.app.calendar, uow.app.timezone
    overdue = list(uow.session.scalars(base.where(Task.overdue_at <= now).order_by(Task.due_at).limit(SHOWN)))
    overdue_count = uow.session.scalar(
        select(func.count()).select_from(base.where(Task.overdue_at <= now).subquery()))
    upcoming = list(uow.session.scalars(base.where(Task.overdue_at > now).order_by(Task.due_at).limit(SHOWN)))
    return ProfileSection(
        key="tasks", title="Tasks and appointments", title_fa="کارها و قرارها", order=60,
        data={"open": open_count, "overdue_count": overdue_count, "done": done_count,
              "overdue": [_brief(t, calendar, tz) for t in overdue],
              "upcoming": [_brief(t, calendar, tz) for t in upcoming]})


def _brief(task: Task, calendar: str, tz: str) -> dict:
    return {"id": task.id, "kind": task.kind, "title": task.title, "due": format_due(task, calendar, tz),
            "assignee": task.assignee, "priority": task.priority}
