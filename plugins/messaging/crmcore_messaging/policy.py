"""Who may be sent what and when: recipients, consent, quiet hours, the promotional frequency cap."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from crmcore.api import ValidationError, update_customer

from .models import CHANNELS, ConsentChange, Message
from .settings import frequency_cap, quiet_window

COUNTED = ("queued", "sending", "sent", "delivered", "unknown")


def recipient(customer, channel: str) -> str | None:
    """The first mobile phone (SMS) or the first email address; None when the customer has none."""
    if channel == "sms":
        return next((p.e164 for p in customer.phones if p.kind == "mobile"), None)
    return next((e.email for e in customer.emails), None)


def missing_recipient_reason(customer, channel: str) -> str:
    what = "mobile phone for SMS" if channel == "sms" else "email address"
    return f"customer {customer.id} has no {what}"


def has_consent(customer, channel: str) -> bool:
    return bool(customer.consent_sms if channel == "sms" else customer.consent_email)


def no_consent_reason(customer, channel: str) -> str:
    return f"customer {customer.id} has not opted in to {channel} (or opted out)"


def check_channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValidationError(
            f"{channel!r} is not a channel ({', '.join(CHANNELS)})", field="channel"
        )
    return channel


def quiet_until(now: datetime, settings: dict[str, Any], tz: str) -> datetime | None:
    """If ``now`` falls in the quiet hours (local time in ``tz``), the UTC moment they end; else None."""
    window = quiet_window(settings)
    if window is None or window[0] == window[1]:
        return None
    start, end = window
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    t = local.time()
    if start > end:  # overnight: 22:00-08:00
        if t >= start:
            until = datetime.combine(local.date() + timedelta(days=1), end, zone)
        elif t < end:
            until = datetime.combine(local.date(), end, zone)
        else:
            return None
    elif start <= t < end:
        until = datetime.combine(local.date(), end, zone)
    else:
        return None
    return until.astimezone(timezone.utc)


def promotional_counts(
    uow, customer_ids: Iterable[int], now: datetime, settings: dict[str, Any]
) -> dict[int, int]:
    """Promotional messages each customer got (or has queued) inside the cap's window."""
    cap = frequency_cap(settings)
    ids = list(customer_ids)
    if cap is None or not ids:
        return {}
    since = now - timedelta(days=cap[1])
    counts: dict[int, int] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = uow.session.execute(
            select(Message.customer_id, func.count())
            .where(
                Message.customer_id.in_(chunk),
                Message.category == "promotional",
                Message.status.in_(COUNTED),
                Message.created_at >= since,
            )
            .group_by(Message.customer_id)
        )
        counts.update({cid: n for cid, n in rows})
    return counts


def set_consent(
    uow, customer, channel: str, granted: bool, *, source: str, detail: str | None = None
) -> bool:
    """Opt a customer in or out of a channel; returns True when it changed. Always logged as proof."""
    check_channel(channel)
    changed = has_consent(customer, channel) != granted
    if changed:
        update_customer(uow, customer.id, **{f"consent_{channel}": granted})
    uow.session.add(
        ConsentChange(
            customer_id=customer.id,
            channel=channel,
            granted=granted,
            source=source,
            detail=detail,
            at=uow.now(),
        )
    )
    uow.session.flush()
    return changed


def local_day_start(moment: datetime, tz: str) -> datetime:
    local = moment.astimezone(ZoneInfo(tz))
    return datetime.combine(local.date(), time(0), ZoneInfo(tz)).astimezone(timezone.utc)
