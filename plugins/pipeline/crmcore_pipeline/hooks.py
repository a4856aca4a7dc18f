"""Hook implementations of the pipeline plugin: reports, jobs, profile section, search field, demo data,
and the kernel events it follows (merges, forgetting, customer contact keeping deals fresh)."""
from __future__ import annotations

from crmcore.api import hookimpl

#: interaction kinds that count as working on a customer's open deals (they stop them going stale)
ACTIVITY_INTERACTIONS = ("call", "message", "visit", "note")


@hookimpl
def crm_reports():
    from .reports import REPORTS

    return REPORTS


@hookimpl
def crm_jobs():
    from .jobs import JOBS

    return JOBS


@hookimpl
def crm_search_fields():
    from .search import SEARCH_FIELDS

    return SEARCH_FIELDS


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import deals_section

    return deals_section(uow, customer)


@hookimpl
def crm_demo_seed(uow, customers, rng):
    from .demo import seed

    return seed(uow, customers, rng)


@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    if interaction.kind not in ACTIVITY_INTERACTIONS:
        return
    from sqlalchemy import update

    from .models import Deal

    uow.session.execute(update(Deal).where(
        Deal.customer_id == customer.id, Deal.status == "open", Deal.last_activity_at < interaction.occurred_at,
    ).values(last_activity_at=interaction.occurred_at, stale_notified_at=None).execution_options(
        synchronize_session=False))


@hookimpl
def crm_web_boards():
    from .web import boards

    return boards()


@hookimpl
def crm_web_dashboard_widgets(uow, user, dashboard):
    from .web import dashboard_widgets

    return dashboard_widgets(uow, user, dashboard)


@hookimpl
def crm_customer_timeline(uow, customer, before, limit):
    from .timeline import timeline_entries

    return timeline_entries(uow, customer, before, limit)
