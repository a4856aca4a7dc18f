"""JSON forms of tickets and messages (``--json``, the profile section) and their one-line text forms."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmcore.api import format_datetime


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _hours(seconds: int | None) -> str | None:
    """Business seconds as hours with two decimals (exact decimal string)."""
    if seconds is None:
        return None
    from decimal import ROUND_HALF_UP, Decimal

    return str((Decimal(seconds) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def sla_to_dict(t) -> dict[str, Any]:
    return {
        "policy": t.sla_policy.name if t.sla_policy else None,
        "clock": "stopped" if t.sla_paused_at else "running",
        "first_response_due_at": _iso(t.first_response_due_at),
        "first_response_at": _iso(t.first_response_at),
        "first_response_business_hours": _hours(t.first_response_seconds),
        "first_response_breached": t.first_response_breached_at is not None,
        "resolution_due_at": _iso(t.resolution_due_at),
        "resolved_at": _iso(t.resolved_at),
        "resolution_business_hours": _hours(t.resolution_seconds),
        "resolution_breached": t.resolution_breached_at is not None,
        "paused_business_hours": _hours(t.paused_seconds or 0),
    }


def delivery_to_dict(m) -> dict[str, Any] | None:
    """How an agent's reply went out to the customer (``None``: it is not sent anywhere)."""
    if m.delivery_channel is None:
        return None
    return {
        "channel": m.delivery_channel,
        "to": m.delivery_to,
        "status": m.delivery_status,
        "error": m.delivery_error,
        "attempts": m.delivery_attempts or 0,
        "sent_at": _iso(m.sent_at),
        "ref": m.delivery_ref,
    }


def delivery_line(m) -> str:
    """The delivery of a reply in a few words, for people: ``sent by email to …``, ``FAILED: …``."""
    d = delivery_to_dict(m)
    if d is None:
        return ""
    by = {"sms": "SMS", "chat": "chat"}.get(d["channel"], "email")
    if d["status"] == "sent":
        return f"sent by {by} to {d['to']}"
    if d["status"] == "queued" and d["error"]:
        return f"not sent yet (attempt {d['attempts']}): {d['error']}"
    if d["status"] in ("queued", "sending"):
        return f"sending by {by} to {d['to']}"
    return f"{d['status'].upper()}: {d['error'] or 'the provider may or may not have taken it'}"


def message_to_dict(m) -> dict[str, Any]:
    return {
        "id": m.id,
        "kind": m.kind,
        "author": m.author,
        "agent": m.agent.username if m.agent else None,
        "body": m.body,
        "channel": m.channel,
        "at": _iso(m.created_at),
        "email_message_id": m.email_message_id,
        "email_from": m.email_from,
        "delivery": delivery_to_dict(m),
    }


def ticket_to_dict(t, *, messages: bool = False) -> dict[str, Any]:
    data = {
        "id": t.id,
        "customer_id": t.customer_id,
        "subject": t.subject,
        "channel": t.channel,
        "priority": t.priority,
        "category": t.category,
        "state": t.state,
        "assignee": t.assignee.username if t.assignee else None,
        "team": t.team.name if t.team else None,
        "tags": [x.tag for x in t.tags],
        "source": t.source,
        "dedup_key": t.dedup_key,
        "created_at": _iso(t.created_at),
        "updated_at": _iso(t.updated_at),
        "closed_at": _iso(t.closed_at),
        "reopen_count": t.reopen_count,
        "merged_into": t.merged_into_id,
        "follow_up_of": t.follow_up_of_id,
        "sla": sla_to_dict(t),
        "csat": {
            "score": t.csat_score,
            "comment": t.csat_comment,
            "at": _iso(t.csat_at),
            "asked_by": t.csat_by,
        },
    }
    if messages:
        data["messages"] = [
            message_to_dict(m) for m in sorted(t.messages, key=lambda m: (m.created_at, m.id))
        ]
    return data


def ticket_line(t, calendar: str, tz: str) -> str:
    due = t.resolution_due_at if t.first_response_at else t.first_response_due_at
    due_text = (
        f" due {format_datetime(due, calendar, tz=tz)}"
        if due and t.state in ("new", "open")
        else ""
    )
    who = t.assignee.username if t.assignee else "-"
    return f"#{t.id}\t{t.state}\t{t.priority}\t{who}\t{t.subject}{due_text}"
