"""Interactions: purchases, refunds, calls, messages, visits, notes, and kinds plugins register."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import and_, or_, select

from ..domain.dates import FUTURE_MARGIN, check_moment, parse_datetime
from ..domain.money import Money, parse_money
from ..domain.text import check_text, find_control
from ..errors import Conflict, NotFound, ValidationError
from ..storage.models import Customer, Interaction

DIRECTIONS = ("in", "out")
MONEY_KINDS = ("purchase", "refund")


@attrs.frozen
class PreparedInteraction:
    kind: str
    occurred_at: datetime
    channel: str | None = None
    direction: str | None = None
    money: Money | None = None
    external_id: str | None = None
    related_id: int | None = None
    payload: dict[str, Any] = attrs.field(factory=dict)


def interaction_kinds(uow) -> set[str]:
    cached = uow.cache.get("kernel.kinds")
    if cached is None:
        cached = set()
        for group in uow.call("crm_interaction_kinds"):
            cached.update(group or ())
        uow.cache["kernel.kinds"] = cached
    return cached


def prepare_interaction(
    *,
    kind: str,
    now: datetime,
    tz: str,
    occurred_at: str | datetime | None = None,
    channel: str | None = None,
    direction: str | None = None,
    amount: str | None = None,
    currency: str | None = None,
    external_id: str | None = None,
    related_id: int | None = None,
    payload: dict[str, Any] | None = None,
    unit: str | None = None,
    margin: timedelta = FUTURE_MARGIN,
) -> PreparedInteraction:
    """Validate and normalise an interaction's fields; raise :class:`ValidationError` naming the
    first bad one. ``occurred_at`` may be at most ``margin`` after ``now`` (the application's
    ``future_margin``)."""
    kind = (kind or "").strip().lower()
    if not kind:
        raise ValidationError("a kind is required", field="kind")
    if occurred_at in (None, ""):
        at = now
    else:
        at = check_moment(
            parse_datetime(occurred_at, tz=tz, field="occurred_at"), now, tz=tz, margin=margin
        )
    if channel:
        check_text(channel, "channel")
    if direction not in (None, "") and direction not in DIRECTIONS:
        raise ValidationError(f"{direction!r} is not a direction (in or out)", field="direction")
    money = None
    if amount not in (None, ""):
        money = parse_money(amount, currency or "IRR", unit=unit)
        if money.minor < 0:
            raise ValidationError("amounts are positive; a refund is its own kind", field="amount")
    elif currency:
        raise ValidationError("a currency was given without an amount", field="amount")
    if kind in MONEY_KINDS and money is None:
        raise ValidationError(f"a {kind} needs an amount", field="amount")
    ext = None
    if external_id is not None:
        ext = check_text(str(external_id), "external_id").strip() or None
    if payload is not None and not isinstance(payload, dict):
        raise ValidationError("the payload must be a JSON object", field="payload")
    if payload:
        _check_payload(payload, "payload")
    return PreparedInteraction(
        kind=kind,
        occurred_at=at,
        channel=(channel or None),
        direction=direction or None,
        money=money,
        external_id=ext,
        related_id=related_id,
        payload=dict(payload or {}),
    )


def _check_payload(value: Any, field: str) -> None:
    """Every text in a payload, keys included, through :func:`check_text` (field
    ``payload.KEY``)."""
    if isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if find_control(key):
                check_text(key, field)
            if type(item) is str:
                if find_control(item):
                    check_text(item, f"{field}.{key}")
            elif isinstance(item, (str, dict, list)):
                _check_payload(item, f"{field}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_payload(item, f"{field}[{i}]")
    elif isinstance(value, str):
        check_text(value, field)


def record_interaction(
    uow, customer: Customer, prepared: PreparedInteraction | None = None, **fields: Any
) -> Interaction:
    """Store an interaction and announce it (``crm_interaction_recorded``). A duplicate (kind,
    external id) is
    refused with :class:`Conflict`."""
    p = prepared or prepare_interaction(
        now=uow.now(), tz=uow.app.timezone, margin=uow.app.future_margin, **fields
    )
    if p.kind not in interaction_kinds(uow):
        raise ValidationError(
            f"unknown interaction kind {p.kind!r} (known: {', '.join(sorted(interaction_kinds(uow)))})",
            field="kind",
        )
    if not customer.active:
        raise Conflict(
            f"customer {customer.id} is {'merged' if customer.merged_into_id else 'forgotten'}"
        )
    session = uow.session
    if p.external_id is not None:
        existing = session.scalar(
            select(Interaction.id).where(
                Interaction.kind == p.kind, Interaction.external_id == p.external_id
            )
        )
        if existing is not None:
            raise Conflict(
                f"a {p.kind} with external id {p.external_id!r} is already recorded (interaction {existing})",
                field="external_id",
            )
    if p.related_id is not None:
        related = session.get(Interaction, p.related_id)
        if related is None:
            raise NotFound(f"no interaction with id {p.related_id}", field="related")
        if p.kind == "refund":
            if related.kind != "purchase":
                raise ValidationError(
                    f"interaction {p.related_id} is a {related.kind}, not a purchase",
                    field="related",
                )
            if related.customer_id != customer.id:
                raise ValidationError(
                    f"purchase {p.related_id} belongs to another customer", field="related"
                )
            if p.money and related.currency != p.money.currency:
                raise ValidationError(
                    "a refund must be in the purchase's currency", field="currency"
                )
    interaction = Interaction(
        customer_id=customer.id,
        kind=p.kind,
        channel=p.channel,
        direction=p.direction,
        occurred_at=p.occurred_at,
        amount_minor=p.money.minor if p.money else None,
        currency=p.money.currency if p.money else None,
        external_id=p.external_id,
        related_id=p.related_id,
        payload=p.payload,
        recorded_at=uow.now(),
        recorded_by=uow.actor,
    )
    session.add(interaction)
    session.flush()
    uow.emit(
        "crm_interaction_recorded",
        customer_id=customer.id,
        data=interaction_to_dict(interaction),
        interaction=interaction,
        customer=customer,
    )
    return interaction


def list_interactions(
    session,
    customer_id: int,
    *,
    kind: str | None = None,
    limit: int | None = None,
    after: tuple[datetime, int] | None = None,
) -> list[Interaction]:
    """A customer's interactions, newest first; ``after`` = ``(occurred_at, id)`` of the last one
    already seen (the API's cursor) gives the older ones."""
    q = select(Interaction).where(Interaction.customer_id == customer_id)
    if kind:
        q = q.where(Interaction.kind == kind)
    if after is not None:
        q = q.where(
            or_(
                Interaction.occurred_at < after[0],
                and_(Interaction.occurred_at == after[0], Interaction.id < after[1]),
            )
        )
    q = q.order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
    if limit:
        q = q.limit(limit)
    return list(session.scalars(q))


def interaction_to_dict(
    i: Interaction, *, calendar: str = "gregorian", tz: str | None = None
) -> dict[str, Any]:
    data = {
        "id": i.id,
        "customer_id": i.customer_id,
        "kind": i.kind,
        "channel": i.channel,
        "direction": i.direction,
        "occurred_at": i.occurred_at.isoformat(),
        "amount": str(i.money.amount) if i.money else None,
        "currency": i.currency,
        "external_id": i.external_id,
        "related_id": i.related_id,
        "payload": i.payload or {},
    }
    if calendar == "jalali":
        from ..domain.dates import DEFAULT_TIMEZONE, format_datetime

        data["occurred_at_local"] = format_datetime(
            i.occurred_at, "jalali", tz=tz or DEFAULT_TIMEZONE
        )
    return data


#: interaction kinds and channels as a reader names them (others are shown as written)
KIND_LABELS = {
    "purchase": ("purchase", "خرید"),
    "refund": ("refund", "مرجوعی"),
    "call": ("call", "تماس"),
    "message": ("message", "پیام"),
    "note": ("note", "یادداشت"),
    "visit": ("visit", "مراجعه"),
    "survey_answer": ("survey answer", "پاسخ نظرسنجی"),
    "email": ("email", "ایمیل"),
    "meeting": ("meeting", "جلسه"),
    "ticket": ("ticket", "تیکت"),
}
CHANNEL_LABELS = {
    "web": ("web", "وب"),
    "store": ("store", "فروشگاه"),
    "phone": ("phone", "تلفن"),
    "sms": ("SMS", "پیامک"),
    "email": ("email", "ایمیل"),
    "pos": ("POS", "صندوق"),
    "app": ("app", "اپ"),
    "whatsapp": ("WhatsApp", "واتس‌اپ"),
    "telegram": ("Telegram", "تلگرام"),
    "instagram": ("Instagram", "اینستاگرام"),
    "import": ("import", "ورود فایل"),
}


def kind_label(kind: str):
    """The :class:`crmcore.ui.Label` of an interaction kind."""
    from ..ui import Label

    en, fa = KIND_LABELS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))
    return Label(en, fa)


