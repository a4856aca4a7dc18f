"""Jobs for ``crm jobs run``: start due campaigns, queue date greetings, deliver the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmcore.api import Job


def run_campaigns(uow, now: datetime) -> dict[str, Any]:
    from .campaigns import due_campaigns, run_campaign

    return {c.name: run_campaign(uow, c) for c in due_campaigns(uow, now)}


def run_dates(uow, now: datetime) -> dict[str, Any]:
    from .schedule import run_dates as run

    return run(uow, now)


def run_delivery(uow, now: datetime) -> dict[str, Any]:
    """Sends in its own short transactions (claim, send outside any transaction, record): the job's unit
    of work is left untouched so no database lock is held while a provider answers."""
    from .outbox import deliver

    return deliver(uow.app, now=now)


def run_reports(uow, now: datetime) -> dict[str, Any]:
    """Asks the gateways outside any transaction, like delivery."""
    from .delivery import poll_reports

    return poll_reports(uow.app, now)


def run_chat_poll(uow, now: datetime) -> dict[str, Any]:
    """Fetch the chat bot's waiting updates (servers without a public URL); nothing to do when no
    bot is set or the bot API delivers by webhook."""
    from .channels.base import DeliveryError
    from .chat import poll_once
    from .settings import get_settings

    if not get_settings(uow)["chat_bot_token"]:
        return {"skipped": "no chat bot"}
    try:
        return poll_once(uow.app)
    except DeliveryError as exc:
        if getattr(exc, "code", None) == 409:  # getUpdates is refused while a webhook is set
            return {"skipped": "the bot API delivers by webhook"}
        raise


JOBS = [
    Job(
        "messaging.campaigns",
        "Queue the messages of campaigns whose scheduled time has come.",
        run_campaigns,
    ),
    Job(
        "messaging.dates",
        "Queue birthday (Jalali), membership anniversary and occasion greetings for today.",
        run_dates,
    ),
    Job(
        "messaging.deliver",
        "Send due messages: retries with back-off, quiet hours, provider rate limits.",
        run_delivery,
    ),
    Job(
        "messaging.delivery_reports",
        "Ask the SMS gateways whether sent messages were delivered.",
        run_reports,
    ),
    Job(
        "messaging.chat_poll",
        "Fetch the chat bot's new messages (getUpdates) when no webhook is set.",
        run_chat_poll,
    ),
]
