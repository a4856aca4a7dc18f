"""Domain events of the kernel.

Every event hook is called inside the unit of work of the command that caused it: an implementation may
write through the same ``uow.session``, and if it raises, the whole command is rolled back and the user is
told which plugin failed and why. Each event is also appended to the outbox table in the same transaction
(event name = hook name) for external consumers.
"""
from __future__ import annotations

from . import hookspec


@hookspec
def crm_validate_customer(uow, customer, changes):
    """Check a customer before it is stored; plugins may refuse with their own rules.

    :param customer: the :class:`~crmcore.storage.models.Customer` as it would be stored (not yet flushed
        when new, so ``customer.id`` may be ``None``).
    :param changes: dict of field name to new value for this operation (all fields for a new customer).
    :return: a list of error messages (``[]`` or ``None`` when valid). Any message refuses the operation with
        a :class:`~crmcore.errors.ValidationError` naming the plugin.
    :when: on add, update, import and merge, before the customer is written.
    """


@hookspec
def crm_customer_created(uow, customer):
    """A customer was created (by the CLI, the API, an import or a plugin).

    :param customer: the new :class:`~crmcore.storage.models.Customer`, flushed (it has an ``id``).
    :when: inside the creating unit of work, after the row and its phones, emails and tags are flushed.
    """


@hookspec
def crm_customer_updated(uow, customer, changes):
    """A customer's fields changed.

    :param changes: dict of field name to ``[old, new]`` (JSON-ready values).
    :when: inside the updating unit of work, after the change is flushed.
    """


@hookspec
def crm_customers_merged(uow, kept, merged):
    """Two customers became one: combine here what cannot simply move (balances, one row per
    customer).

    The kernel re-points the rows of every model that declares ``__customer_data__``
    (:mod:`crmcore.storage.customer_data`) right after this hook; implement it only for models
    declared with ``merge="hook"`` or for work that must precede the move (draining buffers).

    :param kept: the surviving :class:`~crmcore.storage.models.Customer`.
    :param merged: the absorbed customer; it stays as a tombstone with ``merged_into_id = kept.id``.
    :when: inside the merge's unit of work, after the kernel moved interactions, phones, emails and tags.
    """


@hookspec
def crm_customer_forgotten(uow, customer):
    """A customer asked to be forgotten: what the declarations cannot say (cancel what was queued
    for them, prune a JSON document).

    The kernel has already written the declared ``erase`` values of every plugin model
    (:mod:`crmcore.storage.customer_data`) into the customer's rows and those of customers merged
    into them. Keep anonymised aggregates (amounts, counts, dates).

    :param customer: the customer, already stripped of personal data by the kernel (id kept).
    :when: inside ``crm customers forget``'s unit of work.
    """


@hookspec
def crm_interaction_recorded(uow, interaction, customer):
    """An interaction (purchase, refund, call, message, visit, note, or a plugin's kind) was recorded.

    Imports of history call this once per row in ``occurred_at`` order per customer, exactly as live
    recording does, so plugins (loyalty accrual, tiers, survey triggers) react to both the same way.

    :param interaction: the flushed :class:`~crmcore.storage.models.Interaction`.
    :param customer: its :class:`~crmcore.storage.models.Customer`.
    :when: inside the recording unit of work, after the interaction row is flushed.
    """
