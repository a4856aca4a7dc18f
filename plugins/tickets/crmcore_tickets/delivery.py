"""Agents' public replies out to the customer, by the ticket's channel: email tickets by email
(threaded with ``Message-ID``/``In-Reply-To``/``References``), phone tickets by SMS, chat tickets
to the chat the customer linked. Tickets of other channels (web, in person, social) are answered
where the customer is and are not sent anywhere.

The sender comes from another plugin through the hook ``tickets_reply_sender`` (messaging offers
its providers). A reply is queued in the replying transaction, *claimed* (queued → sending) in a
committed transaction, sent outside any transaction, and its outcome recorded on the message:
``sent``, ``failed`` (with the reason, shown on the ticket), or ``unknown`` when the provider may
have taken it (never resent). Temporary failures are retried with back-off by ``crm jobs run`` (job
``tickets.replies``).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from .models import Ticket, TicketMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
RETRY_SECONDS = 60
#: a message left ``sending`` longer than this was being sent by a process that stopped
STALE = timedelta(minutes=15)
#: how many earlier ids a reply's ``References`` header carries (RFC 5322 lets it be shortened)
REFERENCES_KEPT = 20
CHANNEL_OF = {"email": "email", "phone": "sms", "chat": "chat"}
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|fwd?|aw|پاسخ)\s*:\s*)+", re.IGNORECASE)
_TICKET_TAG = re.compile(r"\s*\[\s*#\s*[0-9۰-۹]+\s*\]")


def recipient(customer, ticket: Ticket, channel: str) -> str | None:
    """Where the reply goes: the address the customer last wrote from (email), else their first
    address; the first mobile phone for SMS."""
    if channel == "sms":
        return next((p.e164 for p in customer.phones if p.kind == "mobile"), None)
    if channel == "chat":
        # the sender (messaging) knows which chat the customer linked; tickets does not
        return f"customer:{customer.id}"
    last = next(
        (
            m.email_from
            for m in sorted(ticket.messages, key=lambda m: m.id, reverse=True)
            if m.author == "customer" and m.email_from
        ),
        None,
    )
    return last or next((e.email for e in customer.emails), None)


def queue(uow, ticket: Ticket, message: TicketMessage, customer) -> None:
    """Queue an agent's public reply for delivery (after the commit); no-op for channels without
    one."""
    channel = CHANNEL_OF.get(ticket.channel)
    if channel is None:
        return
    message.delivery_channel = channel
    message.delivery_attempts = 0
    to = recipient(customer, ticket, channel)
    if to is None:
        what = "mobile phone for SMS" if channel == "sms" else "email address"
        message.delivery_status = "failed"
        message.delivery_error = f"customer {customer.id} has no {what}; the reply was not sent"
        return
    message.delivery_to = to
    message.delivery_status = "queued"
    message.delivery_next_at = uow.now()
    pending = uow.cache.setdefault("tickets", {}).setdefault("deliver", [])
    if not pending:
        app = uow.app
        uow.after_commit(lambda: _deliver_quietly(app, pending))
    pending.append(message.id)


def _deliver_quietly(app, ids: list[int]) -> None:
    try:
        deliver(app, ids=list(ids))
    except Exception:  # noqa: BLE001 - the agent's reply is stored; the job retries
        log.exception("tickets: sending a reply after commit failed; `crm jobs run` retries")


def reply_subject(ticket: Ticket) -> str:
    """``Re: <subject> [#12]``: one ``Re:`` however many the customer's mail had, and the tag that
    threads the answer even when a mail program drops the reply headers."""
    subject = _REPLY_PREFIX.sub("", ticket.subject).strip()
    return f"Re: {_TICKET_TAG.sub('', subject).strip()} [#{ticket.id}]"


def email_headers(ticket: Ticket, message: TicketMessage) -> dict[str, str]:
    """``Message-ID`` of the reply, ``In-Reply-To`` the customer's latest email on the ticket,
    ``References`` every earlier id of the conversation (oldest first, the last
    :data:`REFERENCES_KEPT`)."""
    earlier = [
        m
        for m in sorted(ticket.messages, key=lambda m: (m.created_at, m.id))
        if m.id != message.id
        and m.kind == "reply"
        and m.email_message_id
        and (m.author == "customer" or m.delivery_status in ("sent", "unknown"))
    ]
    headers = {"Message-ID": message.email_message_id or ""}
    customer_ids = [m.email_message_id for m in earlier if m.author == "customer"]
    if customer_ids:
        headers["In-Reply-To"] = customer_ids[-1]
    if earlier:
        headers["References"] = " ".join(m.email_message_id for m in earlier[-REFERENCES_KEPT:])
    return headers


def deliver(app, *, ids: list[int] | None = None, now: datetime | None = None) -> dict[str, int]:
    """Send due replies; returns counts by outcome."""
    totals = {"sent": 0, "retrying": 0, "failed": 0, "unknown": 0}
    now = now or app.now()
    with app.unit_of_work(actor="tickets") as uow:
        stale = uow.session.execute(
            update(TicketMessage)
            .where(
                TicketMessage.delivery_status == "sending",
                TicketMessage.delivery_next_at < now - STALE,
            )
            .values(
                delivery_status="unknown",
                delivery_error="the sending process stopped before recording "
                "the outcome; not resent to avoid a duplicate",
            )
        )
        totals["unknown"] += stale.rowcount or 0
    claimed, totals["failed"] = _claim(app, now, ids)
    outcomes = [(item, _send(item)) for item in claimed]
    if outcomes:
        with app.unit_of_work(actor="tickets") as uow:
            for item, outcome in outcomes:
                totals[_record(uow, item, outcome, now)] += 1
    return totals


def _claim(app, now: datetime, ids: list[int] | None) -> tuple[list[dict[str, Any]], int]:
    """Mark due replies ``sending`` in a committed transaction (so no other process sends them too);
    those nothing can send fail at once."""
    claimed: list[dict[str, Any]] = []
    refused = 0
    with app.unit_of_work(actor="tickets") as uow:
        q = (
            select(TicketMessage)
            .where(TicketMessage.delivery_status == "queued", TicketMessage.delivery_next_at <= now)
            .order_by(TicketMessage.delivery_next_at, TicketMessage.id)
            .limit(500)
        )
        if ids is not None:
            q = q.where(TicketMessage.id.in_(ids))
        senders: dict[str, Any] = {}
        for message in uow.session.scalars(q).all():
            channel = message.delivery_channel
            if channel not in senders:
                senders[channel] = (
                    uow.call("tickets_reply_sender", channel=channel)
                    if uow.listened("tickets_reply_sender")
                    else None
                )
            send = senders[channel]
            if send is None:
                message.delivery_status = "failed"
                message.delivery_error = (
                    f"nothing sends {channel} here: enable the messaging plugin and add "
                    f"an {channel} provider (crm messages providers add …)"
                )
                refused += 1
                continue
            taken = uow.session.execute(
                update(TicketMessage)
                .where(TicketMessage.id == message.id, TicketMessage.delivery_status == "queued")
                .values(
                    delivery_status="sending",
                    delivery_attempts=TicketMessage.delivery_attempts + 1,
                    delivery_next_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # another process claimed it first
                continue
            ticket = message.ticket
            claimed.append(
                {
                    "id": message.id,
                    "send": send,
                    "to": message.delivery_to,
                    "channel": channel,
                    "subject": reply_subject(ticket) if channel == "email" else None,
                    "body": message.body,
                    "attempts": (message.delivery_attempts or 0) + 1,
                    "headers": email_headers(ticket, message) if channel == "email" else {},
                }
            )
    return claimed, refused


def _send(item: dict[str, Any]) -> Any:
    try:
        return (
            "ok",
            item["send"](item["to"], item["subject"], item["body"], dict(item["headers"])),
        )
    except Exception as exc:  # noqa: BLE001 - any provider failure is recorded on the reply
        return exc


def _record(uow, item: dict[str, Any], outcome: Any, now: datetime) -> str:
    row = uow.session.get(TicketMessage, item["id"])
    if isinstance(outcome, tuple):
        row.delivery_status, row.delivery_error, row.sent_at = "sent", None, now
        row.delivery_ref = str(outcome[1])[:300] if outcome[1] else None
        uow.audit(
            "reply_sent",
            "ticket",
            row.ticket_id,
            {"message": row.id, "channel": row.delivery_channel},
            customer_id=row.ticket.customer_id,
        )
        return "sent"
    row.delivery_error = (str(outcome) or type(outcome).__name__)[:2000]
    if getattr(outcome, "ambiguous", False):
        row.delivery_status = "unknown"
        return "unknown"
    if getattr(outcome, "retryable", False) and item["attempts"] < MAX_ATTEMPTS:
        row.delivery_status = "queued"
        row.delivery_next_at = now + timedelta(seconds=RETRY_SECONDS * 2 ** (item["attempts"] - 1))
        return "retrying"
    row.delivery_status = "failed"
    if getattr(outcome, "retryable", False):
        row.delivery_error = f"gave up after {item['attempts']} attempts: {row.delivery_error}"
    uow.emit(
        "tickets_reply_failed",
        customer_id=row.ticket.customer_id,
        data={"ticket_id": row.ticket_id, "message_id": row.id, "error": row.delivery_error},
    )
    return "failed"


def retry(uow, ticket_id, message_id) -> TicketMessage:
    """Queue a failed reply again (the agent fixed the customer's address or the provider)."""
    from crmcore.api import Conflict, NotFound

    from .service import editable_ticket

    ticket = editable_ticket(uow, ticket_id)
    message = uow.session.get(TicketMessage, int(message_id))
    if message is None or message.ticket_id != ticket.id or message.delivery_channel is None:
        raise NotFound(f"ticket #{ticket.id} has no sent reply {message_id}", field="message")
    if message.delivery_status != "failed":
        raise Conflict(
            f"reply {message.id} is {message.delivery_status}; only failed replies are sent again",
            field="message",
        )
    customer = ticket_customer(uow, ticket)
    queue(uow, ticket, message, customer)
    return message


def ticket_customer(uow, ticket: Ticket):
    from crmcore.api import get_customer

    return get_customer(uow.session, ticket.customer_id)
