"""Tickets: open, reply, note, assign, resolve, close, CSAT, tag, merge — each a function taking the unit of work.

State machine (``crm tickets`` documents it too)::

    new ──► open ◄──► pending_customer
     │       │  ▲            │
     ▼       ▼  │ reopen     ▼
    resolved ◄──┴──────── resolved ──► closed (final)

- An agent's public reply is the first response; the ticket becomes ``open`` (``pending_customer`` with
  ``pending=True``). A customer's reply reopens a ``resolved`` ticket and resumes a ``pending_customer`` one.
- A ``closed`` ticket is final: replies to it are refused (incoming email opens a follow-up ticket instead).
- The SLA clock runs in ``new`` and ``open`` only.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select

from crmcore.api import (
    Conflict,
    Customer,
    NotFound,
    ValidationError,
    assignee_clause,
    check_assignee,
    check_text,
    get_customer,
    normalize,
    to_ascii_digits,
)

from . import notices, sla
from .agents import get_agent, get_team, pick_agent
from .models import CHANNELS, STATES, UNSOLVED, Agent, Ticket, TicketMessage, TicketTag

ALLOWED = {
    "new": {"open", "pending_customer", "resolved", "closed"},
    "open": {"pending_customer", "resolved", "closed"},
    "pending_customer": {"open", "resolved", "closed"},
    "resolved": {"open", "closed"},
    "closed": set(),
}
EMAIL_DOMAIN_ENV = "CRM_TICKETS_EMAIL_DOMAIN"


def _text(value: str | None, field: str, limit: int, *, required: bool = True) -> str:
    text = check_text((value or "").strip(), field)
    if required and not text:
        raise ValidationError(f"a {field} is required", field=field)
    if len(text) > limit:
        raise ValidationError(f"the {field} is longer than {limit} characters", field=field)
    return text


def check_channel(channel: str) -> str:
    value = (channel or "").strip().lower().replace("-", "_").replace(" ", "_")
    if value not in CHANNELS:
        raise ValidationError(
            f"{channel!r} is not a channel ({', '.join(CHANNELS)})", field="channel"
        )
    return value


def clean_tag(tag: str) -> str:
    value = normalize(tag).replace(" ", "-")[:100]
    if not value:
        raise ValidationError(f"{tag!r} is not a tag", field="tag")
    return value


def get_ticket(session, ticket_id: int | str) -> Ticket:
    try:
        tid = int(to_ascii_digits(str(ticket_id)).strip().lstrip("#"))
    except ValueError:
        raise NotFound(f"{ticket_id!r} is not a ticket number", field="ticket") from None
    # a number beyond the column's range names no ticket (and must not reach the database)
    ticket = session.get(Ticket, tid) if 0 < tid < 2**31 else None
    if ticket is None:
        raise NotFound(f"no ticket #{tid}", field="ticket")
    return ticket


def editable_ticket(uow, ticket_id: int | str) -> Ticket:
    """The ticket, if the acting user may change it: tickets follow their assignee (the kernel's
    record rules; a teammate's or an unassigned ticket by default)."""
    ticket = get_ticket(uow.session, ticket_id)
    check_assignee(
        uow,
        "write",
        ticket.assignee.username.lower() if ticket.assignee else None,
        f"ticket #{ticket.id}",
    )
    return ticket


def readable_tickets(uow):
    """A clause over tickets the acting user may read (``None``: all): tickets follow their
    assignee."""
    assignee = (
        select(func.lower(Agent.username)).where(Agent.id == Ticket.assignee_id).scalar_subquery()
    )  # NULL when unassigned
    return assignee_clause(uow, "read", assignee)


def _writable(ticket: Ticket, action: str) -> None:
    if ticket.merged_into_id is not None:
        raise Conflict(
            f"ticket #{ticket.id} was merged into #{ticket.merged_into_id}; {action} there",
            field="ticket",
        )


def _move(uow, ticket: Ticket, new: str, now: datetime) -> None:
    """Change state, stopping or restarting the SLA clock; leaving ``resolved`` counts as a reopening."""
    old = ticket.state
    if new == old:
        return
    if new not in ALLOWED[old]:
        hint = " (closed tickets are final: open a follow-up ticket)" if old == "closed" else ""
        raise Conflict(f"ticket #{ticket.id} is {old}; it cannot become {new}{hint}", field="state")
    if new in sla.RUNNING:
        sla.restart_clock(uow, ticket, now)
    else:
        sla.stop_clock(ticket, now)
    if old == "resolved" and new == "open":
        ticket.reopen_count += 1
        ticket.resolved_at = None
        ticket.resolution_seconds = None
    ticket.state = new
    ticket.updated_at = now
    uow.audit("state", "ticket", ticket.id, {"state": [old, new]}, customer_id=ticket.customer_id)


def _add_message(
    uow,
    ticket: Ticket,
    *,
    kind: str,
    author: str,
    body: str,
    agent: Agent | None = None,
    channel: str | None = None,
    email_message_id: str | None = None,
    email_from: str | None = None,
    at: datetime | None = None,
) -> TicketMessage:
    message = TicketMessage(
        kind=kind,
        author=author,
        agent=agent,
        body=body,
        channel=channel or ticket.channel,
        created_at=at or uow.now(),
        email_message_id=email_message_id,
        email_from=email_from,
    )
    ticket.messages.append(message)
    uow.session.flush()
    if author == "agent" and kind == "reply" and message.email_message_id is None:
        domain = os.environ.get(EMAIL_DOMAIN_ENV) or "tickets.crmcore.invalid"
        message.email_message_id = f"<ticket-{ticket.id}-{message.id}@{domain}>"
    return message


def _assign(uow, ticket: Ticket, *, agent: str | None, team: str | None) -> None:
    if agent:
        chosen = get_agent(uow.session, agent)
        if team:
            ticket.team = get_team(uow.session, team)
        elif chosen.team_id is not None:
            ticket.team_id = chosen.team_id
        ticket.assignee = chosen
    elif team:
        team_row = get_team(uow.session, team)
        ticket.team = team_row
        ticket.assignee = pick_agent(uow, team_row)


def find_by_dedup_key(session, dedup_key: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.dedup_key == dedup_key))


