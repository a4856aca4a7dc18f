"""Batched writes that store exactly what the kernel's one-at-a-time services store.

``add_customers`` = :func:`crmcore.services.customers.add_customer` for many customers: the same rows
(customer, phones, emails, tags, name search tokens, a ``create`` audit entry) and the same outbox
event (``crm_customer_created`` with the same payload), written with Core multi-row inserts.
``record_interactions`` = :func:`crmcore.services.interactions.record_interaction` for many interactions:
the same row and ``crm_interaction_recorded`` outbox event, in the order given.

Plugins hear of a batch once, through the batch hooks (``crm_validate_customers`` before anything is
written, ``crm_customers_created`` / ``crm_interactions_recorded`` after), with light records
(:mod:`crmcore.batches`); a plugin with only the per-row hook still gets it for every row, in order.
The driver-level inserts are :mod:`crmcore.storage.bulk`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from sqlalchemy import select

from ..batches import Batch, NewCustomer, RecordedInteraction, announce, batch_refusals
from ..domain.text import normalize, search_tokens
from ..services.customers import PreparedCustomer
from ..services.interactions import PreparedInteraction, interaction_to_dict
from ..storage.bulk import insert_values, insert_with_ids, reserve_ids
from ..storage.models import (
    AuditEntry,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    Interaction,
)
from ..storage.tokens import add_tokens


def hooks_implemented(uow, *names: str) -> bool:
    """True when any enabled plugin (or the kernel) implements one of these hooks."""
    hook = uow.plugins.hook
    return any(getattr(hook, n).get_hookimpls() for n in names if hasattr(hook, n))


def new_customer_refusals(
    uow, prepared: Sequence[PreparedCustomer], batch: Batch
) -> dict[int, list[str]]:
    """What the plugins say about new customers: index → messages (absent: accepted). The batch form
    ``crm_validate_customers`` gets :class:`~crmcore.batches.NewCustomer` records; a plugin with
    only ``crm_validate_customer`` is asked exactly as ``add_customer`` asks (a transient
    :class:`Customer` with its phones, emails and tags, all fields as changes)."""
    return batch_refusals(
        uow,
        [new_customer(None, p) for p in prepared],
        batch,
        lambda: [_transient(p) for p in prepared],
    )


def _transient(p: PreparedCustomer) -> dict[str, Any]:
    from ..services.customers import customer_to_dict

    customer = Customer(
        kind=p.kind,
        display_name=p.name,
        search_key=normalize(p.name)[:300],
        external_id=p.external_id,
        birthday=p.birthday,
        city=p.city,
        address=p.address,
        owner=p.owner,
        consent_sms=p.consent_sms,
        consent_email=p.consent_email,
        attributes=dict(p.attributes),
    )
    customer.phones = [
        CustomerPhone(e164=ph.e164, kind=ph.kind, position=i) for i, ph in enumerate(p.phones)
    ]
    customer.emails = [CustomerEmail(email=e, position=i) for i, e in enumerate(p.emails)]
    customer.tags = [CustomerTag(tag=t) for t in p.tags]
    return {"customer": customer, "changes": customer_to_dict(customer, with_sections=False)}


def new_customer(cid: int | None, p: PreparedCustomer) -> NewCustomer:
    return NewCustomer(
        cid,
        p.name,
        p.kind,
        p.external_id,
        p.birthday,
        p.city,
        p.address,
        p.owner,
        p.consent_sms,
        p.consent_email,
        p.attributes,
        tuple(ph.e164 for ph in p.phones),
        tuple(p.emails),
        tuple(p.tags),
    )


CUSTOMER_COLUMNS = (
    "id",
    "kind",
    "display_name",
    "search_key",
    "external_id",
    "birthday",
    "city",
    "address",
    "owner",
    "consent_sms",
    "consent_email",
    "attributes",
    "created_at",
    "updated_at",
)


def add_customers(
    uow,
    prepared: Sequence[PreparedCustomer],
    *,
    reserve: Callable = reserve_ids,
    batch: Batch = Batch(),
) -> list[int]:
    """Store new customers (already checked: unique external ids, clean attributes, plugins' validation);
    returns their ids. After the batch is written, plugins get ``crm_customers_created`` once with
    :class:`~crmcore.batches.NewCustomer` records; a plugin with only ``crm_customer_created`` gets
    each stored customer, loaded with its phones, emails and tags
    (:func:`crmcore.batches.announce`). ``reserve``: how ids are reserved
    (:func:`~crmcore.storage.bulk.reserve_ids`, or an import's
    :class:`~crmcore.storage.bulk.IdCounter`)."""
    if not prepared:
        return []
    session = uow.session
    session.flush()
    now = uow.now()
    ids = reserve(session, Customer.__table__, len(prepared))
    phone_ids = reserve(session, CustomerPhone.__table__, sum(len(p.phones) for p in prepared))
    email_ids = reserve(session, CustomerEmail.__table__, sum(len(p.emails) for p in prepared))
    insert_values(
        session,
        Customer.__table__,
        CUSTOMER_COLUMNS,
        [
            (
                cid,
                p.kind,
                p.name,
                normalize(p.name)[:300],
                p.external_id,
                p.birthday,
                p.city,
                p.address,
                p.owner,
                p.consent_sms,
                p.consent_email,
                dict(p.attributes),
                now,
                now,
            )
            for cid, p in zip(ids, prepared)
        ],
        index_order="search_key",
    )
    phones: list[tuple] = []
    emails: list[tuple] = []
    tags: list[tuple] = []
    tokens: list[tuple] = []
    audit: list[tuple] = []
    actor = uow.actor
    next_phone, next_email = iter(phone_ids).__next__, iter(email_ids).__next__
    add_phone, add_email, add_tag, add_token = (
        phones.append,
        emails.append,
        tags.append,
        tokens.append,
    )
    for cid, p in zip(
        ids, prepared
    ):  # plain loops: a comprehension per customer costs twice as much
        for i, ph in enumerate(p.phones):
            add_phone((next_phone(), cid, ph.e164, ph.kind, i))
        for i, e in enumerate(p.emails):
            add_email((next_email(), cid, e, i))
        for t in p.tags:
            add_tag((cid, t))
        for t in search_tokens(p.name):
            add_token((cid, t))
        audit.append((now, actor, "create", "customer", str(cid), cid, {"name": p.name}))
    # sent in the order of their most scattered index (ids still in the order of the customers)
    insert_values(
        session,
        CustomerPhone.__table__,
        ("id", "customer_id", "e164", "kind", "position"),
        phones,
        index_order="e164",
    )
    insert_values(
        session,
        CustomerEmail.__table__,
        ("id", "customer_id", "email", "position"),
        emails,
        index_order="email",
    )
    insert_values(session, CustomerTag.__table__, ("customer_id", "tag"), tags, index_order="tag")
    add_tokens(session, tokens)
    insert_values(
        session,
        AuditEntry.__table__,
        ("at", "actor", "action", "entity", "entity_id", "customer_id", "changes"),
        audit,
    )

    def orm_customers() -> list[dict[str, Any]]:  # plugins with only crm_customer_created (slow)
        from sqlalchemy.orm import selectinload

        loaded = {
            c.id: c
            for c in session.scalars(
                select(Customer)
                .where(Customer.id.in_(ids))
                .options(
                    selectinload(Customer.phones),
                    selectinload(Customer.emails),
                    selectinload(Customer.tags),
                )
            )
        }
        return [{"customer": loaded[cid]} for cid in ids]

    announce(
        uow,
        "crm_customer_created",
        [(cid, {"customer_id": cid, "name": p.name}) for cid, p in zip(ids, prepared)],
        batch,
        lambda: [new_customer(cid, p) for cid, p in zip(ids, prepared)],
        orm_customers,
    )
    return ids


def interaction_row(uow, customer_id: int, p: PreparedInteraction, now) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "kind": p.kind,
        "channel": p.channel,
        "direction": p.direction,
        "occurred_at": p.occurred_at,
        "amount_minor": p.money.minor if p.money else None,
        "currency": p.money.currency if p.money else None,
        "external_id": p.external_id,
        "related_id": p.related_id,
        "payload": p.payload,
        "recorded_at": now,
        "recorded_by": uow.actor,
    }


def record_interactions(
    uow,
    items: Iterable[tuple[int, PreparedInteraction]],
    customers: Callable[[set[int]], dict[int, Customer]] | None = None,
    *,
    batch: Batch = Batch(),
) -> int:
    """Store ``(customer_id, prepared)`` pairs in the given order with one multi-row insert, then
    announce them (:func:`crmcore.batches.announce`): one outbox row each; for a plugin with only
    ``crm_interaction_recorded``, that hook per row in order, with the interaction and its customer
    (``customers(ids)`` loads them, only then); ``crm_interactions_recorded`` once with
    :class:`~crmcore.batches.RecordedInteraction` records. Returns the count.
    """
    now = uow.now()
    rows = [interaction_row(uow, cid, p, now) for cid, p in items]
    if not rows:
        return 0
    ids = insert_with_ids(uow.session, Interaction.__table__, rows)
    # the same light record for both kinds of plugin (and for the outbox payload)
    stored = [
        RecordedInteraction(
            iid,
            r["customer_id"],
            r["kind"],
            r["occurred_at"],
            r["channel"],
            r["direction"],
            r["amount_minor"],
            r["currency"],
            r["external_id"],
            r["related_id"],
            r["payload"] or {},
            r["recorded_at"],
            r["recorded_by"],
        )
        for iid, r in zip(ids, rows)
    ]

    def per_row() -> list[dict[str, Any]]:
        held = customers({s.customer_id for s in stored}) if customers else {}
        return [{"interaction": s, "customer": held.get(s.customer_id)} for s in stored]

    announce(
        uow,
        "crm_interaction_recorded",
        [(s.customer_id, interaction_to_dict(s)) for s in stored],
        batch,
        lambda: stored,
        per_row,
    )
    return len(rows)
