"""A new customer whose phone or email is already stored is, almost always, the stored customer
again.

:func:`contact_matches` finds the stored customers sharing a phone or an email (the lead form and
the API's create use it); :func:`add_or_merge` is the API's create: it refuses such a duplicate with
:class:`Conflict` naming the stored customer, unless asked to merge into them (the rules of ``crm
customers import --on-duplicate merge``: empty fields filled, phones, emails and tags added, nothing
overwritten) or to create a second customer anyway."""

from __future__ import annotations

from typing import Any

import attrs
from sqlalchemy import select

from ..errors import Conflict, ValidationError
from ..storage.models import CustomerEmail, CustomerPhone
from .customers import (
    PreparedCustomer,
    add_customer,
    get_customer,
    prepare_customer,
    update_customer,
)

ON_DUPLICATE = ("refuse", "merge", "create")


@attrs.frozen
class ContactMatch:
    customer_id: int
    by: str  # phone | email
    value: str


def contact_matches(session, phones, emails) -> list[ContactMatch]:
    """Stored customers with one of these phones (E.164) or emails: phone matches first, each
    customer once."""
    found: list[ContactMatch] = []
    seen: set[int] = set()
    queries = [
        ("phone", CustomerPhone.customer_id, CustomerPhone.e164, list(phones)),
        ("email", CustomerEmail.customer_id, CustomerEmail.email, list(emails)),
    ]
    for by, owner, column, values in queries:
        if not values:
            continue
        rows = session.execute(select(owner, column).where(column.in_(values)).order_by(owner))
        for cid, value in rows:
            if cid not in seen:
                seen.add(cid)
                found.append(ContactMatch(cid, by, value))
    return found


def add_or_merge(
    uow,
    fields: dict[str, Any],
    *,
    on_duplicate: str = "refuse",
    given: frozenset[str] = frozenset(),
):
    """Add a customer from ``fields`` (see :func:`prepare_customer`), minding customers sharing a
    phone or email. ``given``: the fields the caller actually sent (a merge changes only those).
    Returns ``(customer, created)``."""
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationError(
            f"{on_duplicate!r} is not one of {', '.join(ON_DUPLICATE)}", field="on_duplicate"
        )
    prepared = prepare_customer(**fields)
    matches = (
        []
        if on_duplicate == "create"
        else contact_matches(uow.session, [p.e164 for p in prepared.phones], prepared.emails)
    )
    if not matches:
        return add_customer(uow, prepared), True
    first = matches[0]
    stored = get_customer(uow.session, first.customer_id)
    if on_duplicate == "refuse":
        raise Conflict(
            f"customer {stored.id} ({stored.display_name}) already has the {first.by} "
            f"{first.value}; send on_duplicate=merge to add to them or "
            "on_duplicate=create for a second customer",
            field=f"{first.by}s",
        )
    if len(matches) > 1:
        others = ", ".join(str(m.customer_id) for m in matches)
        raise Conflict(
            f"the phones and emails belong to different customers ({others}); merge "
            "them first (crm customers merge) or send on_duplicate=create",
            field="phones",
        )
    return _merge(uow, stored, prepared, given), False


def _merge(uow, stored, prepared: PreparedCustomer, given: frozenset[str]):
    from ..importing.customer_rows import RowData
    from ..importing.customers import FILLABLE, customer_state, merge_changes

    change = merge_changes(customer_state(stored), RowData(prepared, frozenset(given)), "merge")
    if isinstance(change, str):
        raise Conflict(change.format(who=f"customer {stored.id}"), field="external_id")
    fields, _notes = change
    if not fields:
        return stored
    columns = {
        k: fields[k] for k in (*FILLABLE, "kind", "consent_sms", "consent_email") if k in fields
    }
    return update_customer(
        uow,
        stored.id,
        add_phones=fields.get("phones", ()),
        add_emails=fields.get("emails", ()),
        add_tags=fields.get("tags", ()),
        attributes=fields.get("attributes") or None,
        **columns,
    )
