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
    """Two customers became one: re-point every plugin row from ``merged.id`` to ``kept.id`` here.

    :param kept: the surviving :class:`~crmcore.storage.models.Customer`.
    :param merged: the absorbed customer; it stays as a tombstone with ``merged_into_id = kept.id``.
    :when: inside the merge's unit of work, after the kernel moved interactions, phones, emails and tags.
    """


@hookspec
def crm_customer_forgotten(uow, customer):
    """A customer asked to be forgotten: erase the personal data the plugin holds about them.

    Keep anonymised aggregates (amounts, counts, dates); erase names, contact details, free text.

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
