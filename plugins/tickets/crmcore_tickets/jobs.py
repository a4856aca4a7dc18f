"""Scheduled work for ``crm jobs run``: flag SLA breaches and warn before them; send agents'
replies."""
from __future__ import annotations

from crmcore.api import Job


def _check(uow, now):
    from .sla import check_tickets

    return check_tickets(uow, now)


def _replies(uow, now):
    """Sends in its own short transactions (claim, send outside any transaction, record), so no
    database lock is held while a provider answers."""
    from .delivery import deliver

    return deliver(uow.app, now=now)


JOBS = [Job("tickets.sla", "Flag SLA breaches (event tickets_sla_breached) and warn before due times "
            "(outbox tickets_sla_warning).", _check),
        Job("tickets.replies", "Send agents' replies to customers (email or SMS by the ticket's "
            "channel); retry temporary failures with back-off.", _replies)]
