"""``crm tickets …``: open, reply, note, assign, resolve, close, csat, tag, merge, show, list.

Configuration commands (agents, teams, calendars, SLA policies, email import) live in :mod:`.cli_admin`.
"""

from __future__ import annotations

import click

from crmcore.api import echo_json, get_app

from .models import CHANNELS, PRIORITIES, STATES


@click.group()
def tickets():
    """Support tickets with SLA on business hours; CSAT after close.

    \b
    States: new → open ⇄ pending_customer → resolved → closed.
    A customer's reply reopens a resolved ticket; closed tickets are final
    (replies are refused; incoming email opens a linked follow-up ticket).
    """


def _show(ticket, as_json: bool, *, messages: bool = False) -> None:
    from crmcore.api import format_datetime

    from .views import delivery_line, ticket_line, ticket_to_dict

    app = get_app()
    if as_json:
        echo_json(ticket_to_dict(ticket, messages=messages))
        return
    if not messages:
        click.echo(ticket_line(ticket, app.calendar, app.timezone))
        return
    d = ticket_to_dict(ticket)
    when = lambda v: format_datetime(v, app.calendar, tz=app.timezone) if v else "-"  # noqa: E731
    click.echo(f"#{ticket.id} {ticket.subject}")
    click.echo(
        f"  customer {ticket.customer_id} · {ticket.channel} · {ticket.priority} · {ticket.state}"
        f" · assignee {d['assignee'] or '-'} · tags {', '.join(d['tags']) or '-'}"
    )
    click.echo(
        f"  opened {when(ticket.created_at)} · SLA {d['sla']['policy'] or 'none'}"
        f" · first response due {when(ticket.first_response_due_at)}"
        f" ({'done ' + when(ticket.first_response_at) if ticket.first_response_at else 'pending'})"
        f"{' BREACHED' if d['sla']['first_response_breached'] else ''}"
        f" · resolution due {when(ticket.resolution_due_at)}"
        f"{' BREACHED' if d['sla']['resolution_breached'] else ''}"
    )
    if ticket.csat_score:
        click.echo(f"  CSAT {ticket.csat_score}/5 {ticket.csat_comment or ''}".rstrip())
    for m in sorted(ticket.messages, key=lambda m: (m.created_at, m.id)):
        who = m.agent.username if m.agent else m.author
        label = "note" if m.kind == "note" else "reply"
        click.echo(f"  [{when(m.created_at)}] {who} ({label}): {m.body}")
        if m.delivery_channel:
            click.echo(f"      {delivery_line(m)}")


@tickets.command("open")
@click.argument("customer")
@click.option("--subject", required=True)
@click.option("--body", help="The customer's request (first message).")
@click.option("--channel", default="phone", show_default=True, help=", ".join(CHANNELS))
@click.option("--priority", default="normal", show_default=True, help=", ".join(PRIORITIES))
@click.option("--category")
@click.option("--tag", "tags", multiple=True)
@click.option("--agent", help="Assign to this agent (username).")
@click.option("--team", help="Assign within this team (its round-robin or least-loaded rule).")
@click.option("--follow-up-of", type=int, help="The closed ticket this one follows up.")
@click.option(
    "--at",
    "at",
    help="When the customer asked, if in the past (importing old "
    "tickets): ISO 8601 or Jalali '1403-07-15 14:30', local time unless an offset is "
    "given. SLA targets count from it.",
)
@click.option("--json", "as_json", is_flag=True)
def open_cmd(
    customer,
    subject,
    body,
    channel,
    priority,
    category,
    tags,
    agent,
    team,
    follow_up_of,
    at,
    as_json,
):
    """Open a ticket for CUSTOMER (id, external id, phone or email); prints the ticket number."""
    from crmcore.api import parse_datetime, resolve_customer

    from .service import open_ticket

    app = get_app()
    with app.unit_of_work() as uow:
        c = resolve_customer(uow.session, customer)
        moment = parse_datetime(at, tz=app.timezone, field="at") if at else None
        t = open_ticket(
            uow,
            c,
            subject=subject,
            body=body,
            channel=channel,
            priority=priority,
            category=category,
            tags=tags,
            agent=agent,
            team=team,
            follow_up_of=follow_up_of,
            at=moment,
        )
        if as_json:
            _show(t, as_json)
        else:
            click.echo(t.id)


