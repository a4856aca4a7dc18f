"""The support panel of the customer profile: unsolved tickets with their next SLA deadline, and the
last
satisfaction score."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import ui

from .models import UNSOLVED, Ticket

L = ui.Label
STATES = {
    "new": (L("new", "جدید"), "info"),
    "open": (L("open", "باز"), "warning"),
    "pending_customer": (L("waiting for customer", "در انتظار مشتری"), "neutral"),
    "resolved": (L("resolved", "حل‌شده"), "success"),
    "closed": (L("closed", "بسته"), "neutral"),
}
PRIORITIES = {
    "low": (L("low", "کم"), "neutral"),
    "normal": (L("normal", "عادی"), "neutral"),
    "high": (L("high", "زیاد"), "warning"),
    "urgent": (L("urgent", "فوری"), "danger"),
}


def badge(table: dict, value: str) -> ui.Badge:
    label, tone = table.get(value, (L(value), "neutral"))
    return ui.Badge(label, tone=tone)


def profile_section(uow, customer) -> ui.Panel | None:
    session = uow.session
    total = session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.customer_id == customer.id)
    )
    if not total:
        return None
    unsolved = session.scalars(
        select(Ticket)
        .where(Ticket.customer_id == customer.id, Ticket.state.in_(UNSOLVED))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(5)
    ).all()
    count = session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.customer_id == customer.id, Ticket.state.in_(UNSOLVED))
    )
    last_csat = session.scalars(
        select(Ticket)
        .where(Ticket.customer_id == customer.id, Ticket.csat_score.is_not(None))
        .order_by(Ticket.csat_at.desc(), Ticket.id.desc())
        .limit(1)
    ).first()
    data = {
        "open_count": count,
        "total": total,
        "open": [
            {
                "id": t.id,
                "subject": t.subject,
                "state": t.state,
                "priority": t.priority,
                "assignee": t.assignee.username if t.assignee else None,
                "due_at": _iso(_next_due(t)),
            }
            for t in unsolved
        ],
        "last_csat": None
        if last_csat is None
        else {
            "ticket_id": last_csat.id,
            "score": last_csat.csat_score,
            "at": last_csat.csat_at.isoformat(),
        },
    }
    items: list = [
        ui.Stat(
            L("Unsolved", "حل‌نشده"), count, kind="number", tone="warning" if count else "neutral"
        ),
        ui.Stat(L("All tickets", "همهٔ تیکت‌ها"), total, kind="number"),
    ]
    if last_csat is not None:
        items.append(
            ui.Stat(
                L("Last satisfaction score", "آخرین امتیاز رضایت"),
                last_csat.csat_score,
                kind="number",
                hint=L(f"of 5, ticket #{last_csat.id}", f"از ۵، تیکت #{last_csat.id}"),
            )
        )
    items.append(
        ui.Table(
            columns=[
                ui.Column("id", L("No.", "شماره"), "number"),
                ui.Column("subject", L("Subject", "موضوع")),
                ui.Column("state", L("State", "وضعیت"), "badge"),
                ui.Column("priority", L("Priority", "اولویت"), "badge"),
                ui.Column("assignee", L("Assignee", "مسئول")),
                ui.Column("due", L("Next deadline", "مهلت بعدی"), "moment"),
            ],
            rows=[
                {
                    "id": t.id,
                    "subject": t.subject,
                    "state": badge(STATES, t.state),
                    "priority": badge(PRIORITIES, t.priority),
                    "assignee": t.assignee.username if t.assignee else None,
                    "due": _next_due(t),
                }
                for t in unsolved
            ],
            title=L("Unsolved tickets", "تیکت‌های حل‌نشده"),
            total=count,
            empty=L("No unsolved ticket.", "تیکت حل‌نشده‌ای نیست."),
        )
    )
    return ui.Panel(
        key="tickets",
        title=L("Support tickets", "تیکت‌های پشتیبانی"),
        order=60,
        items=items,
        data=data,
    )


def _next_due(t):
    """The next due time while the SLA clock runs (None when it is stopped or there is no
    policy)."""
    due = t.first_response_due_at if t.first_response_at is None else t.resolution_due_at
    return due if due is not None and t.sla_paused_at is None else None


def _iso(moment):
    return moment.isoformat() if moment is not None else None
