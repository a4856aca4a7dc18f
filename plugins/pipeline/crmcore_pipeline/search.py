"""Search fields: ``open_deals>0`` finds customers with deals in progress."""

from __future__ import annotations

from crmcore.api import SearchField, ValidationError, compare, to_ascii_digits


def _open_deals(op: str, value: str):
    from sqlalchemy import func, select

    from crmcore.api import Customer

    from .models import Deal

    try:
        n = int(to_ascii_digits(value).strip())
    except ValueError:
        raise ValidationError(f"{value!r} is not a whole number", field="open_deals") from None
    count = (
        select(func.count(Deal.id))
        .where(Deal.customer_id == Customer.id, Deal.status == "open")
        .scalar_subquery()
    )
    return compare(count, op, n)


SEARCH_FIELDS = [
    SearchField(
        "open_deals",
        "number of open deals in the sales pipeline (open_deals>0)",
        _open_deals,
        type="int",
        ops=("=", "!=", ">=", "<=", ">", "<"),
    ),
]
