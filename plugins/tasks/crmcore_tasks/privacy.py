"""Forgetting a customer: erase what tasks hold about them in free text; keep kinds, dates and counts."""
from __future__ import annotations

from sqlalchemy import select

from .models import Task, TaskCompletion
from .values import KIND_LABELS_FA


def forget_customer_tasks(uow, customer) -> int:
    tasks = list(uow.session.scalars(select(Task).where(Task.customer_id == customer.id)))
    for task in tasks:
        task.title = KIND_LABELS_FA.get(task.kind, task.kind)
        task.notes = None
        task.location = None
        task.dedup_key = None
        task.open_dedup_key = None
        if task.state == "open":
            task.state = "cancelled"
            task.closed_at = uow.now()
            task.closed_by = uow.actor
        task.updated_at = uow.now()
        task.sequence = (task.sequence or 0) + 1
    for done in uow.session.scalars(select(TaskCompletion).where(TaskCompletion.customer_id == customer.id)):
        done.note = None
    return len(tasks)
