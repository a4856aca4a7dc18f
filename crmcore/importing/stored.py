"""The stored customers an import merges rows into, read and changed with Core statements.

Merging goes through :func:`crmcore.services.customer_changes.plan_update`, the rules of
:func:`crmcore.services.customers.update_customer`, and records the same ``changes`` in the same audit entry
and ``crm_customer_updated`` event at the moment of each merge. What differs is the writing:
``update_customer`` loads an ORM customer with its phones, emails and tags and flushes its changes, which cost
an import a sixth of its time for the one row in twenty that repeats a stored person. Here a batch's
customers are read with one query per table (:func:`load_stored_customers`) and their changes written once
per batch (:meth:`StoredCustomerUpdates.write`).

Plugins check each change with ``crm_validate_customers`` (one
:class:`~crmcore.batches.CustomerChange` before it is made) and hear of the batch's changes with
``crm_customers_updated`` once they are written. The importer takes this path unless a plugin
implements only the per-row ``crm_customer_updated`` or ``crm_validate_customer``, which receive the
ORM customer.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Iterable

import attrs
from sqlalchemy import select
from sqlalchemy.orm.util import identity_key

from ..batches import Batch, CustomerChange, batch_refusals
from ..domain.text import search_tokens
from ..errors import ValidationError
from ..services.customer_changes import plan_update
from ..storage.bulk import insert_values, update_rows
from ..storage.models import (
    AuditEntry,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
)
from ..storage.tokens import add_tokens, remove_tokens

#: the columns an import may change, written for every changed customer (one statement shape)
COLUMNS = (
    "display_name",
    "search_key",
    "kind",
    "external_id",
    "birthday",
    "city",
    "address",
    "owner",
    "consent_sms",
    "consent_email",
    "attributes",
    "updated_at",
)


@attrs.define(eq=False)
class StoredCustomer:
    """A stored, active customer as an import sees it: its columns, and its phones, emails and tags in
    position order (tags by name, as the model orders them). Merges change it in place."""

    id: int
    display_name: str
    search_key: str
    kind: str
    external_id: str | None
    birthday: date | None
    city: str | None
    address: str | None
    owner: str | None
    consent_sms: bool
    consent_email: bool
    attributes: dict[str, Any]
    updated_at: datetime
    phones: list[str] = attrs.field(factory=list)
    emails: list[str] = attrs.field(factory=list)
    tags: list[str] = attrs.field(factory=list)


#: what a stored customer holds besides its columns: (attribute, table, value, sort keys after the customer id)
CHILDREN = (
    ("phones", CustomerPhone, CustomerPhone.e164, (CustomerPhone.position, CustomerPhone.id)),
    ("emails", CustomerEmail, CustomerEmail.email, (CustomerEmail.position, CustomerEmail.id)),
    ("tags", CustomerTag, CustomerTag.tag, (CustomerTag.tag,)),
)


def stored_customers_select():
    """The customers' columns a :class:`StoredCustomer` is built from (the caller adds the ``WHERE``)."""
    c = Customer.__table__.c
    return select(c.id, *(c[name] for name in COLUMNS))


def build_stored_customers(
    rows: Iterable, children: dict[str, Iterable]
) -> dict[int, StoredCustomer]:
    """:class:`StoredCustomer` values from the customers' rows and, for each of :data:`CHILDREN`, rows of
    ``(customer id, value)`` in the order to keep."""
    found = {row[0]: StoredCustomer(*row) for row in rows}
    for what, values in children.items():
        for cid, value in values:
            getattr(found[cid], what).append(value)
    return found


def load_stored_customers(session, ids: Iterable[int]) -> dict[int, StoredCustomer]:
    """The customers with these ids, read with one query for the customers and one per phones, emails
    and tags."""
    ids = list(ids)
    return build_stored_customers(
        session.execute(stored_customers_select().where(Customer.id.in_(ids))),
        {
            what: session.execute(
                select(model.customer_id, value)
                .where(model.customer_id.in_(ids))
                .order_by(model.customer_id, *order)
            )
            for what, model, value, order in CHILDREN
        },
    )


