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
    :when: on add, update, import and merge, before the customer is written (imports ask
        :func:`crm_validate_customers` instead for a plugin that implements it).
    """


@hookspec
def crm_customer_created(uow, customer):
    """A customer was created (by the CLI, the API, an import or a plugin).

    Bulk imports call :func:`crm_customers_created` instead for a plugin that implements it.

    :param customer: the new :class:`~crmcore.storage.models.Customer`, flushed (it has an ``id``).
    :when: inside the creating unit of work, after the row and its phones, emails and tags are flushed.
    """


@hookspec
def crm_customer_updated(uow, customer, changes):
    """A customer's fields changed.

    Bulk imports call :func:`crm_customers_updated` instead for a plugin that implements it.

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
    recording does, for a plugin that does not implement the batch form
    :func:`crm_interactions_recorded` (a plugin that does gets that instead, once per batch).

    :param interaction: the flushed :class:`~crmcore.storage.models.Interaction`.
    :param customer: its :class:`~crmcore.storage.models.Customer`.
    :when: inside the recording unit of work, after the interaction row is flushed.
    """


# --- batch forms: called by bulk imports, once per batch ----------------------------------------
# A plugin implementing a batch form gets no per-row call of the matching hook from an import (it
# still gets the per-row hook from live commands: implement both). A plugin implementing only the
# per-row hook still sees every imported customer and interaction, one call per row with ORM
# objects, on a slower path (the import loads the ORM objects and writes row by row while such a
# plugin is enabled); ``crm plugins list`` marks it.


@hookspec
def crm_validate_customers(uow, customers, batch):
    """Check a batch of customers an import is about to create or change; the batch form of
    :func:`crm_validate_customer`.

    :param customers: a list of :class:`crmcore.batches.NewCustomer` (``id`` is ``None``: to be
        created) and :class:`crmcore.batches.CustomerChange` (a stored customer and the ``changes``
        the import would make, with the phones, emails and attributes it would have after them).
        Records are light frozen values, not ORM objects; do not write.
    :param batch: the :class:`crmcore.batches.Batch` (``source``, ``history``, ``file``).
    :return: a list of :class:`crmcore.batches.Refusal` (``index`` into ``customers``, ``message``),
        or ``[]``/``None``. A refused record's rows are rejected with the message (the import goes
        on); nothing of it is stored.
    :when: once per batch of an import, before anything of the batch is written; refusals are
        set-based checks (one query for the batch's codes, not one per row).
    """


@hookspec
def crm_customers_created(uow, customers, batch):
    """Customers were created by a bulk import; the batch form of :func:`crm_customer_created`.

    Implement it set-based: one statement for the batch (``UPDATE … WHERE phone IN (…)``), not one
    per customer. The kernel has already written the customers, their phones, emails, tags, name
    tokens, audit entries and one ``crm_customer_created`` outbox event per customer.

    :param customers: a list of :class:`crmcore.batches.NewCustomer` with their new ``id``, in the
        order they were created; frozen values, not ORM objects (``uow.session.get(Customer, id)``
        if an ORM object is really needed: it is slow for thousands).
    :param batch: the :class:`crmcore.batches.Batch`: ``source`` (``"import"``), ``history`` (true
        when the rows load past events: send no customer messages for them), ``file``.
    :when: inside the import chunk's unit of work, once per batch (≈2,000 rows), after the batch's
        rows are written; raising rolls the chunk back and names the plugin. Do not create or merge
        customers here: the import numbers the rows of the customer, phone and email tables itself
        while it runs.
    """


@hookspec
def crm_customers_updated(uow, customers, batch):
    """Stored customers were changed by a bulk import (a row merged into them); the batch form of
    :func:`crm_customer_updated`.

    :param customers: a list of :class:`crmcore.batches.CustomerChange`: ``id``, ``changes`` (as
        ``crm_customer_updated``'s: field → ``[old, new]``; ``phones_added``, ``emails_added``,
        ``tags_added`` → lists), and the customer's ``phones``, ``emails`` and ``attributes`` after
        the change. One record per change, in the order made (a customer changed by two rows has
        two).
    :param batch: the :class:`crmcore.batches.Batch`.
    :when: inside the import chunk's unit of work, once per batch, after the batch's changes are
        written.
    """


@hookspec
def crm_interactions_recorded(uow, interactions, batch):
    """Interactions were recorded by a bulk import; the batch form of
    :func:`crm_interaction_recorded`.

    :param interactions: a list of :class:`crmcore.batches.RecordedInteraction` (``id``,
        ``customer_id``, ``kind``, ``occurred_at``, ``amount_minor``, ``currency``, ``money``,
        ``payload``…), sorted by customer, then ``occurred_at``; every one is stored and has its
        ``crm_interaction_recorded`` outbox event. A customer's interactions of a later batch are
        never older than those of an earlier one (the import re-sorts the file otherwise).
    :param batch: the :class:`crmcore.batches.Batch`; with ``batch.history`` the rows are past
        events: compute as of each row's ``occurred_at`` and send no customer messages.
    :when: inside the import chunk's unit of work, once per batch (≈5,000 rows), after the rows are
        written; raising rolls the chunk back and names the plugin.
    """


@hookspec(firstresult=True)
def crm_staff_message(uow, channel, address, subject, body, key):
    """Send a staff notification (:func:`crmcore.api.notify_user`) to a user's own address: a plugin
    with providers (messaging) takes it and sends it after the commit.

    :param channel: ``"email"`` or ``"sms"``.
    :param address: the user's email address or E.164 mobile number (a staff member's, never a
        customer's: these messages may carry internal notes).
    :param subject: a short line (the email's subject; an SMS starts with it).
    :param body: the text, or ``None``.
    :param key: a unique key of this notification and channel (``notification:17:sms``), for the
        provider's de-duplication.
    :return: the outcome to record (``"queued"``), or ``None`` when no provider serves the channel.
    :when: inside the unit of work that notifies, once per channel of the notification.
    """


@hookspec
def crm_user_notified(uow, notification, user):
    """A staff notification was stored for ``user`` (shown in their list; its pop goes out through
    the outbox row of the same name).

    :param notification: the :class:`crmcore.web.models.UserNotification` (flushed).
    :param user: the :class:`crmcore.web.models.WebUser` it is for.
    :when: inside the notifying unit of work, after the row is flushed and sent to the channels.
    """
