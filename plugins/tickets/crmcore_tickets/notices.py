"""Staff notifications of tickets (the kernel's ``notify_user``): a ticket given to an agent, an SLA
about to break or broken — to the ticket's assignee, never to the customer."""

from __future__ import annotations

from datetime import datetime

from crmcore.api import Formatter, notify_user

TARGETS_FA = {"first_response": "پاسخ اول", "resolution": "حل"}


def _link(ticket) -> str:
    return f"/p/tickets/tickets/{ticket.id}"


def assigned(uow, ticket) -> None:
    """The assignee hears of a ticket given to them (not when they took it themselves)."""
    agent = ticket.assignee
    if agent is None or (uow.actor or "").split(" ")[0].lower() == agent.username.lower():
        return
    notify_user(
        uow,
        agent.username,
        f"تیکت #{ticket.id} به شما سپرده شد: {ticket.subject}",
        link=_link(ticket),
        kind="ticket_assigned",
        key=f"ticket:{ticket.id}:assigned:{agent.username}@{uow.now().isoformat()}",
    )


def sla(uow, ticket, target: str, due_at: datetime, *, breached: bool) -> None:
    """An SLA warning (due soon) or breach (due passed) of ``target``, to the ticket's assignee."""
    if ticket.assignee is None:
        return
    when = Formatter.for_language("fa", tz=uow.app.timezone).moment(due_at)
    what = TARGETS_FA.get(target, target)
    title = (
        f"مهلت {what} تیکت #{ticket.id} گذشت ({when}): {ticket.subject}"
        if breached
        else f"مهلت {what} تیکت #{ticket.id} نزدیک است ({when}): {ticket.subject}"
    )
    notify_user(
        uow,
        ticket.assignee.username,
        title,
        link=_link(ticket),
        kind="sla_breach" if breached else "sla_warning",
        key=f"ticket:{ticket.id}:{target}:{'breach' if breached else 'warning'}",
    )
