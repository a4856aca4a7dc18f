"""Forgetting a customer: their open tasks are cancelled, and every task of theirs is re-issued to
calendar subscribers (models.py declares the erased text); kinds, dates and counts stay."""

from __future__ import annotations

from sqlalchemy import select

from .models import Task


def forget_customer_tasks(uow, customer) -> int:
    tasks = list(uow.session.scalars(select(Task).where(Task.customer_id == customer.id)))
    for task in tasks:
        if task.state == "open":
            task.state = "cancelled"
            task.closed_at = uow.now()
            task.closed_by = uow.actor
        task.updated_at = uow.now()
        task.sequence = (task.sequence or 0) + 1
    return len(tasks)
