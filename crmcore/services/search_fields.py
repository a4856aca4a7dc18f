"""Fields usable in ``--where`` clauses and segments: the kernel's, and those plugins add."""

from __future__ import annotations

import re
from typing import Any, Callable

import attrs
from sqlalchemy import func, or_, select

from ..errors import ValidationError

OPS = ("=", "!=", ">=", "<=", ">", "<", "~")
_CLAUSE = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(!=|>=|<=|=|>|<|~)\s*(.*?)\s*$")


@attrs.frozen
class SearchField:
    """A searchable field: ``condition(op, value)`` returns a SQLAlchemy condition on customers.

    With ``with_uow=True`` the condition is called as ``condition(op, value, uow)``, for fields whose meaning
    depends on stored configuration (a tier ladder) or on the unit of work's clock (overdue tasks).
    ``choices(uow)``, when given, lists the values a person picks from
    (``[(value, label, label_fa)]``): the customer list of ``crm web`` shows the field as a
    drop-down filter.
    """

    name: str
    description: str
    condition: Callable[..., Any]
    type: str = "str"
    ops: tuple[str, ...] = OPS
    with_uow: bool = False
    choices: Callable[[Any], list[tuple[str, str, str | None]]] | None = None
    label: str | None = None
    label_fa: str | None = None


def parse_clause(text: str) -> tuple[str, str, str]:
    m = _CLAUSE.match(text or "")
    if not m:
        raise ValidationError(
            f"{text!r} is not a condition (FIELD OP VALUE, e.g. tier=gold or points>=500)",
            field="where",
        )
    return m.group(1).lower(), m.group(2), m.group(3)


def compare(column, op: str, value: Any):
    return {
        "=": column == value,
        "!=": column != value,
        ">": column > value,
        ">=": column >= value,
        "<": column < value,
        "<=": column <= value,
    }[op]


def _int(value: str, field: str) -> int:
    from ..domain.text import to_ascii_digits

    try:
        return int(to_ascii_digits(value).replace(",", ""))
    except ValueError:
        raise ValidationError(f"{value!r} is not a whole number", field=field) from None


def _tag(op: str, value: str):
    from ..domain.text import normalize
    from ..storage.models import Customer, CustomerTag

    tag = normalize(value).replace(" ", "-")
    inner = select(CustomerTag.customer_id).where(CustomerTag.tag == tag)
    if op == "=":
        return Customer.id.in_(inner)
    if op == "!=":
        return Customer.id.not_in(inner)
    raise ValidationError("tag takes = or !=", field="tag")


def _text_column(name: str):
    def condition(op: str, value: str):
        from ..storage.models import Customer

        col = getattr(Customer, name)
        if op == "~":
            return func.lower(col).contains(value.lower())
        if op in ("=", "!="):  # case does not matter (Tehran = tehran)
            return compare(func.lower(col), op, value.lower())
        raise ValidationError(f"{name} takes =, != or ~", field=name)

    return condition


def _purchases(op: str, value: str):
    from ..storage.models import Customer, Interaction

    n = _int(value, "purchases")
    count = (
        select(func.count(Interaction.id))
        .where(Interaction.customer_id == Customer.id, Interaction.kind == "purchase")
        .scalar_subquery()
    )
    return compare(count, op, n)


DATE_OPS = ("=", "!=", ">", ">=", "<", "<=")


def _last_purchase(op: str, value: str):
    from datetime import timedelta

    from ..domain.dates import parse_date, parse_datetime
    from ..storage.models import Customer, Interaction

    day = parse_date(value, field="last_purchase")
    start, next_start = parse_datetime(day), parse_datetime(day + timedelta(days=1))
    last = (
        select(func.max(Interaction.occurred_at))
        .where(Interaction.customer_id == Customer.id, Interaction.kind == "purchase")
        .scalar_subquery()
    )
    return {
        "<": last < start,
        "<=": last < next_start,
        ">": last >= next_start,
        ">=": last >= start,
        "=": (last >= start) & (last < next_start),
        "!=": (last < start) | (last >= next_start),
    }[op]


def spent_minor():
    """A customer's purchases minus refunds in the default currency's minor unit (rials), as a
    correlated subquery."""
    from sqlalchemy import case

    from ..domain.money import DEFAULT_CURRENCY
    from ..storage.models import Customer, Interaction

    signed = case(
        (Interaction.kind == "refund", -Interaction.amount_minor), else_=Interaction.amount_minor
    )
    return (
        select(func.coalesce(func.sum(signed), 0))
        .where(
            Interaction.customer_id == Customer.id,
            Interaction.kind.in_(("purchase", "refund")),
            Interaction.currency == DEFAULT_CURRENCY,
        )
        .scalar_subquery()
    )


def _spent(op: str, value: str):
    from ..domain.money import parse_money

    return compare(spent_minor(), op, parse_money(value, field="spent").minor)


def _consent(op: str, value: str):
    from ..storage.models import Customer

    columns = {"sms": Customer.consent_sms, "email": Customer.consent_email}
    column = columns.get(value.strip().lower())
    if column is None:
        raise ValidationError(f"consent is sms or email, not {value!r}", field="consent")
    return column.is_(op == "=")


def _kind(op: str, value: str):
    from ..storage.models import Customer

    return compare(Customer.kind, op, value)


def _assigned(op: str, value: str):
    """The user owning the record under the record rules (``crm customers assign``)."""
    from ..storage.models import Customer
    from ..web.models import WebUser

    users = select(WebUser.id).where(WebUser.username == value.strip().lower())
    if op == "=":
        return Customer.owner_id.in_(users)
    return or_(Customer.owner_id.is_(None), Customer.owner_id.not_in(users))


KERNEL_FIELDS = [
    SearchField("tag", "has the tag (tag=vip)", _tag),
    SearchField("city", "city, case-insensitive (city=Tehran, city~teh)", _text_column("city")),
    SearchField(
        "owner", "the responsible person as text (imported, free form)", _text_column("owner")
    ),
    SearchField(
        "assigned",
        "the user owning the customer under the record rules (assigned=reza)",
        _assigned,
        ops=("=", "!="),
    ),
    SearchField("kind", "person or organisation", _kind),
    SearchField("purchases", "number of purchases (purchases>=3)", _purchases, type="int"),
    SearchField(
        "last_purchase",
        "local date of the last purchase (last_purchase<1403-01-01)",
        _last_purchase,
        type="date",
        ops=DATE_OPS,
    ),
    SearchField(
        "spent",
        "purchases minus refunds in rials (spent>=50000000)",
        _spent,
        type="money",
        ops=DATE_OPS,
    ),
    SearchField(
        "consent",
        "agreed to promotional messages on a channel (consent=sms)",
        _consent,
        ops=("=", "!="),
    ),
]


def search_fields(uow) -> dict[str, SearchField]:
    fields: dict[str, SearchField] = {}
    for group in uow.call("crm_search_fields"):
        for f in group or ():
            fields[f.name] = f
    return fields


def where_conditions(uow, clauses: list[str]) -> list[Any]:
    fields = search_fields(uow)
    conditions = []
    for clause in clauses:
        name, op, value = parse_clause(clause)
        field = fields.get(name)
        if field is None:
            raise ValidationError(
                f"unknown search field {name!r} (known: {', '.join(sorted(fields))})", field="where"
            )
        if op not in field.ops:
            raise ValidationError(
                f"{name} does not take {op} (it takes {' '.join(field.ops)})", field="where"
            )
        conditions.append(
            field.condition(op, value, uow) if field.with_uow else field.condition(op, value)
        )
    return conditions
