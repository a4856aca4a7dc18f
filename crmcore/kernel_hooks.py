"""The kernel's own hook implementations (registered as the plugin ``kernel``)."""

from __future__ import annotations

from .hooks import hookimpl


@hookimpl
def crm_reports():
    from .reports.kernel import KERNEL_REPORTS

    return KERNEL_REPORTS


@hookimpl
def crm_search_fields():
    from .services.search_fields import KERNEL_FIELDS

    return KERNEL_FIELDS


@hookimpl
def crm_interaction_kinds():
    return ["purchase", "refund", "call", "message", "visit", "note"]


@hookimpl
def crm_customer_forgotten(uow, customer):
    from .services.leads import forget_pending_leads

    forget_pending_leads(uow, customer.id)


@hookimpl
def crm_jobs():
    from .jobs import Job
    from .outbox.repair import prune_job

    return [
        Job(
            "outbox.prune",
            "Delete processed outbox events older than CRM_OUTBOX_RETENTION (30d)",
            prune_job,
        )
    ]


@hookimpl
def crm_customer_summary(uow, customer):
    from .services.customer_view import kernel_summary

    return kernel_summary(uow, customer)


@hookimpl
def crm_customer_timeline(uow, customer, before, limit):
    from .services.customer_view import kernel_timeline

    return kernel_timeline(uow, customer, before, limit)