def open_ticket(
    uow,
    customer: Customer | int,
    *,
    subject: str,
    body: str | None = None,
    channel: str = "phone",
    priority: str | None = "normal",
    category: str | None = None,
    tags: Iterable[str] = (),
    agent: str | None = None,
    team: str | None = None,
    dedup_key: str | None = None,
    source: str | None = None,
    follow_up_of: int | None = None,
    email_message_id: str | None = None,
    email_from: str | None = None,
    at: datetime | None = None,
) -> Ticket:
    """Open a ticket (the customer's first message is ``body``). A repeated ``dedup_key`` returns
    the existing one.

    ``at``: when the customer asked, if earlier than now (an imported old ticket, an email's
    ``Date``); the SLA due times count from it, so a target already past is breached at the next
    ``crm jobs run``."""
    if not isinstance(customer, Customer):
        customer = get_customer(uow.session, customer)
    subject = " ".join(_text(subject, "subject", 300).split())
    body = _text(body, "body", 100_000, required=False)
    channel = check_channel(channel)
    priority = sla.check_priority(priority or "normal")
    category = sla.clean_category(category)
    tag_values = list(dict.fromkeys(clean_tag(t) for t in tags))
    dedup_key = _text(dedup_key, "dedup_key", 200, required=False) or None
    if dedup_key:
        existing = find_by_dedup_key(uow.session, dedup_key)
        if existing is not None:
            return existing
    previous = get_ticket(uow.session, follow_up_of) if follow_up_of is not None else None
    now = check_moment(uow, at) if at is not None else uow.now()
    ticket = Ticket(
        customer_id=customer.id,
        subject=subject,
        channel=channel,
        priority=priority,
        category=category,
        state="new",
        source=(source or None),
        dedup_key=dedup_key,
        created_at=now,
        updated_at=now,
        follow_up_of_id=previous.id if previous else None,
        paused_seconds=0,
        reopen_count=0,
    )
    uow.session.add(ticket)
    _assign(uow, ticket, agent=agent, team=team)
    ticket.tags = [TicketTag(tag=t) for t in tag_values]
    uow.session.flush()
    sla.start_clock(uow, ticket)
    if body:
        _add_message(
            uow,
            ticket,
            kind="reply",
            author="customer",
            body=body,
            email_message_id=email_message_id,
            email_from=email_from,
            at=now,
        )
    uow.session.flush()
    uow.audit(
        "open",
        "ticket",
        ticket.id,
        {"subject": subject, "priority": priority, "channel": channel},
        customer_id=customer.id,
    )
    uow.emit(
        "tickets_ticket_opened",
        customer_id=customer.id,
        data={
            "ticket_id": ticket.id,
            "subject": subject,
            "channel": channel,
            "priority": priority,
            "category": category,
            "source": ticket.source,
            "assignee": ticket.assignee.username if ticket.assignee else None,
        },
        ticket=ticket,
        customer=customer,
    )
    notices.assigned(uow, ticket)
    return ticket


