"""Events of the tickets plugin, and the hook other plugins call to open a ticket.

Each event is called inside the unit of work of the command that caused it (raising rolls it back) and is
also written to the outbox under the same name with a JSON payload.
"""

from __future__ import annotations

from crmcore.api import hookspec

#: Events written to the outbox only (no hook is called): name → what its payload holds.
#: ``uow.emit`` refuses a name that is neither here nor a hook specification.
OUTBOX_EVENTS = {
    "tickets_csat_recorded": (
        "A customer's satisfaction score for a closed ticket: ``ticket_id``, ``score``."
    ),
    "tickets_sla_warning": (
        "A ticket nears an SLA target (the SLA job): ``ticket_id``, ``target``, ``due_at``, "
        "``business_minutes_left``, ``assignee``."
    ),
    "tickets_reply_failed": (
        "An agent's public reply could not be delivered after its last attempt: ``ticket_id``, "
        "``message_id``, ``error``."
    ),
    "tickets_ticket_merged": ("Two tickets became one: ``kept``, ``merged`` (ticket ids)."),
}


@hookspec
def tickets_ticket_opened(uow, ticket, customer):
    """A ticket was opened (CLI, incoming email, another plugin through ``tickets_create_ticket``).

    :param ticket: the flushed :class:`crmcore_tickets.models.Ticket` (due times already computed).
    :param customer: its :class:`~crmcore.api.Customer`.
    :when: inside the opening unit of work, after the ticket and its first message are flushed.
    """


@hookspec
def tickets_ticket_replied(uow, ticket, message):
    """A public reply was added to a ticket, by the customer or by an agent (internal notes are not replies).

    :param message: the :class:`crmcore_tickets.models.TicketMessage`; ``message.author`` is ``customer`` or
        ``agent``. The messaging plugin may send an agent's reply to the customer here.
    :when: inside the replying unit of work, after the message is flushed and the ticket state updated.
    """


@hookspec
def tickets_ticket_closed(uow, ticket):
    """A ticket was closed; the CSAT question (1–5) is due now.

    :return: a plugin that asks the CSAT question itself (the surveys plugin) returns its name, e.g.
        ``"surveys"``; the ticket then records ``csat_by`` and ``crm tickets csat`` refuses to record a score
        for it. Return ``None`` to leave the question to the tickets plugin.
    :when: inside the closing unit of work, after ``closed_at`` is set.
    """


@hookspec
def tickets_sla_breached(uow, ticket, target, due_at):
    """A ticket missed an SLA target.

    :param target: ``"first_response"`` or ``"resolution"``.
    :param due_at: the due time (aware UTC) that passed.
    :when: in ``crm jobs run`` (job ``tickets.sla``) once per ticket and target, or at once when a late first
        reply or resolution is recorded before the job noticed.
    """


@hookspec(firstresult=True)
def tickets_create_ticket(uow, customer_id, subject, body, channel, priority, dedup_key, source):
    """Open a ticket for another plugin (voip's missed calls, surveys' detractors…); tickets implements it.

    :param channel: one of ``phone, email, web, chat, in_person, social``.
    :param priority: ``low, normal, high, urgent`` (``None``: normal).
    :param dedup_key: a key unique to what caused the ticket (``"voip:call:42"``); calling again with the same
        key returns the existing ticket instead of opening another. ``None``: no deduplication.
    :param source: the calling plugin's name, stored on the ticket.
    :return: the :class:`crmcore_tickets.models.Ticket` (new or existing).
    :when: any time inside a unit of work; check ``uow.has_plugin("tickets")`` first.
    """


@hookspec(firstresult=True)
def tickets_reply_sender(uow, channel):
    """Offer a way to send an agent's public reply to the customer (the messaging plugin
    implements it with its configured providers).

    :param channel: ``"email"`` (tickets whose channel is email), ``"sms"`` (phone tickets) or
        ``"chat"`` (chat tickets; ``recipient`` is then ``customer:<id>`` and the sender finds the
        chat that customer linked).
    :return: ``None`` when nothing can send on ``channel``; otherwise a callable
        ``send(recipient, subject, body, headers) -> str | None`` that hands one message to the
        provider and returns the provider's id for it. ``recipient`` is an email address or an
        E.164 phone; ``subject`` is ``None`` for SMS; ``headers`` (email only) holds
        ``Message-ID``, ``In-Reply-To`` and ``References``, which the sender must put on the
        message unchanged so the customer's answer threads back into the ticket. It raises on
        failure: an exception with ``retryable = True`` is tried again later, one with
        ``ambiguous = True`` (the provider may have taken it) is never resent. The callable is
        called after the unit of work has committed, outside any transaction, so it must not use
        ``uow``.
    :when: when replies are delivered: right after the replying command commits, and in
        ``crm jobs run`` (job ``tickets.replies``) for retries.
    """


@hookspec(firstresult=True)
def tickets_customer_message(uow, customer_id, body, channel, subject, source):
    """The customer wrote on ``channel`` (a chat message, say): the message is added as the
    customer's reply to their newest ticket on that channel that is not closed (a resolved one
    reopens), otherwise a new ticket is opened with ``subject`` and the message as its first one.
    Tickets implements it.

    :param channel: one of ``phone, email, web, chat, in_person, social``.
    :param source: the calling plugin's name, stored on a new ticket.
    :return: ``(ticket, opened)``: the :class:`crmcore_tickets.models.Ticket` and whether it is new.
    :when: inside a unit of work; check ``uow.has_plugin("tickets")`` first.
    """
