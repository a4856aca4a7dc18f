"""Domain events → messages: each enabled trigger of the event queues its template for the customer.

Called inside the unit of work of the command that caused the event, so the message row commits (or rolls
back) with it; sending happens after the commit or from the delivery job. The idempotency key names the
event occurrence, the customer, the template and the channel, so a replayed event sends nothing new.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from crmcore.api import CRMError, get_customer, to_local

from .outbox import queue_message
from .service import triggers_for
from .settings import get_settings


def fire(uow, event: str, customer, occurrence: str, extra: dict[str, Any]) -> list:
    """Queue the event's templates for ``customer``; ``occurrence`` identifies this happening of
    the event. Nothing for an event caused by imported history (``uow.history``): counted as
    withheld instead."""
    queued = []
    if getattr(uow, "history", False):
        if triggers_for(uow, event):
            uow.suppress(event)
        return queued
    for trig in triggers_for(uow, event):
        key = f"{event}:{occurrence}:c{customer.id}:{trig.template}:{trig.channel}"
        queued.append(
            queue_message(
                uow,
                customer,
                template=trig.template,
                channel=trig.channel,
                trigger=event,
                key=key,
                extra=extra,
            )
        )
    return queued


def _customer(uow, customer_id) -> Any | None:
    if customer_id is None:
        return None
    try:
        return get_customer(uow.session, customer_id)
    except CRMError:
        return None


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    """A field of another plugin's object or dict, by the first name it has."""
    if obj is None or isinstance(obj, (str, int)):
        return default
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None and not callable(value):
            return value
    return default


def _local_date(value: Any, uow) -> date | None:
    if isinstance(value, datetime):
        return to_local(value, uow.app.timezone).date()
    return value if isinstance(value, date) else None


def _today(uow) -> str:
    """Occurrences keyed by local day: a rerun job that re-announces the same change sends nothing new."""
    return to_local(uow.now(), uow.app.timezone).date().isoformat()


def purchase(uow, interaction, customer) -> None:
    if interaction.kind != "purchase" or not triggers_for(uow, "purchase"):
        return
    max_age = timedelta(hours=get_settings(uow)["thank_you_max_age_hours"])
    if uow.now() - interaction.occurred_at > max_age:
        return  # imported history: no thank-you for last year's purchases
    fire(
        uow,
        "purchase",
        customer,
        f"i{interaction.id}",
        {
            "amount": interaction.amount_minor or 0,
            "currency": interaction.currency or "IRR",
            "purchased_at": _local_date(interaction.occurred_at, uow),
            "purchase_id": interaction.id,
        },
    )


def points_expiring(uow, customer, points, expires_on) -> None:
    if triggers_for(uow, "points_expiring"):
        day = _local_date(expires_on, uow)
        fire(
            uow,
            "points_expiring",
            customer,
            f"{day.isoformat() if day else expires_on}",
            {"points": int(points), "expires_on": day},
        )


def tier_changed(uow, customer, old_tier, new_tier, direction) -> None:
    if triggers_for(uow, "tier_changed"):
        name = lambda t: str(_get(t, "name", "code", default=t) or "")  # noqa: E731 - tier row or plain name
        fire(
            uow,
            "tier_changed",
            customer,
            f"{name(old_tier)}>{name(new_tier)}@{_today(uow)}",
            {
                "old_tier": name(old_tier),
                "new_tier": name(new_tier),
                "direction": str(direction or ""),
            },
        )


def ticket_closed(uow, ticket) -> None:
    if triggers_for(uow, "ticket_closed"):
        customer = _customer(uow, _get(ticket, "customer_id"))
        if customer is not None:
            tid = _get(ticket, "id")
            fire(
                uow,
                "ticket_closed",
                customer,
                f"t{tid}@{_today(uow)}",
                {
                    "ticket_id": tid,
                    "ticket_subject": str(_get(ticket, "subject", "title", default="")),
                },
            )


def winners_drawn(uow, campaign, winners) -> None:
    if not triggers_for(uow, "winners_drawn"):
        return
    lottery_id = _get(campaign, "id")
    lottery = str(_get(campaign, "name", "title", default=""))
    for winner in winners or ():
        customer = _customer(uow, _get(winner, "customer_id"))
        if customer is not None:
            prize = _get(winner, "prize", "reward", default="")
            fire(
                uow,
                "winners_drawn",
                customer,
                f"l{lottery_id}",
                {
                    "lottery": lottery,
                    "prize": str(_get(prize, "name", "title", default=prize) or ""),
                    "lottery_code": str(_get(winner, "lottery_code", default="") or ""),
                },
            )


