"""The messaging panel of the customer profile: consent, the last consent change, messages by status
and
the latest ones."""

from __future__ import annotations

from sqlalchemy import func, select

from crmcore.api import ui

from .models import ConsentChange, Message

L = ui.Label
CHANNELS = {
    "sms": L("SMS", "پیامک"),
    "email": L("Email", "ایمیل"),
    "sms_promo": L("Advertising SMS", "پیامک تبلیغاتی"),
}
STATUSES = {
    "queued": (L("queued", "در صف"), "neutral"),
    "sending": (L("sending", "در حال ارسال"), "info"),
    "sent": (L("sent", "ارسال شد"), "info"),
    "delivered": (L("delivered", "تحویل شد"), "success"),
    "failed": (L("failed", "ناموفق"), "danger"),
    "blocked": (L("blocked", "مسدود"), "danger"),
    "skipped": (L("skipped", "رد شد"), "warning"),
    "unknown": (L("unknown", "نامعلوم"), "neutral"),
}


def status_badge(status: str) -> ui.Badge:
    label, tone = STATUSES.get(status, (L(status), "neutral"))
    return ui.Badge(label, tone=tone)


def yes_no(granted: bool) -> ui.Badge:
    return ui.Badge(
        L("yes", "بله") if granted else L("no", "خیر"), tone="success" if granted else "neutral"
    )


def profile_section(uow, customer) -> ui.Panel:
    counts = dict(
        uow.session.execute(
            select(Message.status, func.count())
            .where(Message.customer_id == customer.id)
            .group_by(Message.status)
        ).all()
    )
    last = list(
        uow.session.scalars(
            select(Message)
            .where(Message.customer_id == customer.id)
            .order_by(Message.created_at.desc(), Message.id.desc())
            .limit(5)
        )
    )
    change = uow.session.scalar(
        select(ConsentChange)
        .where(ConsentChange.customer_id == customer.id)
        .order_by(ConsentChange.at.desc(), ConsentChange.id.desc())
        .limit(1)
    )
    data = {
        "consent": {"sms": customer.consent_sms, "email": customer.consent_email},
        "last_consent_change": None
        if change is None
        else {
            "channel": change.channel,
            "granted": change.granted,
            "source": change.source,
            "at": change.at.isoformat(),
        },
        "messages": counts,
        "recent": [
            {
                "id": m.id,
                "channel": m.channel,
                "template": m.template,
                "status": m.status,
                "at": m.created_at.isoformat(),
                "error": m.error,
            }
            for m in last
        ],
    }
    fields = [
        ui.Field(L("SMS allowed", "اجازهٔ پیامک"), yes_no(bool(customer.consent_sms))),
        ui.Field(L("Email allowed", "اجازهٔ ایمیل"), yes_no(bool(customer.consent_email))),
    ]
    if change is not None:
        channel = CHANNELS.get(change.channel, L(change.channel))
        what = (
            L(f"{channel.en} allowed", f"اجازهٔ {channel.fa}")
            if change.granted
            else L(f"{channel.en} withdrawn", f"لغو {channel.fa}")
        )
        fields.append(
            ui.Field(L("Last consent change", "آخرین تغییر رضایت"), [ui.Badge(what), change.at])
        )
    items: list = []
    if counts:
        items += [
            ui.Stat(
                L(label.en.capitalize(), label.fa),
                counts[status],
                kind="number",
                tone="danger" if tone == "danger" else "neutral",
            )
            for status, (label, tone) in STATUSES.items()
            if counts.get(status)
        ]
    items.append(ui.FieldList(fields))
    items.append(
        ui.Table(
            columns=[
                ui.Column("at", L("When", "زمان"), "moment"),
                ui.Column("channel", L("Channel", "کانال")),
                ui.Column("template", L("Template", "قالب")),
                ui.Column("status", L("Status", "وضعیت"), "badge"),
            ],
            rows=[
                {
                    "at": m.created_at,
                    "channel": CHANNELS.get(m.channel, L(m.channel)),
                    "template": m.template,
                    "status": status_badge(m.status),
                }
                for m in last
            ],
            title=L("Latest messages", "آخرین پیام‌ها"),
            empty=L("No message sent yet.", "هنوز پیامی فرستاده نشده است."),
            total=sum(counts.values()),
        )
    )
    from .chat_web import profile_items

    chat_items, data["chat"] = profile_items(uow, customer)
    items += chat_items
    return ui.Panel(
        key="messaging", title=L("Messages", "پیام‌ها"), order=60, items=items, data=data
    )


def message_details(interaction) -> ui.Label | None:
    """A message messaging sent, in the customer's history and timeline
    (``crm_interaction_details``): its delivery status now (receipts update it) and its start;
    ``None`` for any other interaction."""
    from .web import STATUS_LABELS

    payload = interaction.payload if isinstance(interaction.payload, dict) else {}
    if interaction.kind != "message" or "message_id" not in payload:
        return None
    status = payload.get("status") or "unknown"
    word = STATUS_LABELS.get(status, (ui.Label(status, status), "neutral"))[0]
    preview = " ".join(str(payload.get("subject") or payload.get("preview") or "").split())
    if not preview:
        return word
    if len(preview) > 80:
        preview = preview[:79] + "…"
    return ui.Label(f"{word.en} · {preview}", f"{word.fa} · {preview}")
