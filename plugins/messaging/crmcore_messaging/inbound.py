"""What providers tell us back: inbound SMS (opt-out keywords such as «لغو» or STOP) and delivery reports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crmcore.api import (
    Customer,
    Interaction,
    NotFound,
    ValidationError,
    normalize,
    parse_phone,
    record_interaction,
    to_ascii_digits,
)

from .models import Message, Provider
from .policy import set_consent
from .settings import get_settings

#: provider status → our status (Kavenegar's numeric codes, Twilio's words)
KAVENEGAR_STATUS = {
    "1": "sent",
    "2": "sent",
    "4": "sent",
    "5": "sent",
    "10": "delivered",
    "6": "failed",
    "11": "failed",
    "13": "failed",
    "14": "failed",
}
KAVENEGAR_TEXT = {
    "6": "failed at the operator",
    "11": "not delivered",
    "13": "cancelled",
    "14": "blocked by the recipient",
}
TWILIO_STATUS = {
    "queued": "sent",
    "accepted": "sent",
    "sending": "sent",
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
    "canceled": "failed",
}
FINAL = ("delivered", "failed")


def is_opt_out(text: str, keywords: list[str]) -> bool:
    """The whole message, or its first word (trailing digits dropped: «لغو۱۱», STOP2), is an opt-out keyword,
    in any case and Arabic/Persian letter form."""
    words = normalize(to_ascii_digits(text or "")).split()
    return bool(words) and (
        " ".join(words) in keywords or words[0].rstrip("0123456789") in keywords
    )


def handle_inbound_sms(uow, sender: str, text: str, *, provider: str = "manual") -> dict[str, Any]:
    """Record an inbound SMS on every customer with that phone; opt them out of SMS if it says so."""
    phone = parse_phone(sender, field="from")
    customers = list(
        uow.session.scalars(
            select(Customer)
            .where(
                Customer.phones.any(e164=phone.e164),
                Customer.merged_into_id.is_(None),
                Customer.forgotten_at.is_(None),
            )
            .order_by(Customer.id)
        )
    )
    opt_out = is_opt_out(text, get_settings(uow)["opt_out_keywords"])
    changed = []
    for customer in customers:
        record_interaction(
            uow,
            customer,
            kind="message",
            channel="sms",
            direction="in",
            payload={"text": text, "provider": provider, "opt_out": opt_out},
        )
        if opt_out and set_consent(
            uow, customer, "sms", False, source=f"inbound_sms:{provider}", detail=text
        ):
            changed.append(customer.id)
    return {
        "from": phone.e164,
        "customers": [c.id for c in customers],
        "opt_out": opt_out,
        "opted_out": changed,
    }


def update_delivery_status(
    uow,
    provider_kind: str,
    provider_message_id: str,
    provider_status: str,
    detail: str | None = None,
) -> dict[str, Any]:
    """Apply a delivery report; a final status (delivered, failed) is never overwritten by a later report."""
    table = (
        KAVENEGAR_STATUS
        if provider_kind == "kavenegar"
        else TWILIO_STATUS
        if provider_kind == "twilio"
        else None
    )
    if table is None:
        raise ValidationError(
            f"no delivery reports for provider kind {provider_kind!r} (kavenegar, twilio)",
            field="provider",
        )
    raw = str(provider_status).strip().lower()
    status = table.get(raw)
    if status is None:
        raise ValidationError(
            f"unknown {provider_kind} delivery status {provider_status!r}", field="status"
        )
    names = list(uow.session.scalars(select(Provider.name).where(Provider.kind == provider_kind)))
    msg = uow.session.scalar(
        select(Message).where(
            Message.provider_message_id == str(provider_message_id), Message.provider.in_(names)
        )
    )
    if msg is None:
        raise NotFound(
            f"no message sent through {provider_kind} has the id {provider_message_id!r}",
            field="message",
        )
    changed = msg.status not in FINAL and msg.status != status
    if changed:
        msg.status = status
        if status == "delivered":
            msg.delivered_at = uow.now()
        if status == "failed":
            msg.error = (
                detail or KAVENEGAR_TEXT.get(raw) or f"{provider_kind} reported {provider_status}"
            )
        _update_log(uow, msg)
    if (
        provider_kind == "kavenegar" and raw == "14"
    ):  # blocked by the recipient: the advertising blacklist
        from .delivery import withdraw_marketing

        withdraw_marketing(
            uow,
            msg.customer_id,
            source="blacklist:kavenegar:callback",
            detail=f"{msg.recipient}: {KAVENEGAR_TEXT[raw]} (message {msg.id})",
        )
    return {"message_id": msg.id, "status": msg.status, "changed": changed}


def _update_log(uow, msg: Message) -> None:
    if msg.interaction_id is None:
        return
    interaction = uow.session.get(Interaction, msg.interaction_id)
    if interaction is not None:
        interaction.payload = {**(interaction.payload or {}), "status": msg.status}
