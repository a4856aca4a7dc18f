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

    uow.session.execute(
        update(Deal)
        .where(
            Deal.customer_id == customer.id,
            Deal.status == "open",
            Deal.last_activity_at < interaction.occurred_at,
        )
        .values(last_activity_at=interaction.occurred_at, stale_notified_at=None)
        .execution_options(synchronize_session=False)
    )


@hookimpl
def crm_interactions_recorded(uow, interactions):
    """An import's batch: one UPDATE freshens the open deals of every customer with contact in
    it."""
    latest: dict[int, object] = {}
    for i in interactions:
        if i.kind in ACTIVITY_INTERACTIONS and (
            i.customer_id not in latest or i.occurred_at > latest[i.customer_id]
        ):
            latest[i.customer_id] = i.occurred_at
    if not latest:
        return
    from sqlalchemy import case, literal, update

    from .models import Deal

    column_type = Deal.__table__.c.last_activity_at.type  # bound as the column stores its times
    newest = case(
        {cid: literal(at, column_type) for cid, at in latest.items()}, value=Deal.customer_id
    )
    uow.session.execute(
        update(Deal)
        .where(
            Deal.customer_id.in_(list(latest)),
            Deal.status == "open",
            Deal.last_activity_at < newest,
        )
        .values(last_activity_at=newest, stale_notified_at=None)
        .execution_options(synchronize_session=False)
    )


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


@hookimpl
def crm_customer_actions(uow, customer):
    from .web_pages import customer_actions

    return customer_actions(uow, customer)


@hookimpl
def crm_web_lead_received(uow, customer, created, form):
    from .leads import lead_from_web_form

    lead_from_web_form(uow, customer, form)


@hookimpl
def crm_web_routes():
    from .web_api import routes as api
    from .web_pages import routes as pages

    return api() + pages()


@hookimpl
def crm_web_menu():
    from .web_pages import menu

    return menu()
