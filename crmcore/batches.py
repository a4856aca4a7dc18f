"""What a bulk import hands plugins: light records of a batch, and the batch's context.

The batch hooks (:func:`crmcore.hooks.events.crm_customers_created`, ``crm_customers_updated``,
``crm_interactions_recorded``, ``crm_validate_customers``) receive these frozen records instead of
ORM objects: loading thousands of ORM customers so that a hook can read their phones costs an import
more than writing them. A plugin that implements only the per-row form of a hook still gets one call
per row with the ORM object, on a slower path (:func:`announce`); ``crm plugins list`` marks such
plugins.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Mapping, Sequence

import attrs

from .domain.money import Money

#: per-row hook → its batch form (a plugin implementing the batch form gets no per-row call from
#: imports)
BATCH_FORMS = {
    "crm_validate_customer": "crm_validate_customers",
    "crm_customer_created": "crm_customers_created",
    "crm_customer_updated": "crm_customers_updated",
    "crm_interaction_recorded": "crm_interactions_recorded",
}


@attrs.frozen
class Batch:
    """Where a batch comes from and how plugins should treat it.

    ``source``: ``"import"`` (``crm customers import`` / ``crm interactions import``) or another
    bulk writer's name. ``history``: the rows are past events being loaded (issue 34's history
    mode): react as of each row's own date and send no customer messages for them. ``file``: the
    imported file's name, for notes."""

    source: str = "import"
    history: bool = False
    file: str | None = None


@attrs.frozen
class NewCustomer:
    """A customer as stored by a bulk import (``id`` is set), or as it would be stored when
    validated (``id`` is ``None``). ``phones`` hold E.164 numbers, ``emails`` lower-case addresses;
    both in position order."""

    id: int | None
    name: str
    kind: str = "person"
    external_id: str | None = None
    birthday: date | None = None
    city: str | None = None
    address: str | None = None
    owner: str | None = None
    consent_sms: bool = False
    consent_email: bool = False
    attributes: Mapping[str, Any] = attrs.field(factory=dict)
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@attrs.frozen
class CustomerChange:
    """A stored customer an import changed (or, to validate, is about to change).

    ``changes`` has the shape of ``crm_customer_updated``'s: field name → ``[old, new]``, and
    ``phones_added`` / ``emails_added`` / ``tags_added`` → lists. ``phones``: the customer's phones
    after the change (E.164)."""

    id: int
    changes: Mapping[str, Any]
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class RecordedInteraction:
    """A stored interaction, as ``interaction_to_dict`` describes it (amounts in minor units)."""

    id: int
    customer_id: int
    kind: str
    occurred_at: datetime
    channel: str | None = None
    direction: str | None = None
    amount_minor: int | None = None
    currency: str | None = None
    external_id: str | None = None
    related_id: int | None = None
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    recorded_at: datetime | None = None
    recorded_by: str | None = None

    @property
    def money(self) -> Money | None:
        return (
            None if self.amount_minor is None else Money(self.amount_minor, self.currency or "IRR")
        )


@attrs.frozen
class Refusal:
    """A batch validator's answer: the record at ``index`` of the list it was given is refused."""

    index: int
    message: str


def row_only_plugins(plugins, row_hook: str) -> list[str]:
    """The enabled plugins implementing ``row_hook`` but not its batch form (they make imports
    slower)."""
    return plugins.row_only_plugins(row_hook, BATCH_FORMS[row_hook])


def announce(
    uow,
    row_hook: str,
    events: Sequence[tuple[int | None, dict[str, Any]]],
    batch: Batch,
    records: Callable[[], list[Any]],
    row_arguments: Callable[[], list[dict[str, Any]]],
) -> None:
    """Announce a batch of one event: ``events`` (``(customer_id, data)``, one per row) go to the
    outbox under ``row_hook``'s name; the plugins implementing only ``row_hook`` get it once per
    row, right after that row's outbox event (exactly as live commands emit it), with
    ``row_arguments()[i]`` (built only when such a plugin exists: it loads ORM objects); then the
    plugins implementing its batch form get one call with ``records()``."""
    if not events:
        return
    was, uow.history = uow.history, uow.history or batch.history
    try:
        _announce(uow, row_hook, events, batch, records, row_arguments)
    finally:
        uow.history = was


def _announce(uow, row_hook, events, batch, records, row_arguments) -> None:
    caller = uow.plugins.row_only_caller(row_hook, BATCH_FORMS[row_hook])
    if caller is None:
        uow.record_events(row_hook, events)
    else:
        for event, kwargs in zip(events, row_arguments()):
            uow.record_events(row_hook, [event])
            uow.plugins.call_caller(caller, row_hook, uow=uow, **kwargs)
    if uow.listened(BATCH_FORMS[row_hook]):
        uow.call(BATCH_FORMS[row_hook], **{_BATCH_ARGUMENT[row_hook]: records()}, batch=batch)


def batch_refusals(
    uow, records: Sequence[Any], batch: Batch, row_arguments: Callable[[], list[dict[str, Any]]]
) -> dict[int, list[str]]:
    """What the validators say about records to create or change: index → messages (none: accepted).
    ``crm_validate_customers`` is asked once; a plugin implementing only ``crm_validate_customer``
    is asked per record with ``row_arguments()[i]``."""
    found: dict[int, list[str]] = {}
    if not records:
        return found
    if uow.listened("crm_validate_customers"):
        for answer in uow.call("crm_validate_customers", customers=list(records), batch=batch):
            for refusal in answer or ():
                found.setdefault(refusal.index, []).append(refusal.message)
    caller = uow.plugins.row_only_caller("crm_validate_customer", "crm_validate_customers")
    if caller is not None:
        for i, kwargs in enumerate(row_arguments()):
            for answer in uow.plugins.call_caller(
                caller, "crm_validate_customer", uow=uow, **kwargs
            ):
                if answer:
                    found.setdefault(i, []).extend(answer)
    return found


def has_row_only(uow, row_hook: str) -> bool:
    """Whether some enabled plugin implements ``row_hook`` without its batch form."""
    return uow.plugins.row_only_caller(row_hook, BATCH_FORMS[row_hook]) is not None


_BATCH_ARGUMENT = {
    "crm_validate_customer": "customers",
    "crm_customer_created": "customers",
    "crm_customer_updated": "customers",
    "crm_interaction_recorded": "interactions",
}
