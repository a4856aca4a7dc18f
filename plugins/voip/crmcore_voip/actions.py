"""What a person does with calls, from the CLI and the web alike: mark a missed call's follow-up
done (the caller was called back) and click-to-call (ring the agent's extension, then the
customer)."""

from __future__ import annotations

import asyncio

from crmcore.api import Conflict, NotFound, Phone, ValidationError, check_customer

from .config import VoipConfig
from .models import FollowUp
from .numbers import normalize_caller


def mark_follow_up_done(uow, follow_up_id: int) -> FollowUp:
    """Close an open follow-up voip keeps (those handed to tasks or tickets are closed there)."""
    f = uow.session.get(FollowUp, follow_up_id)
    if f is None:
        raise NotFound(f"no follow-up with id {follow_up_id}", field="follow_up")
    if f.customer_id is not None:
        from crmcore.api import get_customer

        check_customer(uow, get_customer(uow.session, f.customer_id), "read")
    if f.status == "done":
        raise Conflict(
            f"follow-up {follow_up_id} is already done (by {f.done_by})", field="follow_up"
        )
    if f.via != "voip":
        raise Conflict(
            f"follow-up {follow_up_id} was handed to {f.via} ({f.reference}); close it there",
            field="follow_up",
        )
    f.status, f.done_at, f.done_by = "done", uow.now(), uow.actor
    uow.audit(
        "done", "voip_follow_up", f.id, {"status": ["open", "done"]}, customer_id=f.customer_id
    )
    return f


def telephony_configured(cfg: VoipConfig) -> bool:
    """Click-to-call needs the PBX's manager login (AMI)."""
    return bool(cfg.ami_username and cfg.ami_secret)


def call_target(cfg: VoipConfig, customer, number: str | None) -> tuple[str, str]:
    """``(E.164, digits to dial)`` of ``number`` (one of the customer's) or of their first phone."""
    phones = [p.e164 for p in customer.phones]
    if number:
        target = normalize_caller(number, cfg).e164
        if target is None or target not in phones:
            raise ValidationError(
                f"{number!r} is not one of {customer.display_name}'s numbers "
                f"({', '.join(phones) or 'none'})",
                field="number",
            )
    elif not phones:
        raise ValidationError(
            f"customer {customer.display_name} has no phone number", field="number"
        )
    else:
        target = phones[0]
    # Iranian numbers as dialled inside Iran (09121234567), others with the international prefix
    if target.startswith("+98"):
        dial = Phone(target).national().replace(" ", "")
    else:
        dial = "00" + target[1:]
    return target, dial


def click_to_call(cfg: VoipConfig, *, extension: str | None, customer, number: str | None) -> dict:
    """Ring ``extension``, then dial the customer (AMI Originate); the PBX's answer."""
    from .adapters.ami_client import AMIError, originate

    if not telephony_configured(cfg):
        raise ValidationError(
            "AMI username and secret are needed (--username/--secret or "
            "CRM_VOIP_AMI_USERNAME and CRM_VOIP_AMI_SECRET)",
            field="secret",
        )
    if not extension:
        raise ValidationError(
            "no extension to ring first: give your user one "
            "(crm users update USER --extension 101)",
            field="extension",
        )
    if not extension.isdigit():
        raise ValidationError(f"extension {extension!r} is not digits", field="extension")
    target, dial = call_target(cfg, customer, number)
    try:
        reply = asyncio.run(
            originate(
                cfg.ami_host,
                cfg.ami_port,
                cfg.ami_username,
                cfg.ami_secret,
                channel=cfg.ami_channel.format(extension=extension),
                exten=dial,
                context=cfg.ami_context,
                caller_id=f"{customer.display_name} <{dial}>",
            )
        )
    except AMIError as exc:
        raise Conflict(f"the PBX refused the call: {exc}", field="number") from None
    return {
        "extension": extension,
        "number": target,
        "dial": dial,
        "message": reply.get("Message") or "queued",
    }
