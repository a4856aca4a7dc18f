"""Agents' ticket replies sent through messaging's providers (the tickets plugin asks through its
hook ``tickets_reply_sender``; it keeps the reply, its delivery status and its retries itself).

A reply is an answer to the customer's own request, so it is not subject to marketing consent,
quiet hours or the frequency cap; it is not a template, and it is not logged again as a messaging
message."""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from .channels import Outgoing, build_channel
from .service import provider_for


def reply_sender(uow, channel: str) -> Callable[..., Any] | None:
    provider = provider_for(uow, channel)
    if provider is None:
        return None
    kind, options, name = provider.kind, dict(provider.options), provider.name

    def send(recipient: str, subject: str | None, body: str, headers: dict[str, str]) -> str | None:
        key = (
            headers.get("Message-ID")
            or hashlib.sha256(f"{recipient}\n{body}".encode()).hexdigest()[:24]
        )
        out = Outgoing(
            message_id=0,
            channel=channel,
            recipient=recipient,
            body=body,
            subject=subject,
            idempotency_key=f"tickets:{key}",
            headers=tuple(headers.items()),
        )
        result = build_channel(kind, options).send(out)
        return f"{name}:{result.provider_message_id}" if result.provider_message_id else name

    return send
