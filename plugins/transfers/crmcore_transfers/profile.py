"""The transfers part of the customer profile: sent and received this period, the allowance left
under each
limit, pending transfers both ways, and the member's family group."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import Conflict, ui

from .limits import allowance, used
from .models import Family, Transfer
from .periods import period_of

L = ui.Label
PERIODS = {
    "day": ("today", "امروز"),
    "week": ("this week", "این هفته"),
    "month": ("this month", "این ماه"),
    "year": ("this year", "امسال"),
}
DIRECTIONS = {"sent": ("Sent", "ارسال"), "received": ("Received", "دریافت")}
ROLES = {"owner": L("owner", "سرپرست"), "member": L("member", "عضو")}


def profile_section(uow, customer) -> ui.Panel | None:
    from .family import membership
    from .service import active_policy, policy_calendar

    involved = uow.session.scalar(
        select(func.count())
        .select_from(Transfer)
        .where((Transfer.sender_id == customer.id) | (Transfer.recipient_id == customer.id))
    )
    member = membership(uow, customer.id)
    try:
        policy = active_policy(uow)
    except Conflict:
        policy = None
    if not involved and member is None and policy is None:
        return None
    now = uow.now()
    data: dict = {"enabled": policy is not None}
    if policy is not None:
        calendar = policy_calendar(uow, policy)
        month = period_of(now, "month", calendar, uow.app.timezone)
        sent, received = (
            used(uow, customer.id, d, month.start, month.end) for d in ("sent", "received")
        )
        data |= {
            "period": month.label,
            "calendar": calendar,
            "sent": {"count": sent[0], "points": sent[1]},
            "received": {"count": received[0], "points": received[1]},
            "allowance": allowance(uow, policy, calendar, customer.id, now),
        }
    pending = uow.session.execute(
        select(
            Transfer.id,
            Transfer.sender_id,
            Transfer.recipient_id,
            Transfer.points,
            Transfer.respond_by,
        )
        .where(
            Transfer.status == "pending",
            (Transfer.sender_id == customer.id) | (Transfer.recipient_id == customer.id),
        )
        .order_by(Transfer.id)
    ).all()
    data["pending"] = [
        {
            "id": t.id,
            "direction": "out" if t.sender_id == customer.id else "in",
            "other": t.recipient_id if t.sender_id == customer.id else t.sender_id,
            "points": t.points,
            "respond_by": t.respond_by.isoformat() if t.respond_by else None,
        }
        for t in pending
    ]
    data["family"] = (
        None
        if member is None
        else {
            "id": member.family_id,
            "name": uow.session.get(Family, member.family_id).name,
            "role": member.role,
            "joined_at": member.joined_at.isoformat(),
        }
    )
    return ui.Panel(
        key="transfers",
        title=L("Point transfers", "انتقال امتیاز"),
        order=45,
        data=data,
        items=_items(data, pending, customer.id),
    )


def _items(data: dict, pending, customer_id: int) -> list:
    items: list = []
    if not data["enabled"]:
        items.append(ui.Badge(L("Transfers are off", "انتقال امتیاز غیرفعال است")))
    else:
        sent, received = data["sent"]["count"], data["received"]["count"]
        items += [
            ui.Stat(
                L("Points sent this month", "امتیاز ارسالی این ماه"),
                data["sent"]["points"],
                kind="number",
                hint=L(f"{sent:,} transfers", f"{sent:,} انتقال".replace(",", "\u066c")),
            ),
            ui.Stat(
                L("Points received this month", "امتیاز دریافتی این ماه"),
                data["received"]["points"],
                kind="number",
                hint=L(f"{received:,} transfers", f"{received:,} انتقال".replace(",", "\u066c")),
            ),
        ]
        for limit in data["allowance"]:
            en_dir, fa_dir = DIRECTIONS.get(
                limit["direction"], (limit["direction"], limit["direction"])
            )
            en_per, fa_per = PERIODS.get(limit["period"], (limit["period"], limit["period"]))
            if limit["max_points"] is not None:
                items.append(
                    ui.Progress(
                        L(f"{en_dir} {en_per} (points)", f"{fa_dir} {fa_per} (امتیاز)"),
                        limit["points"],
                        limit["max_points"],
                    )
                )
            if limit["max_count"] is not None:
                items.append(
                    ui.Progress(
                        L(f"{en_dir} {en_per} (transfers)", f"{fa_dir} {fa_per} (دفعه)"),
                        limit["count"],
                        limit["max_count"],
                    )
                )
    if pending:
        items.append(
            ui.Table(
                columns=[
                    ui.Column("direction", L("Direction", "جهت"), "badge"),
                    ui.Column("other", L("With", "طرف دیگر"), "link"),
                    ui.Column("points", L("Points", "امتیاز"), "number"),
                    ui.Column("respond_by", L("Answer by", "مهلت پاسخ"), "moment"),
                ],
                rows=[
                    {
                        "direction": ui.Badge(
                            L("outgoing", "ارسالی")
                            if t.sender_id == customer_id
                            else L("incoming", "دریافتی"),
                            tone="info",
                        ),
                        "other": ui.Link(f"#{other}", f"/customers/{other}"),
                        "points": t.points,
                        "respond_by": t.respond_by,
                    }
                    for t in pending
                    for other in [t.recipient_id if t.sender_id == customer_id else t.sender_id]
                ],
                title=L("Waiting for an answer", "در انتظار پاسخ"),
            )
        )
    family = data["family"]
    if family is not None:
        items.append(
            ui.FieldList(
                [
                    ui.Field(L("Family group", "گروه خانوادگی"), family["name"]),
                    ui.Field(L("Role", "نقش"), ROLES.get(family["role"], L(family["role"]))),
                ]
            )
        )
    return items