class StoredCustomerUpdates:
    """:func:`crmcore.services.customers.update_customer` for an import's stored customers: each
    :meth:`update` changes the :class:`StoredCustomer`, records the audit entry and emits the event at
    once (later rows of the batch see the change); :meth:`write` writes the batch's rows."""

    def __init__(
        self, uow, *, reserve: Callable[..., list[int]] | None = None, batch: Batch = Batch()
    ):
        self.uow = uow
        self.batch = batch
        #: plugins check each change (the batch form: no ORM customer); the per-row form takes the
        #: ORM path
        self.validating = uow.listened("crm_validate_customers")
        #: ids for the new phones and emails (an import's IdCounter); ``None``: the database numbers them
        self.reserve = reserve
        self._reset()

    def _reset(self) -> None:
        self._changed: dict[int, StoredCustomer] = {}
        self._renamed: set[int] = set()
        self._phones: list[tuple[int, str, str, int]] = []
        self._emails: list[tuple[int, str, int]] = []
        self._tags: list[tuple[int, str]] = []
        self._audit: list[tuple] = []
        self._codes: dict[str, int] = {}  # customer codes given this batch, not written yet
        self._announced: list[CustomerChange] = []  # for crm_customers_updated after the write

    def update(self, customer: StoredCustomer, **arguments: Any) -> dict[str, list[Any]]:
        """Change ``customer`` as ``update_customer(uow, customer.id, **arguments)`` would; returns the
        ``changes`` (empty: nothing changed)."""
        plan = plan_update(
            self.uow,
            customer,
            customer.phones,
            customer.emails,
            customer.tags,
            external_id_owner=self._code_owner,
            **arguments,
        )
        if (
            plan.phones_removed or plan.emails_removed or plan.tags_removed
        ):  # pragma: no cover - not an import's
            raise NotImplementedError("an import never removes phones, emails or tags")
        if self.validating and plan.changes:
            after = plan.columns.get("attributes", customer.attributes)
            proposed = CustomerChange(
                customer.id,
                plan.changes,
                (*customer.phones, *(p.e164 for p, _i in plan.phones_added)),
                (*customer.emails, *(e for e, _i in plan.emails_added)),
                dict(after or {}),
            )
            refused = batch_refusals(self.uow, [proposed], self.batch, list)
            if refused:
                raise ValidationError("; ".join(refused[0]))
        for column, value in plan.columns.items():
            setattr(customer, column, value)
        if "external_id" in plan.columns and customer.external_id:
            self._codes[customer.external_id] = customer.id
        for ph, position in plan.phones_added:
            customer.phones.append(ph.e164)
            self._phones.append((customer.id, ph.e164, ph.kind, position))
        for email, position in plan.emails_added:
            customer.emails.append(email)
            self._emails.append((customer.id, email, position))
        for tag in plan.tags_added:
            customer.tags.append(tag)
            self._tags.append((customer.id, tag))
        changes = plan.changes
        if (
            plan.columns or changes
        ):  # a name whose normalised form alone differs changes only search_key
            self._changed[customer.id] = customer
        if not changes:
            return changes
        uow = self.uow
        customer.updated_at = now = uow.now()
        if "display_name" in changes:
            self._renamed.add(customer.id)
        self._audit.append(
            (now, uow.actor, "update", "customer", str(customer.id), customer.id, changes)
        )
        uow.record_events(
            "crm_customer_updated",
            [(customer.id, {"customer_id": customer.id, "changes": changes})],
        )
        self._announced.append(
            CustomerChange(
                customer.id,
                changes,
                tuple(customer.phones),
                tuple(customer.emails),
                dict(customer.attributes or {}),
            )
        )
        return changes

    def _code_owner(self, code: str, customer_id: int) -> int | None:
        owner = self._codes.get(code)
        if owner is not None and owner != customer_id:
            return owner
        return self.uow.session.scalar(
            select(Customer.id).where(Customer.external_id == code, Customer.id != customer_id)
        )

    def write(self) -> None:
        """Write the rows of the updates since the last write: the customers' new values, their new phones,
        emails and tags, the renamed ones' name search tokens, and the audit entries, in that order."""
        if not self._changed and not self._audit:
            return
        session = self.uow.session
        update_rows(
            session,
            Customer.__table__,
            "id",
            [
                {"id": cid, **{name: getattr(customer, name) for name in COLUMNS}}
                for cid, customer in self._changed.items()
            ],
        )
        phones, emails = self._phones, self._emails
        if self.reserve is None:
            insert_values(
                session,
                CustomerPhone.__table__,
                ("customer_id", "e164", "kind", "position"),
                phones,
            )
            insert_values(
                session, CustomerEmail.__table__, ("customer_id", "email", "position"), emails
            )
        else:
            insert_values(
                session,
                CustomerPhone.__table__,
                ("id", "customer_id", "e164", "kind", "position"),
                [
                    (i, *row)
                    for i, row in zip(
                        self.reserve(session, CustomerPhone.__table__, len(phones)), phones
                    )
                ],
            )
            insert_values(
                session,
                CustomerEmail.__table__,
                ("id", "customer_id", "email", "position"),
                [
                    (i, *row)
                    for i, row in zip(
                        self.reserve(session, CustomerEmail.__table__, len(emails)), emails
                    )
                ],
            )
        insert_values(session, CustomerTag.__table__, ("customer_id", "tag"), self._tags)
        if self._renamed:
            renamed = sorted(self._renamed)
            remove_tokens(session, renamed)
            add_tokens(
                session,
                [
                    (cid, token)
                    for cid in renamed
                    for token in search_tokens(self._changed[cid].display_name)
                ],
            )
        insert_values(
            session,
            AuditEntry.__table__,
            ("at", "actor", "action", "entity", "entity_id", "customer_id", "changes"),
            self._audit,
        )
        for cid in (
            self._changed
        ):  # an ORM copy a plugin loaded earlier in this unit of work is out of date
            loaded = session.identity_map.get(identity_key(Customer, cid))
            if loaded is not None:
                session.expire(loaded)
        announced = self._announced
        self._reset()
        if announced and self.uow.listened("crm_customers_updated"):
            self.uow.call("crm_customers_updated", customers=announced, batch=self.batch)
