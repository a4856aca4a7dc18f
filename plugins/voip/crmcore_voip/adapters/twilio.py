"""Twilio voice webhooks: the ``X-Twilio-Signature`` check (computed exactly as Twilio does: the full URL,
then every POST parameter name and value sorted by name, HMAC with the auth token, base64; the URL tried with
and without its default port; ``bodySHA256`` for JSON bodies; HMAC-SHA1, or HMAC-SHA256 when the
``X-Twilio-Webhooks-Signature-Settings`` header says so) and the mapping of call status callbacks to
:class:`CallEvent`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Iterable
from urllib.parse import parse_qs, urlsplit, urlunsplit

from ..events import ANSWERED, HANGUP, INFO, MISSED, RINGING, CallEvent

log = logging.getLogger("crmcore_voip.twilio")

SIGNATURE_HEADER = "X-Twilio-Signature"
SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"
_HASHES = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}

RINGING_STATUSES = {"queued", "initiated", "ringing"}
MISSED_STATUSES = {"busy", "no-answer", "canceled", "failed"}


def signature_algorithm(settings_header: str | None) -> str:
    for part in (settings_header or "").split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def compute_signature(
    token: str, url: str, params: Iterable[tuple[str, str]], algorithm: str = "HMAC_SHA1"
) -> str:
    digest = _HASHES.get(algorithm.upper())
    if digest is None:
        raise ValueError(f"unsupported Twilio signature algorithm {algorithm!r}")
    values: dict[str, set[str]] = {}
    for k, v in params:
        values.setdefault(k, set()).add(v)
    text = url + "".join(k + v for k in sorted(values) for v in sorted(values[k]))
    mac = hmac.new(token.encode("utf-8"), text.encode("utf-8"), digest)
    return base64.b64encode(mac.digest()).decode("ascii")


def _with_and_without_port(url: str) -> list[str]:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        bare = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0])
        return [urlunsplit(bare), url]
    default = 443 if parts.scheme == "https" else 80
    return [url, urlunsplit(parts._replace(netloc=f"{parts.netloc}:{default}"))] if host else [url]


def valid_signature(
    token: str,
    url: str,
    params: list[tuple[str, str]],
    signature: str | None,
    *,
    body: bytes | None = None,
    settings_header: str | None = None,
) -> bool:
    """True when ``signature`` is what Twilio computes for this request. ``params`` are the form fields
    (empty for JSON bodies, which are checked through the URL's ``bodySHA256``)."""
    if not signature or not token:
        return False
    algorithm = signature_algorithm(settings_header)
    if algorithm not in _HASHES:
        log.warning("Twilio: unsupported signature algorithm %r", algorithm)
        return False
    query = parse_qs(urlsplit(url).query)
    if "bodySHA256" in query:
        if body is None or not hmac.compare_digest(
            hashlib.sha256(body).hexdigest(), query["bodySHA256"][0]
        ):
            return False
        params = []
    return any(
        hmac.compare_digest(compute_signature(token, u, params, algorithm), signature)
        for u in _with_and_without_port(url)
    )


def _at(params: dict[str, str], now: datetime) -> datetime:
    raw = params.get("Timestamp")
    if raw:
        try:
            at = parsedate_to_datetime(raw)
            if at.tzinfo is not None:
                return at.astimezone(timezone.utc)
        except (TypeError, ValueError):
            log.warning("Twilio: unreadable Timestamp %r; using the time of arrival", raw)
    return now


def call_events(
    params: dict[str, str], now: datetime, *, extension: str | None = None
) -> list[CallEvent]:
    """The events of one Twilio voice or status callback. Raises ``ValueError`` naming the missing field."""
    sid = (params.get("CallSid") or "").strip()
    if not sid:
        raise ValueError("CallSid is missing")
    status = (params.get("CallStatus") or "").strip().lower()
    direction = "in" if (params.get("Direction") or "inbound").lower() == "inbound" else "out"
    at = _at(params, now)
    common = dict(
        source="twilio",
        call_id=sid,
        caller=params.get("From") or params.get("Caller"),
        callee=params.get("To") or params.get("Called"),
        direction=direction,
        extension=extension,
        recording_url=params.get("RecordingUrl") or None,
        raw=dict(params),
    )
    duration = params.get("CallDuration") or params.get("DialCallDuration")
    talk = int(duration) if duration and duration.isdigit() else None
    if status in RINGING_STATUSES:
        return [CallEvent(kind=RINGING, at=at, **common)]
    if status == "in-progress":
        return [CallEvent(kind=ANSWERED, at=at, agent=extension, **common)]
    if status == "completed":
        answered_at = at - timedelta(seconds=talk or 0)
        return [
            CallEvent(kind=ANSWERED, at=answered_at, agent=extension, **common),
            CallEvent(kind=HANGUP, at=at, talk_seconds=talk, cause="completed", **common),
        ]
    if status in MISSED_STATUSES:
        return [CallEvent(kind=MISSED, at=at, cause=status, **common)]
    if not status and common["recording_url"]:
        return [CallEvent(kind=INFO, at=at, **common)]
    raise ValueError(f"CallStatus {status!r} is not a Twilio call status")
