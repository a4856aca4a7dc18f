"""Reports: ``tasks.overdue`` (open tasks past due, now), ``tasks.due`` (open tasks due in a range,
by default today) and ``tasks.completed`` (per user and period)."""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo

import attrs
from sqlalchemy import select

from crmcore.api import Customer, Report, ReportResult, ValidationError, customer_clause

from .display import format_due
from .models import Task, TaskCompletion
from .values import KINDS

UNASSIGNED = "-"


def _overdue(uow, params) -> ReportResult:
    now = uow.now()
    q = (
        select(Task, Customer.display_name)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.state == "open", Task.overdue_at <= now)
        .order_by(Task.overdue_at, Task.id)
    )
    lo, hi = params.utc_bounds()
    if lo:
        q = q.where(Task.due_at >= lo)
    if hi:
        q = q.where(Task.due_at < hi)
    q = _readable(uow, _narrowed(q, params))
    rows, per_user = [], defaultdict(int)
    for task, name in uow.session.execute(q):
        days = (now - task.overdue_at).days
        rows.append(
            [
                task.id,
                task.customer_id,
                name,
                task.assignee or UNASSIGNED,
                task.kind,
                task.title,
                format_due(task, params.calendar, params.timezone),
                days,
            ]
        )
        per_user[task.assignee or UNASSIGNED] += 1
    return ReportResult(
        columns=[
            "task",
            "customer",
            "customer_name",
            "assignee",
            "kind",
            "title",
            "due",
            "days_overdue",
        ],
        rows=rows,
        totals={"overdue": len(rows), "by_assignee": dict(sorted(per_user.items()))},
    )


def _narrowed(q, params):
    """``--option user=U`` (U's tasks) and ``--option kind=K`` (follow_up, call_back, …)."""
    user, kind = params.option("user"), params.option("kind")
    if user:
        q = q.where(Task.assignee == user)
    if kind:
        if kind not in KINDS:
            raise ValidationError(f"unknown task kind {kind!r} ({', '.join(KINDS)})", field="kind")
        q = q.where(Task.kind == kind)
    return q


def _readable(uow, q):
    """Tasks of customers the reader may read (record rules): the rows and their totals."""
    clause = customer_clause(uow, "read")
    return q if clause is None else q.where(clause)


def _due(uow, params) -> ReportResult:
    lo, hi = params.utc_bounds()
    if lo is None and hi is None:
        today = uow.now().astimezone(ZoneInfo(params.timezone)).date()
        lo, hi = attrs.evolve(params, start=today, end=today).utc_bounds()
    q = (
        select(Task, Customer.display_name)
        .join(Customer, Customer.id == Task.customer_id)
        .where(Task.state == "open")
        .order_by(Task.due_at, Task.id)
    )
    if lo is not None:
        q = q.where(Task.due_at >= lo)
    if hi is not None:
        q = q.where(Task.due_at < hi)
    rows, per_kind = [], defaultdict(int)
    for task, name in uow.session.execute(_readable(uow, _narrowed(q, params))):
        rows.append(
            [
                task.id,
                task.customer_id,
                name,
                task.assignee or UNASSIGNED,
                task.kind,
                task.title,
                format_due(task, params.calendar, params.timezone),
            ]
        )
        per_kind[task.kind] += 1
    columns = ["task", "customer", "customer_name", "assignee", "kind", "title", "due"]
    return ReportResult(
        columns=columns,
        rows=rows,
        totals={"due": len(rows), "by_kind": dict(sorted(per_kind.items()))},
    )


def _completed(uow, params) -> ReportResult:
    q = select(TaskCompletion).order_by(TaskCompletion.completed_at)
    lo, hi = params.utc_bounds()
    if lo:
        q = q.where(TaskCompletion.completed_at >= lo)
    if hi:
        q = q.where(TaskCompletion.completed_at < hi)
    user = params.option("user")
    if user:
        q = q.where(TaskCompletion.assignee == user)
    groups: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for done in uow.session.scalars(q):
        counts = groups[(params.period_key(done.completed_at), done.assignee or UNASSIGNED)]
        counts[0] += 1
        counts[1] += 1 if done.late else 0
    rows = [
        [period, user, n, n - late, late] for (period, user), (n, late) in sorted(groups.items())
    ]
    return ReportResult(
        columns=["period", "assignee", "completed", "on_time", "late"],
        rows=rows,
        totals={"completed": sum(r[2] for r in rows), "late": sum(r[4] for r in rows)},
    )


REPORTS = [
    Report(
        name="tasks.overdue",
        title="Overdue tasks",
        title_fa="کارهای عقب‌افتاده",
        description="Open tasks past due now, oldest first (--option user=U, kind=K; "
        "--from/--to filter the due date)",
        run=_overdue,
        customer_column="customer",
    ),
    Report(
        name="tasks.due",
        title="Open tasks due",
        title_fa="کارهای سررسید",
        description="Open tasks due from --from to --to (default: today), earliest first "
        "(--option user=U, kind=K)",
        run=_due,
        customer_column="customer",
    ),
    Report(
        name="tasks.completed",
        title="Completed tasks per user and period",
        title_fa="کارهای انجام‌شده",
        description="Completed occurrences per assignee and period, on time and late (--option user=U)",
        run=_completed,
    ),
]
