"""Messaging's providers as integrations (``crm integrations list|test|status``): settings with secrets
hidden, a read-only connection test per kind, and delivery counts of the last 30 days."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any, Callable

import httpx
from sqlalchemy import func, select

from crmcore.api import Integration, shown_settings

from .channels import build_channel
from .channels.base import KINDS, SECRET_OPTIONS, DeliveryError, secret
from .channels.iran import GatewayChannel
from .models import STATUSES, Message, Provider

STATUS_DAYS = 30


def integrations(uow) -> list[Integration]:
    out = []
    for p in uow.session.scalars(select(Provider).order_by(Provider.name)):
        options = dict(p.options)
        secrets = tuple(
            str(os.environ.get(str(v)[4:], "")) if str(v).startswith("env:") else str(v)
            for k, v in options.items()
            if k in SECRET_OPTIONS
        )
        lines = [
            f"{k.split('_')[0]} line {options[k]}"
            for k in ("service_line", "advertising_line")
            if options.get(k)
        ]
        summary = f"{p.channel} provider" + (" (default)" if p.is_default else "")
        out.append(
            Integration(
                name=f"messaging.{p.name}",
                kind=p.kind,
                summary=", ".join([summary, *lines]),
                settings=shown_settings(options, SECRET_OPTIONS),
                test=_tester(p.kind, options),
                status=_status(p.name),
                secret_values=secrets,
            )
        )
    return out


def _tester(kind: str, options: dict[str, Any]) -> Callable[[], str]:
    def test() -> str:
        channel = build_channel(kind, options)
        try:
            if isinstance(channel, GatewayChannel):
                return channel.check()
            if kind == "smtp":
                client = channel._connect()  # noqa: SLF001 - the same login the sender does
                client.quit()
                return f"connected to {channel.host}:{channel.port}"
            if kind == "twilio":
                return _twilio_account(channel)
            if kind == "file":
                folder = (
                    os.path.dirname(os.path.abspath(channel.path)) if channel.path != "-" else "."
                )
                if not os.access(folder, os.W_OK):
                    raise DeliveryError(f"cannot write to {folder}", retryable=False)
                return f"writes to {channel.path}"
            raise DeliveryError(
                f"no connection test for {kind} (kinds: {', '.join(KINDS)})", retryable=False
            )
        finally:
            getattr(channel, "close", lambda: None)()

    return test


def _twilio_account(channel) -> str:
    sid, token = secret(channel.options, "account_sid"), secret(channel.options, "auth_token")
    try:
        response = channel._http().get(
            f"{channel.url}/2010-04-01/Accounts/{sid}.json",  # noqa: SLF001
            auth=(sid, token),
        )
    except httpx.HTTPError as exc:
        raise DeliveryError(
            f"cannot reach Twilio at {channel.url}: {type(exc).__name__}", retryable=True
        ) from None
    if response.status_code != 200:
        raise DeliveryError(f"Twilio answered HTTP {response.status_code}", retryable=False)
    return f"account {response.json().get('status', 'active')}"


def _status(name: str) -> Callable[[Any], dict[str, Any]]:
    def status(uow) -> dict[str, Any]:
        since = uow.now() - timedelta(days=STATUS_DAYS)
        counts = dict(
            uow.session.execute(
                select(Message.status, func.count())
                .where(Message.provider == name, Message.created_at >= since)
                .group_by(Message.status)
            ).all()
        )
        return {
            "days": STATUS_DAYS,
            **{s: counts.get(s, 0) for s in STATUSES if s not in ("blocked", "skipped")},
        }

    return status
