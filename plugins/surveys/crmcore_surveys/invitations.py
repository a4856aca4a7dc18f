"""Invitations: who may be invited (consent, fatigue window, sampling), unguessable tokens, sending when due."""

from __future__ import annotations

import hashlib
import secrets
import string
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import select

from crmcore.api import Conflict, Customer, Interaction, format_datetime

from .models import Invitation, Survey
from .service import current_version
from .settings import get_setting, survey_link

TOKEN_ALPHABET = string.ascii_letters + string.digits
TOKEN_LENGTH = 32  # 62**32 ≈ 2**190 possible tokens


def new_token() -> str:
    """An unguessable token from the operating system's CSPRNG (:mod:`secrets`). Letters and digits only, so it
    never starts with "-" (a command-line option), survives SMS and double-click selection, and needs no escaping
    in a URL."""
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(TOKEN_LENGTH))


@attrs.frozen
class Decision:
    """The outcome of asking to invite a customer: the invitation, or why there is none."""

    invitation: Invitation | None
    reason: str  # "invited", or the reason for skipping
    code: str  # invited | inactive | duplicate | customer | consent | sampled_out | fatigue


def pick_channel(survey: Survey, customer: Customer) -> tuple[str | None, str]:
    """The channel to use (sms/email) honouring the customer's consent flags, or None and why."""
    can_sms = bool(customer.consent_sms and customer.phones)
    can_email = bool(customer.consent_email and customer.emails)
    if survey.channel == "sms":
        if can_sms:
            return "sms", ""
        return None, ("no consent to SMS" if not customer.consent_sms else "no phone number")
    if survey.channel == "email":
        if can_email:
            return "email", ""
        return None, ("no consent to email" if not customer.consent_email else "no email address")
    if can_sms:
        return "sms", ""
    if can_email:
        return "email", ""
    return None, "no consent to SMS or email with a matching phone or address"