@tickets.command("reply")
@click.argument("ticket")
@click.option("--body", required=True)
@click.option("--agent", help="The replying agent (username).")
@click.option(
    "--customer",
    "from_customer",
    is_flag=True,
    help="The reply is the customer's (phone, counter…).",
)
@click.option(
    "--pending", is_flag=True, help="Wait for the customer: the SLA clock stops until they answer."
)
@click.option("--json", "as_json", is_flag=True)
def reply(ticket, body, agent, from_customer, pending, as_json):
    """Add a public reply. An agent's first reply is the first response."""
    from .service import agent_reply, customer_reply, get_ticket

    if bool(agent) == from_customer:
        raise click.UsageError("give exactly one of --agent NAME or --customer")
    if pending and from_customer:
        raise click.UsageError("--pending is for an agent's reply")
    app = get_app()
    with app.unit_of_work() as uow:
        if from_customer:
            message_id = customer_reply(uow, ticket, body).id
        else:
            message_id = agent_reply(uow, ticket, body, agent=agent, pending=pending).id
        _show(get_ticket(uow.session, ticket), as_json)
    if not as_json and not from_customer:  # sent right after the commit: say how it went
        from .models import TicketMessage
        from .views import delivery_line

        with app.unit_of_work(readonly=True) as uow:
            line = delivery_line(uow.session.get(TicketMessage, message_id))
        if line:
            click.echo(f"  reply {line}")


@tickets.command("note")
@click.argument("ticket")
@click.option("--body", required=True)
@click.option("--agent", required=True)
def note(ticket, body, agent):
    """Add an internal note (never shown to the customer; no effect on state or SLA)."""
    from .service import add_note

    with get_app().unit_of_work() as uow:
        add_note(uow, ticket, body, agent=agent)


@tickets.command("assign")
@click.argument("ticket")
@click.option("--agent")
@click.option("--team")
@click.option("--json", "as_json", is_flag=True)
def assign_cmd(ticket, agent, team, as_json):
    """Assign to an agent, or let a team's rule pick one (round-robin or least-loaded)."""
    from .service import assign

    with get_app().unit_of_work() as uow:
        _show(assign(uow, ticket, agent=agent, team=team), as_json)


@tickets.command("resolve")
@click.argument("ticket")
@click.option("--json", "as_json", is_flag=True)
def resolve_cmd(ticket, as_json):
    """Mark solved (the SLA clock stops; a customer reply reopens it)."""
    from .service import resolve

    with get_app().unit_of_work() as uow:
        _show(resolve(uow, ticket), as_json)


@tickets.command("close")
@click.argument("ticket")
@click.option("--json", "as_json", is_flag=True)
def close_cmd(ticket, as_json):
    """Close (final). The CSAT question is due: record it with `crm tickets csat`."""
    from .service import close

    with get_app().unit_of_work() as uow:
        _show(close(uow, ticket), as_json)


@tickets.command("csat")
@click.argument("ticket")
@click.argument("score")
@click.option("--comment")
def csat(ticket, score, comment):
    """Record the customer's satisfaction (1–5) with a closed ticket."""
    from .service import record_csat

    with get_app().unit_of_work() as uow:
        record_csat(uow, ticket, score, comment=comment)


@tickets.command("tag")
@click.argument("ticket")
@click.option("--add", "add", multiple=True)
@click.option("--remove", "remove", multiple=True)
@click.option("--json", "as_json", is_flag=True)
def tag(ticket, add, remove, as_json):
    """Add or remove tags."""
    from .service import retag

    with get_app().unit_of_work() as uow:
        _show(retag(uow, ticket, add=add, remove=remove), as_json)


@tickets.command("merge")
@click.argument("keep")
@click.argument("duplicate")
def merge_cmd(keep, duplicate):
    """Merge DUPLICATE into KEEP (same customer): messages and tags move, the duplicate is closed."""
    from .service import merge

    with get_app().unit_of_work() as uow:
        merge(uow, keep, duplicate)
        click.echo(f"#{duplicate} merged into #{keep}")


@tickets.command("show")
@click.argument("ticket")
@click.option("--json", "as_json", is_flag=True)
def show(ticket, as_json):
    """A ticket with its SLA, CSAT and conversation (notes included)."""
    from .service import get_ticket

    with get_app().unit_of_work(readonly=True) as uow:
        _show(get_ticket(uow.session, ticket), as_json, messages=True)


@tickets.command("list")
@click.option("--state", "states", multiple=True, help=", ".join(STATES))
@click.option("--agent")
@click.option("--customer")
@click.option("--overdue", is_flag=True, help="Unsolved tickets past a due time.")
@click.option("--limit", type=int, default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_cmd(states, agent, customer, overdue, limit, as_json):
    """Tickets, oldest first."""
    from crmcore.api import resolve_customer

    from .service import list_tickets
    from .views import ticket_line, ticket_to_dict

    app = get_app()
    with app.unit_of_work(readonly=True) as uow:
        cid = resolve_customer(uow.session, customer).id if customer else None
        rows = list_tickets(
            uow.session,
            states=states,
            agent=agent,
            customer_id=cid,
            overdue_at=uow.now() if overdue else None,
            limit=limit,
        )
        if as_json:
            echo_json([ticket_to_dict(t) for t in rows])
            return
        for t in rows:
            click.echo(ticket_line(t, app.calendar, app.timezone))


def _register() -> None:
    from .cli_admin import agent, calendar, email, sla, team

    for group in (agent, team, calendar, sla, email):
        tickets.add_command(group)


_register()
