"""The ticket queue as a paged list (the web's ``/p/tickets/queue``, and
``GET /api/p/tickets/tickets``): filters by state, priority, agent and breach, most urgent first,
and each ticket's SLA countdown in business time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
from sqlalchemy import case, func, select

from crmcore.api import ValidationError

from . import sla
from .agents import get_agent
from .models import PRIORITIES, STATES, UNSOLVED, Agent, Ticket

#: the state filter's choices beyond single states
STATE_GROUPS = {"unsolved": UNSOLVED, "all": STATES}
URGENCY = case(
    {p: i for i, p in enumerate(reversed(PRIORITIES))}, value=Ticket.priority, else_=len(PRIORITIES)
)
NEXT_DUE = case(
    (Ticket.first_response_at.is_(None), Ticket.first_response_due_at),
    else_=Ticket.resolution_due_at,
)


@attrs.frozen
class Filters:
    state: str = "unsolved"
    priority: str = ""
    agent: str = ""  # a username, "none" (unassigned) or "" (anyone)
    breached: bool = False

    @classmethod
    def read(cls, query: dict[str, Any]) -> "Filters":
        """The filters of a query string; a value that is not one of the choices is refused."""
        state = (query.get("state") or "unsolved").strip()
        if state not in STATE_GROUPS and state not in STATES:
            raise ValidationError(
                f"{state!r} is not a state ({', '.join((*STATE_GROUPS, *STATES))})", field="state"
            )
        priority = (query.get("priority") or "").strip()
        if priority and priority not in PRIORITIES:
            raise ValidationError(
                f"{priority!r} is not a priority ({', '.join(PRIORITIES)})", field="priority"
            )
        breached = str(query.get("breached") or "").strip().lower()
        if breached not in ("", "0", "1", "true", "false", "yes", "no"):
            raise ValidationError(f"breached is yes or no, not {breached!r}", field="breached")
        return cls(
            state=state,
            priority=priority,
            agent=(query.get("agent") or "").strip()[:100],
            breached=breached in ("1", "true", "yes"),
        )

    def as_query(self) -> dict[str, str]:
        out = {
            "state": self.state,
            "priority": self.priority,
            "agent": self.agent,
            "breached": "1" if self.breached else "",
        }
        return {k: v for k, v in out.items() if v}


def overdue_clause(now: datetime):
    """Breached, or past a due time while the clock runs (as ``tickets.backlog`` counts overdue)."""
    running_late = Ticket.state.in_(sla.RUNNING) & (
        (Ticket.first_response_at.is_(None) & (Ticket.first_response_due_at <= now))
        | (Ticket.resolution_due_at <= now)
    )
    return (
        running_late
        | Ticket.first_response_breached_at.is_not(None)
        | Ticket.resolution_breached_at.is_not(None)
    )


def conditions(uow, filters: Filters, now: datetime) -> list[Any]:
    from .service import readable_tickets

    where: list[Any] = [Ticket.merged_into_id.is_(None)]
    states = STATE_GROUPS.get(filters.state, (filters.state,))
    where.append(Ticket.state.in_(states))
    if filters.priority:
        where.append(Ticket.priority == filters.priority)
    if filters.agent == "none":
        where.append(Ticket.assignee_id.is_(None))
    elif filters.agent:
        where.append(
            Ticket.assignee_id == get_agent(uow.session, filters.agent, active_only=False).id
        )
    if filters.breached:
        where.append(overdue_clause(now))
    readable = readable_tickets(uow)
    if readable is not None:
        where.append(readable)
    return where


def count(uow, filters: Filters, now: datetime) -> int:
    return uow.session.scalar(
        select(func.count()).select_from(Ticket).where(*conditions(uow, filters, now))
    )


def page(uow, filters: Filters, now: datetime, *, number: int, size: int) -> list[Ticket]:
    """Page ``number`` (from 1), most urgent first: priority, then the time due next, then age."""
    q = (
        select(Ticket)
        .where(*conditions(uow, filters, now))
        .order_by(URGENCY, NEXT_DUE.is_(None), NEXT_DUE, Ticket.id)
        .offset((number - 1) * size)
        .limit(size)
    )
    return list(uow.session.scalars(q))


def agents(session) -> list[Agent]:
    return list(session.scalars(select(Agent).order_by(Agent.username)))


# --- the SLA countdown ----------------------------------------------------------------------------
@attrs.frozen
class Countdown:
    """The next SLA target of a ticket and the business time left to it (negative: overdue by)."""

    target: str  # first_response | resolution
    due_at: datetime
    seconds: int
    clock: str  # running | stopped
    tone: str  # success | warning | danger | neutral

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "due_at": self.due_at.isoformat(),
            "business_seconds_left": self.seconds,
            "clock": self.clock,
            "tone": self.tone,
        }


def countdown(
    uow, ticket: Ticket, now: datetime, calendars: dict | None = None
) -> Countdown | None:
    """How long is left, in business time, before the ticket's next target; ``None`` when it has
    none (no policy, solved, closed). Colours: danger when overdue or breached, warning within the
    policy's warning time, success otherwise; neutral while the clock is stopped."""
    if (
        ticket.sla_policy is None
        or ticket.state not in UNSOLVED
        or ticket.merged_into_id is not None
    ):
        return None
    target = "first_response" if ticket.first_response_at is None else "resolution"
    due = getattr(ticket, f"{target}_due_at")
    if due is None:
        return None
    key = ticket.sla_policy_id
    cache = calendars if calendars is not None else {}
    if key not in cache:
        cache[key] = sla.calendar_of(uow, ticket)
    cal = cache[key]
    breached = getattr(ticket, f"{target}_breached_at") is not None
    stopped = ticket.sla_paused_at is not None
    at = ticket.sla_paused_at or now
    if at >= due:
        seconds = -int(cal.between(due, at).total_seconds())
    else:
        seconds = int(cal.between(at, due).total_seconds())
    if breached or seconds <= 0:
        tone = "danger"
        seconds = min(seconds, 0)
    elif stopped:
        tone = "neutral"
    elif seconds <= ticket.sla_policy.warn_minutes * 60:
        tone = "warning"
    else:
        tone = "success"
    return Countdown(
        target=target,
        due_at=due,
        seconds=seconds,
        clock="stopped" if stopped else "running",
        tone=tone,
    )


def duration_text(seconds: int, lang: str) -> str:
    """``2 h 15 min`` / ``۲ ساعت و ۱۵ دقیقه`` (digits are localised by the renderer)."""
    minutes = abs(seconds) // 60
    hours, minutes = divmod(minutes, 60)
    if lang == "fa":
        parts = ([f"{hours} ساعت"] if hours else []) + (
            [f"{minutes} دقیقه"] if minutes or not hours else []
        )
        return " و ".join(parts)
    return " ".join(
        ([f"{hours} h"] if hours else []) + ([f"{minutes} min"] if minutes or not hours else [])
    )