def channel_label(channel: str | None):
    from ..ui import Label

    if not channel:
        return None
    en, fa = CHANNEL_LABELS.get(channel, (channel, channel))
    return Label(en, fa)


def interaction_details(uow, interactions) -> dict[int, Any]:
    """``{interaction id: Label or str}``: what the plugins say about each
    (``crm_interaction_details``), else the payload's ``text``."""
    found: dict[int, Any] = {}
    for i in interactions:
        said = [d for d in uow.call("crm_interaction_details", interaction=i) if d]
        text = (i.payload or {}).get("text") if isinstance(i.payload, dict) else None
        if said or text:
            found[i.id] = said[0] if said else text
    return found


def interactions_table(interactions, *, title=None, details: dict[int, Any] | None = None):
    """Recent interactions as a :class:`crmcore.ui.Table` (the customer page and ``crm customers
    show``); ``details`` from :func:`interaction_details`."""
    from ..ui import Badge, Column, Label, Table

    return Table(
        columns=[
            Column("at", Label("When", "زمان"), "moment"),
            Column("kind", Label("Kind", "نوع"), "badge"),
            Column("channel", Label("Channel", "کانال")),
            Column("amount", Label("Amount", "مبلغ"), "money"),
            Column("details", Label("Details", "جزئیات")),
        ],
        rows=[
            {
                "at": i.occurred_at,
                "kind": Badge(kind_label(i.kind)),
                "channel": channel_label(i.channel),
                "amount": i.money,
                "details": details.get(i.id)
                if details is not None
                else ((i.payload or {}).get("text") if isinstance(i.payload, dict) else None),
            }
            for i in interactions
        ],
        title=title,
        empty=Label("Nothing recorded yet.", "هنوز چیزی ثبت نشده است."),
    )
