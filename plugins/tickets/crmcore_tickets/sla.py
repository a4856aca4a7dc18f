"""SLA policies and the ticket's SLA clock: due times at opening, pauses while the clock is stopped (pending on
the customer, resolved), outcomes in business seconds, breach and warning detection."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from crmcore.api import Conflict, NotFound, ValidationError, to_ascii_digits

from . import notices
from .businesshours import BusinessCalendar, resume_due
from .calendars import business_calendar, get_calendar
from .models import PRIORITIES, BusinessCalendarRow, SlaPolicy, Ticket

RUNNING = ("new", "open")  # states in which the SLA clock runs
TARGETS = ("first_response", "resolution")
_DURATION = re.compile(r"^(?:(\d+)h)?\s*(?:(\d+)m(?:in)?)?$")


def parse_minutes(raw: str | int, field: str) -> int:
    """Business time as minutes: ``90``, ``90m``, ``2h``, ``1h30m`` (positive; business days are ambiguous)."""
    if isinstance(raw, int):
        minutes = raw
    else:
        text = to_ascii_digits(str(raw)).strip().lower().replace(" ", "")
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-")
        if re.fullmatch(r"\d+", text):
            minutes = sign * int(text)
        else:
            m = _DURATION.match(text)
            if not text or not m or not any(m.groups()):
                raise ValidationError(
                    f"{raw!r} is not a duration in business time (e.g. 90m, 2h, 1h30m)", field=field
                )
            minutes = sign * (int(m.group(1) or 0) * 60 + int(m.group(2) or 0))
    if minutes <= 0:
        raise ValidationError(
            f"the {field.replace('_', '-')} target must be a positive business time, not {raw!r}",
            field=field,
        )
    return minutes


def clean_category(category: str | None) -> str | None:
    text = " ".join((category or "").split())
    if len(text) > 100:
        raise ValidationError("the category is longer than 100 characters", field="category")
    return text or None


def check_priority(priority: str | None, *, allow_none: bool = False) -> str | None:
    if priority is None and allow_none:
        return None
    if priority not in PRIORITIES:
        raise ValidationError(
            f"{priority!r} is not a priority ({', '.join(PRIORITIES)})", field="priority"
        )
    return priority


def set_policy(
    uow,
    name: str,
    *,
    first_response: str | int,
    resolution: str | int,
    priority: str | None = None,
    category: str | None = None,
    warn_before: str | int = 60,
    calendar: str | None = None,
) -> SlaPolicy:
    """Create or replace the policy ``name`` for tickets of ``priority`` and/or ``category``."""
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise ValidationError("a policy name of 1–100 characters is required", field="name")
    priority = check_priority(priority or None, allow_none=True)
    category = clean_category(category)
    first = parse_minutes(first_response, "first_response")
    resolve = parse_minutes(resolution, "resolution")
    warn = parse_minutes(warn_before, "warn_before")
    if resolve < first:
        raise ValidationError(
            f"the resolution target ({resolve} min) is shorter than the first-response target "
            f"({first} min)",
            field="resolution",
        )
    cal = get_calendar(uow, calendar)
    session = uow.session
    clash = session.scalar(
        select(SlaPolicy).where(
            SlaPolicy.name != name,
            SlaPolicy.priority.is_(None) if priority is None else SlaPolicy.priority == priority,
            SlaPolicy.category.is_(None) if category is None else SlaPolicy.category == category,
        )
    )
    if clash is not None:
        raise Conflict(
            f"policy {clash.name!r} already covers priority={priority or 'any'}, "
            f"category={category or 'any'}",
            field="name",
        )
    policy = session.scalar(select(SlaPolicy).where(SlaPolicy.name == name))
    values = dict(
        priority=priority,
        category=category,
        first_response_minutes=first,
        resolution_minutes=resolve,
        warn_minutes=warn,
        calendar_id=cal.id,
    )
    if policy is None:
        policy = SlaPolicy(name=name, **values)
        session.add(policy)
    else:
        for k, v in values.items():
            setattr(policy, k, v)
    session.flush()
    uow.audit("set", "tickets_sla_policy", policy.id, {"name": name, **values})
    return policy


def remove_policy(uow, name: str) -> None:
    policy = uow.session.scalar(select(SlaPolicy).where(SlaPolicy.name == name))
    if policy is None:
        raise NotFound(f"no SLA policy named {name!r}", field="name")
    in_use = uow.session.scalar(select(Ticket.id).where(Ticket.sla_policy_id == policy.id).limit(1))
    if in_use is not None:
        raise Conflict(
            f"policy {name!r} measures existing tickets (e.g. #{in_use}); change its targets instead "
            f"(crm tickets sla set {name} …), which applies to new tickets",
            field="name",
        )
    uow.session.delete(policy)
    uow.audit("delete", "tickets_sla_policy", policy.id, {"name": name})


def policy_for(session, priority: str, category: str | None) -> SlaPolicy | None:
    """The most specific policy: priority and category, then priority, then category, then the fallback."""
    candidates = session.scalars(
        select(SlaPolicy).where(
            or_(SlaPolicy.priority.is_(None), SlaPolicy.priority == priority),
            or_(SlaPolicy.category.is_(None), SlaPolicy.category == category),
        )
    ).all()
    if not candidates:
        return None
    return max(candidates, key=lambda p: (p.priority is not None, p.category is not None))


def policy_to_dict(p: SlaPolicy) -> dict:
    return {
        "name": p.name,
        "priority": p.priority,
        "category": p.category,
        "first_response_minutes": p.first_response_minutes,
        "resolution_minutes": p.resolution_minutes,
        "warn_minutes": p.warn_minutes,
        "calendar": p.calendar.name,
    }


# --- the clock of one ticket -----------------------------------------------------------------------------
def calendar_of(uow, ticket: Ticket) -> BusinessCalendar:
    row = ticket.sla_policy.calendar if ticket.sla_policy is not None else get_calendar(uow)
    return business_calendar(uow, row)


def start_clock(uow, ticket: Ticket) -> None:
    policy = policy_for(uow.session, ticket.priority, ticket.category)
    ticket.sla_policy = policy
    if policy is None:
        return
    cal = business_calendar(uow, policy.calendar)
    ticket.first_response_due_at = cal.add(
        ticket.created_at, timedelta(minutes=policy.first_response_minutes)
    )
    ticket.resolution_due_at = cal.add(
        ticket.created_at, timedelta(minutes=policy.resolution_minutes)
    )


def stop_clock(ticket: Ticket, now: datetime) -> None:
    if ticket.sla_paused_at is None:
        ticket.sla_paused_at = now


def restart_clock(uow, ticket: Ticket, now: datetime) -> None:
    """Shift the open targets by the stopped time and count it as paused business time."""
    paused_at = ticket.sla_paused_at
    if paused_at is None:
        return
    cal = calendar_of(uow, ticket)
    if ticket.first_response_at is None and ticket.first_response_due_at is not None:
        ticket.first_response_due_at = resume_due(cal, ticket.first_response_due_at, paused_at, now)
    if ticket.resolution_due_at is not None:
        ticket.resolution_due_at = resume_due(cal, ticket.resolution_due_at, paused_at, now)
    ticket.paused_seconds = (ticket.paused_seconds or 0) + int(
        cal.between(paused_at, now).total_seconds()
    )
    ticket.sla_paused_at = None


def elapsed_seconds(uow, ticket: Ticket, now: datetime) -> int:
    """Business seconds the clock ran from opening to ``now`` (pauses excluded)."""
    cal = calendar_of(uow, ticket)
    running_until = ticket.sla_paused_at or now
    return int(cal.between(ticket.created_at, running_until).total_seconds()) - (
        ticket.paused_seconds or 0
    )


def _late(ticket: Ticket, due: datetime | None, now: datetime) -> bool:
    return due is not None and (ticket.sla_paused_at or now) > due


def record_first_response(uow, ticket: Ticket, now: datetime) -> None:
    if ticket.first_response_at is not None:
        return
    ticket.first_response_at = now
    ticket.first_response_seconds = elapsed_seconds(uow, ticket, now)
    if (
        _late(ticket, ticket.first_response_due_at, now)
        and ticket.first_response_breached_at is None
    ):
        breach(uow, ticket, "first_response", now)


def record_resolution(uow, ticket: Ticket, now: datetime) -> None:
    ticket.resolved_at = now
    ticket.resolution_seconds = elapsed_seconds(uow, ticket, now)
    if _late(ticket, ticket.resolution_due_at, now) and ticket.resolution_breached_at is None:
        breach(uow, ticket, "resolution", now)


def breach(uow, ticket: Ticket, target: str, now: datetime) -> None:
    due = getattr(ticket, f"{target}_due_at")
    setattr(ticket, f"{target}_breached_at", now)
    uow.emit(
        "tickets_sla_breached",
        customer_id=ticket.customer_id,
        data={
            "ticket_id": ticket.id,
            "target": target,
            "due_at": due.isoformat(),
            "assignee": ticket.assignee.username if ticket.assignee else None,
        },
        ticket=ticket,
        target=target,
        due_at=due,
    )
    notices.sla(uow, ticket, target, due, breached=True)


def check_tickets(uow, now: datetime) -> dict[str, int]:
    """Flag breaches of running tickets and warn ``warn_minutes`` of business time before a due time."""
    counts = {"breached": 0, "warned": 0, "checked": 0}
    tickets = uow.session.scalars(
        select(Ticket)
        .where(Ticket.state.in_(RUNNING), Ticket.sla_policy_id.is_not(None))
        .order_by(Ticket.id)
        .options(
            selectinload(Ticket.sla_policy)
            .selectinload(SlaPolicy.calendar)
            .selectinload(BusinessCalendarRow.holidays),
            selectinload(Ticket.assignee),
        )
    ).all()
    for ticket in tickets:
        counts["checked"] += 1
        cal = calendar_of(uow, ticket)
        warn = timedelta(minutes=ticket.sla_policy.warn_minutes)
        for target in TARGETS:
            done = ticket.first_response_at if target == "first_response" else ticket.resolved_at
            due = getattr(ticket, f"{target}_due_at")
            if (
                done is not None
                or due is None
                or getattr(ticket, f"{target}_breached_at") is not None
            ):
                continue
            if due <= now:
                breach(uow, ticket, target, now)
                counts["breached"] += 1
            elif getattr(ticket, f"{target}_warned_at") is None and cal.between(now, due) <= warn:
                setattr(ticket, f"{target}_warned_at", now)
                uow.emit(
                    "tickets_sla_warning",
                    customer_id=ticket.customer_id,
                    data={
                        "ticket_id": ticket.id,
                        "target": target,
                        "due_at": due.isoformat(),
                        "business_minutes_left": int(cal.between(now, due).total_seconds()) // 60,
                        "assignee": ticket.assignee.username if ticket.assignee else None,
                    },
                )
                notices.sla(uow, ticket, target, due, breached=False)
                counts["warned"] += 1
    return counts
