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


JOBS = [
    Job("messaging.campaigns", "Queue the messages of campaigns whose scheduled time has come.", run_campaigns),
    Job("messaging.dates", "Queue birthday (Jalali), membership anniversary and occasion greetings for today.",
        run_dates),
    Job("messaging.deliver", "Send due messages: retries with back-off, quiet hours, provider rate limits.",
        run_delivery),
    Job("messaging.delivery_reports", "Ask the SMS gateways whether sent messages were delivered.",
        run_reports),
]
