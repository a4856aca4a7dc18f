"""The ticket queue on ``crm web``: ``/boards/tickets/queue`` (``?agent=USERNAME`` for one agent's tickets), one
column per state an agent works in — new, open, pending on the customer, resolved. Cards are the most urgent
first (priority, then the SLA time due next); moving a card changes the ticket's state through
:func:`.service.set_state`, so the state machine's refusals reach the user unchanged."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, select

from crmcore.api import BoardCard, BoardColumn, BoardData, Customer, ValidationError, WebBoard

from .agents import get_agent
from .models import PRIORITIES, Ticket
from .service import readable_tickets, set_state

#: the queue's columns: state, English and Persian titles
COLUMNS = (
    ("new", "New", "جدید"),
    ("open", "Open", "باز"),
    ("pending_customer", "Waiting on the customer", "در انتظار مشتری"),
    ("resolved", "Resolved", "حل‌شده"),
)
#: cards shown per column (a busy desk's resolved column would otherwise grow without end)
CARDS_PER_COLUMN = 100

_URGENCY = case(
    {p: i for i, p in enumerate(reversed(PRIORITIES))}, value=Ticket.priority, else_=len(PRIORITIES)
)
_NEXT_DUE = case(
    (Ticket.first_response_at.is_(None), Ticket.first_response_due_at),
    else_=Ticket.resolution_due_at,
)


def _badge(ticket: Ticket, state: str) -> str | None:
    """When the card is due (unsolved) or was resolved: an ISO moment, shown in the user's calendar and zone."""
    if state == "resolved":
        moment = ticket.resolved_at
    elif state == "pending_customer":
        moment = None  # the SLA clock is stopped while the customer is asked
    else:
        moment = (
            ticket.first_response_due_at
            if ticket.first_response_at is None
            else ticket.resolution_due_at
        )
    return moment.isoformat() if moment else None


def load(uow, params: dict[str, str]) -> BoardData:
    session = uow.session
    where: list[Any] = [Ticket.merged_into_id.is_(None)]
    if params.get("agent"):
        where.append(
            Ticket.assignee_id == get_agent(session, params["agent"], active_only=False).id
        )
    readable = readable_tickets(uow)
    if readable is not None:
        where.append(readable)
    counts = dict(
        session.execute(
            select(Ticket.state, func.count()).where(*where).group_by(Ticket.state)
        ).all()
    )
    columns = []
    for state, title, title_fa in COLUMNS:
        order = (
            (Ticket.resolved_at.desc(), Ticket.id.desc())
            if state == "resolved"
            else (_URGENCY, _NEXT_DUE.is_(None), _NEXT_DUE, Ticket.id)
        )
        rows = session.execute(
            select(Ticket, Customer.display_name)
            .join(Customer, Customer.id == Ticket.customer_id)
            .where(Ticket.state == state, *where)
            .order_by(*order)
            .limit(CARDS_PER_COLUMN)
        ).all()
        total = counts.get(state, 0)
        columns.append(
            BoardColumn(
                key=state,
                title=title,
                title_fa=title_fa,
                summary=f"{len(rows)} / {total}" if total > len(rows) else None,
                cards=[
                    BoardCard(
                        id=str(t.id),
                        title=f"#{t.id} {t.subject}",
                        subtitle=name,
                        customer_id=t.customer_id,
                        badge=_badge(t, state),
                    )
                    for t, name in rows
                ],
            )
        )
    return BoardData(title="Tickets", columns=columns)


def move(uow, card: str, column: str) -> Ticket:
    """Only to the queue's columns: closing (final, asks for CSAT) stays a deliberate command."""
    if column not in {state for state, _title, _fa in COLUMNS}:
        raise ValidationError(
            f"{column!r} is not a column of the queue ({', '.join(s for s, _t, _f in COLUMNS)}); "
            f"close a ticket with: crm tickets close {card}",
            field="column",
        )
    return set_state(uow, card, column)


def boards() -> list[WebBoard]:
    return [
        WebBoard(key="queue", title="Ticket board", title_fa="تابلوی تیکت‌ها", load=load, move=move)
    ]


def dashboard_widgets(uow, user, dashboard) -> list:
    """Tickets due or breaching: the unsolved backlog, how many are past a target, and this month's
    SLA compliance (figures from ``tickets.backlog`` and ``tickets.sla``); the backlog per agent
    for managers."""
    from crmcore.api import ui

    from .reports import NONE_LABEL

    first, last = dashboard.month()
    unsolved = dashboard.stat(ui.Label("Unsolved", "حل‌نشده"), "tickets.backlog", "totals.total")
    breaching = dashboard.stat(
        ui.Label("Due or breaching", "سررسیده یا نقض‌شده"),
        "tickets.backlog",
        "totals.overdue",
        tone="danger",
    )
    sla = dashboard.stat(
        ui.Label("Resolved on time this month", "حل‌شده در موعد این ماه"),
        "tickets.sla",
        "totals.resolution_pct",
        kind="percent",
        start=first,
        end=last,
        period=dashboard.month_period,
        default=None,
    )
    items: list = [unsolved, breaching, sla]
    if user.can("manage", "tickets"):
        rows = dashboard.report("tickets.backlog")["rows"]
        if rows:
            unassigned = ui.Label("Unassigned", "بدون کارشناس")
            bars = [(unassigned if row[0] == NONE_LABEL else row[0], row[4]) for row in rows]
            items.append(
                ui.Chart(bars, title=ui.Label("Unsolved per agent", "حل‌نشده به تفکیک کارشناس"))
            )
    items.append(ui.Link(ui.Label("Open the queue", "باز کردن صف تیکت‌ها"), "/p/tickets/queue"))
    return [
        ui.Panel(
            key="tickets",
            title=ui.Label("Support tickets", "تیکت‌های پشتیبانی"),
            order=8,
            items=items,
        )
    ]
