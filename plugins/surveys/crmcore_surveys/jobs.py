"""Scheduled jobs (``crm jobs run``): send invitations whose delay is over; first-purchase triggers."""

from __future__ import annotations

from crmcore.api import Job

from .invitations import send_due
from .triggers import first_purchase_due

JOBS = [
    Job(
        "surveys.send_due",
        "Send survey invitations whose delay is over (cancels those that lost consent).",
        lambda uow, now: send_due(uow, now),
    ),
    Job(
        "surveys.first_purchase",
        "Invite customers whose first purchase was N days ago (first_purchase triggers).",
        lambda uow, now: first_purchase_due(uow, now),
    ),
]
