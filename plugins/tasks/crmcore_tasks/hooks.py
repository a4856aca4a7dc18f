"""Hook implementations of the tasks plugin: the follow-up hook other plugins call, kernel events (merge,
forget), and the plugin's contributions (reports, jobs, profile section, demo data)."""

from __future__ import annotations

from crmcore.api import hookimpl


@hookimpl
def tasks_create_follow_up(uow, customer_id, title, kind, due_at, dedup_key, source, reference):
    from .service import create_follow_up

    return create_follow_up(
        uow,
        customer_id=customer_id,
        title=title,
        kind=kind or "follow_up",
        due_at=due_at,
        dedup_key=dedup_key,
        source=source,
        reference=reference,
    )


@hookimpl
def crm_customer_forgotten(uow, customer):
    from .privacy import forget_customer_tasks

    forget_customer_tasks(uow, customer)


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import profile_section

    return profile_section(uow, customer)


@hookimpl
def crm_reports():
    from .reports import REPORTS

    return REPORTS


@hookimpl
def crm_jobs():
    from .jobs import JOBS

    return JOBS


@hookimpl
def crm_demo_seed(uow, customers, rng):
    from .demo import seed

    return seed(uow, customers, rng)


@hookimpl
def crm_search_fields():
    from .search import FIELDS

    return FIELDS


@hookimpl
def crm_web_dashboard_widgets(uow, user, dashboard):
    from .web import dashboard_widgets

    return dashboard_widgets(uow, user, dashboard)


@hookimpl
def crm_customer_actions(uow, customer):
    from .web import customer_actions

    return customer_actions(uow, customer)


@hookimpl
def crm_customer_timeline(uow, customer, before, limit):
    from .profile import timeline_entries

    return timeline_entries(uow, customer, before, limit)


@hookimpl
def crm_web_routes():
    from .web import routes

    return routes()


@hookimpl
def crm_web_menu():
    from .web import menu

    return menu()