def sampled_in(survey: Survey, customer_id: int, source_key: str) -> bool:
    """Whether this event falls in the survey's sample: a stable hash of (survey, customer, event), so asking
    again about the same event gives the same answer, and over many events the share is the percentage."""
    if survey.sample_percent >= 100:
        return True
    digest = hashlib.sha256(f"{survey.id}:{customer_id}:{source_key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 10000 < survey.sample_percent * 100


def recent_invitation(uow, customer_id: int, around: datetime) -> Invitation | None:
    """An invitation of this customer (any survey) within the fatigue window around ``around``."""
    days = int(get_setting(uow, "fatigue_days") or 0)
    if days <= 0:
        return None
    window = timedelta(days=days)
    return uow.session.scalar(
        select(Invitation)
        .where(
            Invitation.customer_id == customer_id,
            Invitation.status != "cancelled",
            Invitation.send_at > around - window,
            Invitation.send_at < around + window,
        )
        .order_by(Invitation.send_at.desc())
        .limit(1)
    )


def invite(
    uow,
    survey: Survey,
    customer: Customer,
    *,
    trigger: str,
    source_key: str | None = None,
    sample: bool = True,
    ignore_fatigue: bool = False,
    calendar: str = "gregorian",
) -> Decision:
    """Invite ``customer`` to ``survey`` if the rules allow it; the invitation is sent now or after the delay.

    Order of checks: survey active, one invitation per survey/customer/event, customer active, consent for
    the channel, sampling (automatic triggers only), fatigue window across all surveys.
    """
    session = uow.session
    if survey.status != "active":
        return Decision(None, f"survey {survey.name!r} is {survey.status}", "inactive")
    if source_key is not None:
        existing = session.scalar(
            select(Invitation.id).where(
                Invitation.survey_id == survey.id,
                Invitation.customer_id == customer.id,
                Invitation.source_key == source_key,
            )
        )
        if existing is not None:
            return Decision(
                None, f"already invited for {source_key} (invitation {existing})", "duplicate"
            )
    if not customer.active:
        return Decision(None, f"customer {customer.id} is merged or forgotten", "customer")
    channel, why = pick_channel(survey, customer)
    if channel is None:
        return Decision(None, why, "consent")
    if sample and not sampled_in(survey, customer.id, source_key or "manual"):
        return Decision(None, f"not in the {survey.sample_percent}% sample", "sampled_out")
    now = uow.now()
    send_at = now + timedelta(minutes=survey.delay_minutes)
    if not ignore_fatigue:
        recent = recent_invitation(uow, customer.id, send_at)
        if recent is not None:
            when = format_datetime(recent.send_at, calendar, tz=uow.app.timezone)
            return Decision(
                None,
                f"invited at {when} (invitation {recent.id}); the fatigue window is "
                f"{get_setting(uow, 'fatigue_days')} days",
                "fatigue",
            )
    version = current_version(session, survey)
    invitation = Invitation(
        survey_id=survey.id,
        version_id=version.id,
        customer_id=customer.id,
        token=new_token(),
        channel=channel,
        trigger=trigger,
        source_key=source_key,
        status="created",
        created_at=now,
        send_at=send_at,
        expires_at=send_at + timedelta(days=survey.expire_days),
    )
    invitation.survey = survey
    session.add(invitation)
    session.flush()
    uow.audit(
        "invite",
        "survey_invitation",
        invitation.id,
        {"survey": survey.name, "trigger": trigger, "source": source_key},
        customer_id=customer.id,
    )
    if survey.delay_minutes == 0:
        send_invitation(uow, invitation, customer)
    return Decision(invitation, "invited", "invited")


def send_invitation(uow, invitation: Invitation, customer: Customer) -> None:
    """Announce ``surveys_invitation_created`` (messaging queues it) and record what took it over.

    The invitation becomes ``queued`` only when an implementation says it queued a message for it;
    otherwise it stays ``created`` with the reason, so nothing claims a message that was never sent.
    """
    invitation.sent_at = uow.now()
    url = survey_link(uow, invitation.token)
    results = uow.emit(
        "surveys_invitation_created",
        customer_id=customer.id,
        data={
            "invitation_id": invitation.id,
            "survey": invitation.survey.name,
            "channel": invitation.channel,
            "token": invitation.token,
            "url": url,
            "expires_at": invitation.expires_at.isoformat(),
        },
        invitation=invitation,
        customer=customer,
        url_token=invitation.token,
        url=url,
    )
    taken = [r for r in (results or []) if isinstance(r, dict) and r.get("status") == "queued"]
    if taken:
        invitation.status = "queued"
        invitation.delivery_ref = str(taken[0].get("log") or "")[:100] or None
        invitation.delivery_note = None
        return
    refused = [
        str(r.get("reason") or r.get("status")) for r in (results or []) if isinstance(r, dict)
    ]
    invitation.delivery_note = (
        "; ".join(refused)
        if refused
        else "no channel took it: no survey_invitation message trigger"
    )[:300]


def send_due(uow, now: datetime) -> dict[str, int]:
    """Send scheduled invitations whose time has come; cancel those whose customer withdrew consent or left."""
    sent = cancelled = 0
    due = list(
        uow.session.scalars(
            select(Invitation)
            .where(
                Invitation.status == "created",
                Invitation.sent_at.is_(None),
                Invitation.send_at <= now,
            )
            .order_by(Invitation.send_at, Invitation.id)
        )
    )
    for invitation in due:
        customer = uow.session.get(Customer, invitation.customer_id)
        channel, _why = pick_channel(invitation.survey, customer) if customer.active else (None, "")
        if channel is None or invitation.survey.status != "active" or invitation.expires_at <= now:
            invitation.status = "cancelled"
            cancelled += 1
            continue
        invitation.channel = channel
        send_invitation(uow, invitation, customer)
        sent += 1
    return {"sent": sent, "cancelled": cancelled}


def find_invitation(session, token: str) -> Invitation:
    from crmcore.api import NotFound

    text = (token or "").strip()
    invitation = (
        session.scalar(select(Invitation).where(Invitation.token == text)) if text else None
    )
    if invitation is None:
        raise NotFound("no invitation has this token (check it was copied whole)", field="token")
    return invitation


def cancel_invitation(uow, token: str) -> Invitation:
    invitation = find_invitation(uow.session, token)
    if invitation.status in ("answered", "cancelled"):
        raise Conflict(f"invitation {invitation.id} is already {invitation.status}", field="token")
    if invitation.expires_at <= uow.now():
        raise Conflict(f"invitation {invitation.id} has expired", field="token")
    invitation.status = "cancelled"
    uow.audit("cancel", "survey_invitation", invitation.id, customer_id=invitation.customer_id)
    return invitation


def delivery_states(uow, invitations: list[Invitation]) -> dict[str, str]:
    """The channel's word on each queued invitation: its message's entry in the customer's
    interaction log (``external_id`` as the channel gave it), whose ``status`` the channel keeps
    current (``sent``, then ``delivered`` or ``failed`` from delivery reports)."""
    refs = {i.delivery_ref for i in invitations if i.delivery_ref}
    if not refs:
        return {}
    out: dict[str, str] = {}
    for start in range(0, len(refs), 500):
        chunk = sorted(refs)[start : start + 500]
        for ref, payload in uow.session.execute(
            select(Interaction.external_id, Interaction.payload).where(
                Interaction.external_id.in_(chunk), Interaction.kind == "message"
            )
        ):
            out[ref] = str((payload or {}).get("status") or "sent")
    return out


def status_of(invitation: Invitation, now: datetime, delivery: dict[str, str]) -> str:
    """created, queued, sent (the channel confirmed), delivered (a delivery report), failed,
    answered, expired or cancelled."""
    if invitation.status in ("answered", "cancelled"):
        return invitation.status
    if invitation.expires_at <= now:
        return "expired"
    if invitation.status == "queued":
        said = delivery.get(invitation.delivery_ref or "")
        if said in ("sent", "delivered", "failed"):
            return said
    return invitation.status


def invitation_to_dict(
    uow,
    invitation: Invitation,
    *,
    calendar: str = "gregorian",
    delivery: dict[str, str] | None = None,
) -> dict[str, Any]:
    tz = uow.app.timezone
    if delivery is None:
        delivery = delivery_states(uow, [invitation])
    return {
        "id": invitation.id,
        "survey": invitation.survey.name,
        "customer_id": invitation.customer_id,
        "token": invitation.token,
        "url": survey_link(uow, invitation.token),
        "channel": invitation.channel,
        "trigger": invitation.trigger,
        "source": invitation.source_key,
        "status": status_of(invitation, uow.now(), delivery),
        "note": invitation.delivery_note,
        "send_at": format_datetime(invitation.send_at, calendar, tz=tz),
        "expires_at": format_datetime(invitation.expires_at, calendar, tz=tz),
        "answered_at": format_datetime(invitation.answered_at, calendar, tz=tz) or None,
    }


def list_invitations(
    uow,
    survey_ref: str,
    *,
    status: str | None = None,
    limit: int = 100,
    calendar: str = "gregorian",
) -> list[dict[str, Any]]:
    """A survey's invitations, newest first, with the statuses people see (:func:`status_of`)."""
    from .service import get_survey

    survey = get_survey(uow.session, survey_ref)
    now = uow.now()
    q = select(Invitation).where(Invitation.survey_id == survey.id)
    stored = {
        "created": ["created"],
        "queued": ["queued"],
        "sent": ["queued"],
        "delivered": ["queued"],
        "failed": ["queued"],
        "answered": ["answered"],
        "cancelled": ["cancelled"],
        "expired": ["created", "queued"],
    }
    if status:
        q = q.where(Invitation.status.in_(stored[status]))
        if status == "expired":
            q = q.where(Invitation.expires_at <= now)
        elif status != "cancelled" and status != "answered":
            q = q.where(Invitation.expires_at > now)
    q = q.order_by(Invitation.send_at.desc(), Invitation.id.desc())
    out: list[dict[str, Any]] = []
    offset = 0
    while len(out) < limit:
        batch = list(uow.session.scalars(q.offset(offset).limit(max(limit, 200))))
        if not batch:
            break
        offset += len(batch)
        delivery = delivery_states(uow, batch)
        for invitation in batch:
            row = invitation_to_dict(uow, invitation, calendar=calendar, delivery=delivery)
            if status is None or row["status"] == status:
                out.append(row)
    return out[:limit]