def check_moment(uow, at: datetime) -> datetime:
    """A past moment for ``--at``: aware, and not in the future."""
    if at.tzinfo is None:
        raise ValidationError("the time needs a time zone", field="at")
    if at > uow.now():
        raise ValidationError(
            "the ticket cannot be opened in the future (--at is later than now)", field="at"
        )
    return at


def _replied(uow, ticket: Ticket, message: TicketMessage) -> None:
    uow.emit(
        "tickets_ticket_replied",
        customer_id=ticket.customer_id,
        data={
            "ticket_id": ticket.id,
            "message_id": message.id,
            "author": message.author,
            "agent": message.agent.username if message.agent else None,
            "state": ticket.state,
        },
        ticket=ticket,
        message=message,
    )


def agent_reply(
    uow,
    ticket_id: int | str,
    body: str,
    *,
    agent: str,
    pending: bool = False,
    email_message_id: str | None = None,
) -> TicketMessage:
    """An agent's public reply: the first response if none yet; the ticket becomes open (or pending_customer)."""
    ticket = editable_ticket(uow, ticket_id)
    _writable(ticket, "reply")
    body = _text(body, "body", 100_000)
    replier = get_agent(uow.session, agent)
    if ticket.state == "closed":
        raise Conflict(
            f"ticket #{ticket.id} is closed; closed tickets are final, open a follow-up ticket "
            f"(crm tickets open … --follow-up-of {ticket.id})",
            field="ticket",
        )
    now = uow.now()
    _move(uow, ticket, "pending_customer" if pending else "open", now)
    if ticket.assignee_id is None:
        ticket.assignee = replier
    message = _add_message(
        uow,
        ticket,
        kind="reply",
        author="agent",
        body=body,
        agent=replier,
        email_message_id=email_message_id,
        at=now,
    )
    sla.record_first_response(uow, ticket, now)
    from .delivery import queue, ticket_customer

    queue(uow, ticket, message, ticket_customer(uow, ticket))
    _replied(uow, ticket, message)
    return message


def customer_reply(
    uow,
    ticket_id: int | str,
    body: str,
    *,
    channel: str | None = None,
    email_message_id: str | None = None,
    email_from: str | None = None,
) -> TicketMessage:
    """The customer wrote again: a resolved ticket reopens, a pending one resumes; a closed one refuses."""
    ticket = get_ticket(uow.session, ticket_id)
    _writable(ticket, "reply")
    body = _text(body, "body", 100_000)
    if ticket.state == "closed":
        raise Conflict(
            f"ticket #{ticket.id} is closed; closed tickets are final, open a follow-up ticket "
            f"(crm tickets open … --follow-up-of {ticket.id})",
            field="ticket",
        )
    now = uow.now()
    if ticket.state in ("resolved", "pending_customer"):
        _move(uow, ticket, "open", now)
    message = _add_message(
        uow,
        ticket,
        kind="reply",
        author="customer",
        body=body,
        channel=check_channel(channel) if channel else None,
        email_message_id=email_message_id,
        email_from=email_from,
        at=now,
    )
    ticket.updated_at = now
    _replied(uow, ticket, message)
    return message


