"""Erasing a person from the kernel's own records: their merged-away duplicates, the audit log, the
outbox.

:func:`crmcore.services.customers.forget_customer` uses these; they are separate so that any erasure
of a customer (and the declared erasure of plugin tables,
:mod:`crmcore.storage.customer_data`) scrubs the kernel's records the same
way. Row versions the database keeps after an update are a storage matter: SQLite connections run
with ``secure_delete`` (:mod:`crmcore.storage.engine`) and
:func:`crmcore.storage.engine.release_erased_pages` empties the ``-wal`` file; PostgreSQL needs
``VACUUM`` (docs/operations.md).
"""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import and_, delete, or_, select, update

from ..outbox.models import ProcessedEvent
from ..storage.models import (
    AuditEntry,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    Interaction,
    OutboxEvent,
)
from ..storage.tokens import remove_tokens

ERASED = {"erased": True}


def plugin_packages(app) -> list[str]:
    """The top-level packages of the enabled plugins (whose models declare their customer data)."""
    host = app.plugins
    return [host.manifests[name].package for name in host.enabled]


def merged_away_ids(session, customer_id: int) -> list[int]:
    """Every customer merged into ``customer_id``, directly or through a chain of merges."""
    found: list[int] = []
    frontier = [customer_id]
    while frontier:
        frontier = list(
            session.scalars(select(Customer.id).where(Customer.merged_into_id.in_(frontier)))
        )
        found.extend(frontier)
    return found


def scrub_merged_away(session, ids: Iterable[int]) -> None:
    """Blank every personal field of merged-away customer rows (they stay as tombstones for the
    ids)."""
    ids = list(ids)
    if not ids:
        return
    remove_tokens(session, ids)  # keeps the words' counts (crmcore.storage.tokens) right
    for model in (CustomerPhone, CustomerEmail, CustomerTag):
        session.execute(delete(model).where(model.customer_id.in_(ids)))
    for tomb in session.scalars(select(Customer).where(Customer.id.in_(ids))):
        tomb.display_name = f"forgotten customer #{tomb.id}"
        tomb.search_key = ""
        tomb.external_id = tomb.birthday = tomb.city = tomb.address = tomb.owner = None
        tomb.consent_sms = tomb.consent_email = False
        tomb.attributes = {}


def scrub_kernel_records(session, customer_ids: Iterable[int]) -> None:
    """Replace what the kernel's records say about these customers with ``{"erased": true}``:
    interaction payloads, audit entries (by customer, or about the customer record itself), outbox
    payloads and the error texts of their processed events. Kinds, amounts, moments and ids stay
    (aggregates, order)."""
    ids = list(customer_ids)
    if not ids:
        return
    session.execute(update(Interaction).where(Interaction.customer_id.in_(ids)).values(payload={}))
    about_them = or_(
        AuditEntry.customer_id.in_(ids),
        and_(AuditEntry.entity == "customer", AuditEntry.entity_id.in_([str(i) for i in ids])),
    )
    session.execute(
        update(AuditEntry)
        .where(about_them)
        .values(changes=ERASED)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.customer_id.in_(ids))
        .values(payload=ERASED)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ProcessedEvent)
        .where(ProcessedEvent.customer_id.in_(ids), ProcessedEvent.error.is_not(None))
        .values(error="(erased)")
        .execution_options(synchronize_session=False)
    )
