"""Scheduled work for ``crm jobs run``: flag SLA breaches and warn before them."""
from __future__ import annotations

from crmcore.api import Job


def _check(uow, now):
    from .sla import check_tickets

    return check_tickets(uow, now)


JOBS = [Job("tickets.sla", "Flag SLA breaches (event tickets_sla_breached) and warn before due times "
            "(outbox tickets_sla_warning).", _check)]