def survey_invitation(uow, invitation, customer, url_token, url=None) -> dict[str, Any] | None:
    """Queue the invitation; the link is the surveys plugin's (``crm surveys settings
    --link-template``); ``survey_base_url`` only serves a surveys plugin that sends no link.
    Tells surveys whether a message was queued and which log entry will say it was sent."""
    if not triggers_for(uow, "survey_invitation"):
        return None
    if not url:
        base = get_settings(uow)["survey_base_url"].rstrip("/")
        url = f"{base}/{url_token}" if base else str(url_token)
    survey = _get(invitation, "survey", default=None)
    name = _get(invitation, "survey_name", "survey_title", default=None) or (
        _get(survey, "name", "title", default="") if survey is not None else ""
    )
    occurrence = f"s{_get(invitation, 'id', default=url_token)}"
    messages = fire(
        uow,
        "survey_invitation",
        customer,
        occurrence,
        {"survey_url": str(url), "survey_name": str(name)},
    )
    queued = [m for m in messages if m.status in ("queued", "sending", "sent", "delivered")]
    if queued:
        return {"status": "queued", "log": f"messaging-{queued[0].id}", "message_id": queued[0].id}
    return {"status": "blocked", "reason": "; ".join(m.error or m.status for m in messages)}


def reminder_due(uow, task, reminder) -> None:
    if not triggers_for(uow, "reminder_due"):
        return
    customer = _customer(uow, _get(task, "customer_id"))
    if customer is not None:
        rid = _get(reminder, "id", default=None) if reminder is not None else None
        due = _get(task, "due_at", default=None)
        fire(
            uow,
            "reminder_due",
            customer,
            f"task{_get(task, 'id')}:r{rid if rid is not None else due}",
            {"task_title": str(_get(task, "title", default="")), "due_at": _local_date(due, uow)},
        )


def referral_joined(uow, referral, friend, referrer) -> None:
    """The member whose code brought a friend hears that the friend joined."""
    if triggers_for(uow, "referral_joined"):
        fire(
            uow,
            "referral_joined",
            referrer,
            f"r{_get(referral, 'id')}",
            {"friend_name": str(_get(friend, "display_name", default=""))},
        )


def referral_reward(uow, reward, beneficiary, friend) -> None:
    """A reward the referral earned; none for imported history (the thank-you age limit applies)."""
    if not triggers_for(uow, "referral_reward") or not _get(reward, "points", default=0):
        return
    max_age = timedelta(hours=get_settings(uow)["thank_you_max_age_hours"])
    earned = _get(reward, "earned_at", default=None)
    if earned is not None and uow.now() - earned > max_age:
        return
    fire(
        uow,
        "referral_reward",
        beneficiary,
        f"w{_get(reward, 'id')}",
        {
            "points": int(_get(reward, "points", default=0)),
            "role": str(_get(reward, "role", default="")),
            "friend_name": str(_get(friend, "display_name", default="")),
        },
    )


# --- transfers (points moved between members) ------------------------------------------------
def _transfer_fields(uow, transfer, sender, recipient) -> dict[str, Any]:
    respond_by = _get(transfer, "respond_by", default=None)
    return {
        "points": int(_get(transfer, "points", default=0)),
        "fee": int(_get(transfer, "fee", default=0)),
        "transfer_id": _get(transfer, "id"),
        "sender_name": sender.display_name if sender else "",
        "recipient_name": recipient.display_name if recipient else "",
        "respond_by": _local_date(respond_by, uow),
    }


def transfer_event(uow, event: str, transfer) -> None:
    """``transfer_received`` and ``transfer_pending`` go to the recipient, ``transfer_expired`` to
    the sender, ``transfer_reversed`` to both (``role`` tells which side reads it)."""
    if not triggers_for(uow, event):
        return
    sender = _customer(uow, _get(transfer, "sender_id"))
    recipient = _customer(uow, _get(transfer, "recipient_id"))
    fields = _transfer_fields(uow, transfer, sender, recipient)
    occurrence = f"x{fields['transfer_id']}"
    readers = {
        "transfer_received": [("recipient", recipient)],
        "transfer_pending": [("recipient", recipient)],
        "transfer_expired": [("sender", sender)],
        "transfer_reversed": [("sender", sender), ("recipient", recipient)],
    }[event]
    for role, customer in readers:
        if customer is not None:
            fire(uow, event, customer, occurrence, {**fields, "role": role})
