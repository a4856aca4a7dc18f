"""The loyalty plugin's hook implementations: purchase accrual and refund reversal, reports, jobs, profile,
search fields, customer merges, demo data."""
from __future__ import annotations

from crmcore.api import hookimpl


@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    if interaction.kind == "purchase":
        from .accrual import accrue_purchase

        accrue_purchase(uow, interaction, customer)
    elif interaction.kind == "refund" and interaction.related_id is not None:
        from .accrual import reverse_refund

        reverse_refund(uow, interaction, customer)


@hookimpl
def crm_jobs():
    from .jobs import JOBS

    return JOBS