def customer_message(
    uow, customer_id: int, body: str, *, channel: str, subject: str, source: str | None = None
) -> tuple[Ticket, bool]:
    """A message the customer sent on ``channel``: a reply on their newest ticket of that channel
    that is not closed, else a new ticket (the rule other plugins' channels, e.g. chat, use)."""
    channel = check_channel(channel)
    ticket = uow.session.scalar(
        select(Ticket)
        .where(
            Ticket.customer_id == int(customer_id),
            Ticket.channel == channel,
            Ticket.state != "closed",
            Ticket.merged_into_id.is_(None),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(1)
    )
    if ticket is not None:
        customer_reply(uow, ticket.id, body, channel=channel)
        return ticket, False
    return open_ticket(
        uow, int(customer_id), subject=subject, body=body, channel=channel, source=source
    ), True


def add_note(uow, ticket_id: int | str, body: str, *, agent: str) -> TicketMessage:
    """An internal note: never shown to the customer, no effect on state or SLA."""
    ticket = editable_ticket(uow, ticket_id)
    _writable(ticket, "add notes")
    body = _text(body, "body", 100_000)
    author = get_agent(uow.session, agent)
    message = _add_message(uow, ticket, kind="note", author="agent", body=body, agent=author)
    uow.audit(
        "note", "ticket", ticket.id, {"agent": author.username}, customer_id=ticket.customer_id
    )
    return message


def assign(
    uow, ticket_id: int | str, *, agent: str | None = None, team: str | None = None
) -> Ticket:
    if not agent and not team:
        raise ValidationError("give an agent or a team", field="agent")
    ticket = editable_ticket(uow, ticket_id)
    _writable(ticket, "assign")
    if ticket.state == "closed":
        raise Conflict(f"ticket #{ticket.id} is closed", field="ticket")
    before = ticket.assignee.username if ticket.assignee else None
    _assign(uow, ticket, agent=agent, team=team)
    ticket.updated_at = uow.now()
    uow.audit(
        "assign",
        "ticket",
        ticket.id,
        {"assignee": [before, ticket.assignee.username]},
        customer_id=ticket.customer_id,
    )
    notices.assigned(uow, ticket)
    return ticket


def resolve(uow, ticket_id: int | str) -> Ticket:
    ticket = editable_ticket(uow, ticket_id)
    _writable(ticket, "resolve it")
    now = uow.now()
    if ticket.state == "resolved":
        raise Conflict(f"ticket #{ticket.id} is resolved already", field="ticket")
    sla.record_resolution(uow, ticket, now)  # before the clock stops: a late resolution is a breach
    _move(uow, ticket, "resolved", now)
    return ticket


def close(uow, ticket_id: int | str) -> Ticket:
    """Close (resolving first when needed); the CSAT question is due. Plugins may take the question over."""
    ticket = editable_ticket(uow, ticket_id)
    _writable(ticket, "close it")
    now = uow.now()
    if ticket.state == "closed":
        raise Conflict(f"ticket #{ticket.id} is closed already", field="ticket")
    if ticket.state != "resolved":
        sla.record_resolution(uow, ticket, now)
    _move(uow, ticket, "closed", now)
    ticket.closed_at = now
    results = uow.emit(
        "tickets_ticket_closed",
        customer_id=ticket.customer_id,
        data={"ticket_id": ticket.id, "resolution_seconds": ticket.resolution_seconds},
        ticket=ticket,
    )
    takers = [r for r in results if isinstance(r, str) and r]
    ticket.csat_by = takers[0][:60] if takers else None
    return ticket


def set_state(uow, ticket_id: int | str, state: str) -> Ticket:
    """Move a ticket to ``state`` by hand (the web queue's columns), along the state machine above: resolving
    and closing go through :func:`resolve` and :func:`close` (resolution time, CSAT); ``new`` is never re-entered."""
    wanted = (state or "").strip().lower().replace("-", "_").replace(" ", "_")
    if wanted not in STATES:
        raise ValidationError(f"{state!r} is not a state ({', '.join(STATES)})", field="state")
    if wanted == "resolved":
        return resolve(uow, ticket_id)
    if wanted == "closed":
        return close(uow, ticket_id)
    ticket = editable_ticket(uow, ticket_id)
    _writable(ticket, "change it")
    if ticket.state == wanted:
        raise Conflict(f"ticket #{ticket.id} is {wanted} already", field="state")
    _move(uow, ticket, wanted, uow.now())
    return ticket


def check_score(score: int | str) -> int:
    try:
        value = int(to_ascii_digits(str(score)).strip())
    except ValueError:
        raise ValidationError(
            f"{score!r} is not a CSAT score (a whole number 1–5)", field="score"
        ) from None
    if not 1 <= value <= 5:
        raise ValidationError(f"a CSAT score is 1–5, not {value}", field="score")
    return value


def record_csat(
    uow, ticket_id: int | str, score: int | str, *, comment: str | None = None
) -> Ticket:
    ticket = editable_ticket(uow, ticket_id)
    value = check_score(score)
    if ticket.state != "closed" or ticket.merged_into_id is not None:
        what = f"merged into #{ticket.merged_into_id}" if ticket.merged_into_id else ticket.state
        raise Conflict(
            f"ticket #{ticket.id} is {what}; CSAT is asked after a ticket is closed", field="ticket"
        )
    if ticket.csat_by:
        raise Conflict(
            f"the CSAT question of ticket #{ticket.id} is handled by the {ticket.csat_by} plugin",
            field="ticket",
        )
    if ticket.csat_score is not None:
        raise Conflict(
            f"ticket #{ticket.id} has a CSAT score already ({ticket.csat_score})", field="ticket"
        )
    ticket.csat_score = value
    ticket.csat_comment = _text(comment, "comment", 5000, required=False) or None
    ticket.csat_at = uow.now()
    uow.audit("csat", "ticket", ticket.id, {"score": value}, customer_id=ticket.customer_id)
    uow.emit(
        "tickets_csat_recorded",
        customer_id=ticket.customer_id,
        data={"ticket_id": ticket.id, "score": value},
    )
    return ticket


def retag(
    uow, ticket_id: int | str, *, add: Iterable[str] = (), remove: Iterable[str] = ()
) -> Ticket:
    ticket = editable_ticket(uow, ticket_id)
    _writable(ticket, "tag it")
    current = {t.tag for t in ticket.tags}
    drop = {clean_tag(t) for t in remove}
    missing = drop - current
    if missing:
        raise NotFound(f"ticket #{ticket.id} has no tag {sorted(missing)[0]!r}", field="tag")
    wanted = (current - drop) | {clean_tag(t) for t in add}
    ticket.tags = [t for t in ticket.tags if t.tag in wanted] + [
        TicketTag(tag=t) for t in sorted(wanted - current)
    ]
    uow.audit("tag", "ticket", ticket.id, {"tags": sorted(wanted)}, customer_id=ticket.customer_id)
    return ticket


def merge(uow, keep_id: int | str, other_id: int | str) -> Ticket:
    """Fold a duplicate into ``keep``: its messages and tags move over, it is closed and points to ``keep``."""
    keep, other = editable_ticket(uow, keep_id), editable_ticket(uow, other_id)
    if keep.id == other.id:
        raise ValidationError("a ticket cannot be merged into itself", field="ticket")
    for t in (keep, other):
        _writable(t, "merge")
    if keep.state == "closed":
        raise Conflict(
            f"ticket #{keep.id} is closed; merge into an unclosed ticket", field="ticket"
        )
    if other.state == "closed":
        raise Conflict(
            f"ticket #{other.id} is closed already; only unclosed duplicates are merged",
            field="ticket",
        )
    if keep.customer_id != other.customer_id:
        raise Conflict(
            f"tickets #{keep.id} and #{other.id} belong to different customers "
            f"({keep.customer_id} and {other.customer_id})",
            field="ticket",
        )
    now = uow.now()
    for message in list(other.messages):
        message.ticket = keep  # re-parented, not orphaned
    current = {t.tag for t in keep.tags}
    keep.tags += [TicketTag(tag=t.tag) for t in other.tags if t.tag not in current]
    sla.stop_clock(other, now)
    other.state = "closed"
    other.closed_at = now
    other.merged_into_id = keep.id
    keep.updated_at = other.updated_at = now
    uow.session.flush()
    uow.audit("merge", "ticket", keep.id, {"merged": other.id}, customer_id=keep.customer_id)
    uow.emit(
        "tickets_ticket_merged",
        customer_id=keep.customer_id,
        data={"kept": keep.id, "merged": other.id},
    )
    return keep


def list_tickets(
    session,
    *,
    states: Iterable[str] = (),
    agent: str | None = None,
    customer_id: int | None = None,
    overdue_at: datetime | None = None,
    limit: int | None = 100,
) -> list[Ticket]:
    q = select(Ticket).order_by(Ticket.id)
    states = list(states)
    for s in states:
        if s not in STATES:
            raise ValidationError(f"{s!r} is not a state ({', '.join(STATES)})", field="state")
    if states:
        q = q.where(Ticket.state.in_(states))
    if agent:
        q = q.where(Ticket.assignee_id == get_agent(session, agent, active_only=False).id)
    if customer_id is not None:
        q = q.where(Ticket.customer_id == customer_id)
    if (
        overdue_at is not None
    ):  # breached, or past a due time while the clock runs (as tickets.backlog counts)
        running_late = Ticket.state.in_(sla.RUNNING) & (
            (Ticket.first_response_at.is_(None) & (Ticket.first_response_due_at <= overdue_at))
            | (Ticket.resolution_due_at <= overdue_at)
        )
        q = q.where(Ticket.state.in_(UNSOLVED)).where(
            running_late
            | Ticket.first_response_breached_at.is_not(None)
            | Ticket.resolution_breached_at.is_not(None)
        )
    if limit:
        q = q.limit(limit)
    return list(session.scalars(q))
