"""What tasks adds to ``crm web``: the dashboard widget of today's work. Agents see their own tasks,
managers everyone's; every figure is read from the ``tasks.due`` and ``tasks.overdue`` reports
and links to them."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.api import ui

from .models import Task
from .reports import UNASSIGNED

SHOWN = 5


def dashboard_widgets(uow, user, dashboard) -> list[ui.Panel]:
    mine = {} if user.can("manage", "tasks") else {"user": user.username}
    today = dashboard.today
    due = dashboard.stat(
        ui.Label("Due today", "سررسید امروز"),
        "tasks.due",
        "totals.due",
        start=today,
        end=today,
        options=mine,
    )
    overdue = dashboard.stat(
        ui.Label("Overdue", "عقب‌افتاده"),
        "tasks.overdue",
        "totals.overdue",
        options=mine,
        tone="danger",
    )
    follow_ups = dashboard.stat(
        ui.Label("Overdue follow-ups", "پیگیری‌های عقب‌افتاده"),
        "tasks.overdue",
        "totals.overdue",
        options={**mine, "kind": "follow_up"},
        tone="warning",
    )
    result = dashboard.report("tasks.due", start=today, end=today, options=mine)
    columns = result["columns"]
    rows = [dict(zip(columns, row)) for row in result["rows"][:SHOWN]]
    nobody = ui.Label("Nobody", "بدون مسئول")
    ids = [r["task"] for r in rows]
    due_at = (
        dict(uow.session.execute(select(Task.id, Task.due_at).where(Task.id.in_(ids))).all())
        if ids
        else {}
    )
    table = ui.Table(
        columns=[
            ui.Column("due", ui.Label("Due", "سررسید"), "time"),
            ui.Column("title", ui.Label("Task", "کار"), "link"),
            ui.Column("assignee", ui.Label("Assignee", "مسئول"), "text"),
        ],
        rows=[
            {
                "due": due_at.get(r["task"]),
                "title": ui.Link(
                    f"{r['title']} · {r['customer_name']}", f"/customers/{r['customer']}"
                ),
                "assignee": r["assignee"] if r["assignee"] != UNASSIGNED else nobody,
            }
            for r in rows
        ],
        total=len(result["rows"]),
        empty=ui.Label("Nothing due today.", "امروز کاری سررسید نیست."),
        more_href=due.href,
    )
    return [
        ui.Panel(
            key="tasks",
            title=ui.Label("Today's tasks", "کارهای امروز"),
            order=5,
            items=[due, overdue, follow_ups, table],
        )
    ]
