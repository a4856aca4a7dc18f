"""A JSON webhook for other PBXs (3CX, Issabel, FreePBX scripts…), signed with HMAC-SHA256.

Request: ``POST /voip/webhook`` with headers ``X-CRM-Timestamp: <unix seconds>`` and
``X-CRM-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>" with the shared secret>``; the body
is one event object or a list of them::

    {"event": "ringing", "call_id": "1712345678.42", "at": "2024-04-05T10:15:00+03:30",
     "caller": "09121234567", "callee": "02191001000", "extension": "101", "direction": "in"}

``event`` is ringing | answered | hangup | missed | info; ``at`` (ISO 8601) defaults to the time of arrival;
optional: ``agent``, ``recording_url``, ``cause``, ``duration`` (seconds talked, on hangup).
Requests older than five minutes are refused (a replayed capture)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Any

from ..events import DIRECTIONS, KINDS, CallEvent

TIMESTAMP_HEADER = "X-CRM-Timestamp"
SIGNATURE_HEADER = "X-CRM-Signature"
MAX_SKEW_SECONDS = 300
MAX_EVENTS = 500


class WebhookError(ValueError):
    """The request is refused; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: datetime
) -> None:
    """Raise :class:`WebhookError` (401) unless the request is signed with ``secret`` and recent."""
    if not timestamp or not signature:
        raise WebhookError(
            f"unsigned request: {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required", 401
        )
    try:
        sent = int(timestamp)
    except ValueError:
        raise WebhookError(
            f"{TIMESTAMP_HEADER} {timestamp[:40]!r} is not unix seconds", 401
        ) from None
    if abs(now.timestamp() - sent) > MAX_SKEW_SECONDS:
        raise WebhookError(
            f"{TIMESTAMP_HEADER} is more than {MAX_SKEW_SECONDS} s away from now (replayed or "
            "the PBX clock is wrong)",
            401,
        )
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        raise WebhookError(
            "the signature does not match the body (wrong secret or a changed body)", 401
        )


def _text(item: dict[str, Any], key: str, where: str, limit: int = 200) -> str | None:
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise WebhookError(f"{where}.{key} must be text, not {type(value).__name__}", 422)
    return str(value)[:limit]


def parse_events(body: bytes, now: datetime) -> list[CallEvent]:
    """Every event of the body, or :class:`WebhookError` (422) naming the first bad field."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookError(f"the body is not JSON: {exc}", 400) from None
    items = data if isinstance(data, list) else [data]
    if not items:
        raise WebhookError("the body holds no event", 422)
    if len(items) > MAX_EVENTS:
        raise WebhookError(f"at most {MAX_EVENTS} events per request", 413)
    events = []
    for i, item in enumerate(items):
        where = f"events[{i}]" if isinstance(data, list) else "event"
        if not isinstance(item, dict):
            raise WebhookError(f"{where} must be a JSON object", 422)
        kind = (_text(item, "event", where) or "").lower()
        if kind not in KINDS:
            raise WebhookError(
                f"{where}.event must be one of {', '.join(KINDS)}, not {item.get('event')!r}", 422
            )
        call_id = _text(item, "call_id", where, 140)
        if not call_id:
            raise WebhookError(f"{where}.call_id is required", 422)
        direction = (_text(item, "direction", where) or "in").lower()
        if direction not in DIRECTIONS:
            raise WebhookError(f"{where}.direction must be in or out, not {direction!r}", 422)
        at_raw = _text(item, "at", where)
        at = now
        if at_raw:
            try:
                at = datetime.fromisoformat(at_raw.replace("Z", "+00:00"))
            except ValueError:
                raise WebhookError(f"{where}.at {at_raw!r} is not an ISO 8601 time", 422) from None
            if at.tzinfo is None:
                raise WebhookError(f"{where}.at {at_raw!r} has no UTC offset", 422)
            at = at.astimezone(timezone.utc)
        duration = item.get("duration")
        if duration is not None and (
            isinstance(duration, bool) or not isinstance(duration, int) or duration < 0
        ):
            raise WebhookError(f"{where}.duration must be whole seconds (≥ 0)", 422)
        events.append(
            CallEvent(
                kind=kind,
                source="webhook",
                call_id=call_id,
                at=at,
                caller=_text(item, "caller", where, 80),
                callee=_text(item, "callee", where, 80),
                extension=_text(item, "extension", where, 40),
                direction=direction,
                agent=_text(item, "agent", where, 100),
                recording_url=_text(item, "recording_url", where, 2000),
                cause=_text(item, "cause", where, 60),
                talk_seconds=duration,
                raw=item,
            )
        )
    return events
