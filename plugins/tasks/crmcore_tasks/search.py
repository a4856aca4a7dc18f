"""Search fields for ``crm customers find --where`` and segments: ``open_tasks>0``, ``overdue_tasks>=1``."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import Customer, SearchField, ValidationError, compare, to_ascii_digits

from .models import Task

NUMERIC_OPS = ("=", "!=", ">=", "<=", ">", "<")


def _count_condition(name: str, overdue: bool):
    def condition(op: str, value: str):
        if op not in NUMERIC_OPS:
            raise ValidationError(f"{name} takes {', '.join(NUMERIC_OPS)}", field=name)
        try:
            number = int(to_ascii_digits(str(value)).strip())
        except ValueError:
            raise ValidationError(f"{value!r} is not a whole number", field=name) from None
        q = select(func.count(Task.id)).where(Task.customer_id == Customer.id, Task.state == "open")
        if overdue:
            from crmcore.api import utcnow

            q = q.where(Task.overdue_at <= utcnow())
        return compare(q.scalar_subquery(), op, number)

    return condition


FIELDS = [
    SearchField(
        name="open_tasks",
        description="number of open tasks (tasks plugin)",
        type="int",
        condition=_count_condition("open_tasks", overdue=False),
        ops=NUMERIC_OPS,
    ),
    SearchField(
        name="overdue_tasks",
        description="number of overdue open tasks (tasks plugin)",
        type="int",
        condition=_count_condition("overdue_tasks", overdue=True),
        ops=NUMERIC_OPS,
    ),
]
