"""The customer's profile panel: open tasks, the next ones, and the overdue ones (read only)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from crmcore.api import ui

from .display import format_due
from .models import Task
from .values import KIND_LABELS_FA

SHOWN = 5
L = ui.Label
PRIORITIES = {
    "low": (L("low", "کم"), "neutral"),
    "normal": (L("normal", "عادی"), "neutral"),
    "high": (L("high", "زیاد"), "warning"),
    "urgent": (L("urgent", "فوری"), "danger"),
}


def profile_section(uow, customer) -> ui.Panel | None:
    now = uow.now()
    base = select(Task).where(Task.customer_id == customer.id, Task.state == "open")
    open_count = uow.session.scalar(select(func.count()).select_from(base.subquery()))
    done_count = uow.session.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.customer_id == customer.id, Task.state == "done")
    )
    if not open_count and not done_count:
        return None
    calendar, tz = uow.app.calendar, uow.app.timezone
    overdue = list(
        uow.session.scalars(base.where(Task.overdue_at <= now).order_by(Task.due_at).limit(SHOWN))
    )
    overdue_count = uow.session.scalar(
        select(func.count()).select_from(base.where(Task.overdue_at <= now).subquery())
    )
    upcoming = list(
        uow.session.scalars(base.where(Task.overdue_at > now).order_by(Task.due_at).limit(SHOWN))
    )
    data = {
        "open": open_count,
        "overdue_count": overdue_count,
        "done": done_count,
        "overdue": [_brief(t, calendar, tz) for t in overdue],
        "upcoming": [_brief(t, calendar, tz) for t in upcoming],
    }
    items: list = [
        ui.Stat(L("Open", "باز"), open_count, kind="number"),
        ui.Stat(
            L("Overdue", "عقب‌افتاده"),
            overdue_count,
            kind="number",
            tone="danger" if overdue_count else "neutral",
        ),
        ui.Stat(L("Done", "انجام‌شده"), done_count, kind="number"),
    ]
    if overdue:
        items.append(_table(overdue, L("Overdue", "عقب‌افتاده"), overdue_count))
    items.append(
        _table(
            upcoming,
            L("Coming up", "پیش رو"),
            open_count - overdue_count,
            empty=L("Nothing planned.", "برنامه‌ای نیست."),
        )
    )
    return ui.Panel(
        key="tasks",
        title=L("Tasks and appointments", "کارها و قرارها"),
        order=60,
        items=items,
        data=data,
    )


def _due(task: Task):
    """All-day tasks are due on a day of their own zone; others at a moment."""
    if task.all_day:
        return task.due_at.astimezone(ZoneInfo(task.timezone)).date()
    return task.due_at


def _table(
    tasks: list[Task], title: ui.Label, total: int, empty: ui.Label | None = None
) -> ui.Table:
    return ui.Table(
        columns=[
            ui.Column("due", L("Due", "سررسید"), "auto"),
            ui.Column("kind", L("Kind", "نوع"), "badge"),
            ui.Column("title", L("Task", "کار")),
            ui.Column("assignee", L("Assignee", "مسئول")),
            ui.Column("priority", L("Priority", "اولویت"), "badge"),
        ],
        rows=[
            {
                "due": _due(t),
                "kind": ui.Badge(L(t.kind.replace("_", " "), KIND_LABELS_FA.get(t.kind, t.kind))),
                "title": t.title,
                "assignee": t.assignee,
                "priority": ui.Badge(*PRIORITIES.get(t.priority, (L(t.priority), "neutral"))),
            }
            for t in tasks
        ],
        title=title,
        total=total,
        empty=empty,
    )


def _brief(task: Task, calendar: str, tz: str) -> dict:
    return {
        "id": task.id,
        "kind": task.kind,
        "title": task.title,
        "due": format_due(task, calendar, tz),
        "assignee": task.assignee,
        "priority": task.priority,
    }


def timeline_entries(uow, customer, before, limit: int) -> list[ui.TimelineEntry]:
    """The customer's tasks on the 360° page's timeline (``crm_customer_timeline``): each task
    when it was added, and each occurrence when it was done; only tasks the reader may read under
    the record rules (they follow their assignee)."""
    from crmcore.api import assignee_clause

    from .models import TaskCompletion

    kind = L("task", "کار")
    added = select(Task).where(Task.customer_id == customer.id)
    done = (
        select(TaskCompletion, Task.title)
        .join(Task, Task.id == TaskCompletion.task_id)
        .where(TaskCompletion.customer_id == customer.id)
    )
    readable = assignee_clause(uow, "read", func.lower(Task.assignee))
    if readable is not None:
        added, done = added.where(readable), done.where(readable)
    if before is not None:
        added = added.where(Task.created_at < before)
        done = done.where(TaskCompletion.completed_at < before)
    out = []
    for t in uow.session.scalars(
        added.order_by(Task.created_at.desc(), Task.id.desc()).limit(limit)
    ):
        what = L(t.kind.replace("_", " "), KIND_LABELS_FA.get(t.kind, t.kind))
        out.append(
            ui.TimelineEntry(
                t.created_at,
                t.title,
                kind=kind,
                detail=L(f"{what.en} added", f"{what.fa} ثبت شد"),
                href=f"/p/tasks/tasks/{t.id}",
            )
        )
    for c, title in uow.session.execute(
        done.order_by(TaskCompletion.completed_at.desc(), TaskCompletion.id.desc()).limit(limit)
    ):
        detail = L("done late", "با تأخیر انجام شد") if c.late else L("done", "انجام شد")
        if c.note:
            detail = L(f"{detail.en}: {c.note}"[:300], f"{detail.fa}: {c.note}"[:300])
        out.append(
            ui.TimelineEntry(
                c.completed_at,
                title,
                kind=kind,
                detail=detail,
                tone="warning" if c.late else "success",
                href=f"/p/tasks/tasks/{c.task_id}",
            )
        )
    out.sort(key=lambda e: e.at, reverse=True)
    return out[:limit]
