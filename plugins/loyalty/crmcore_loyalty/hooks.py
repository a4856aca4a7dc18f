"""The loyalty plugin's hook implementations: purchase accrual and refund reversal, reports, jobs, profile,
search fields, customer merges, demo data."""

from __future__ import annotations

from crmcore.api import hookimpl


@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    if interaction.kind == "purchase":
        from .batch import enqueue_purchase

        enqueue_purchase(uow, interaction)
    elif interaction.kind == "refund" and interaction.related_id is not None:
        from .accrual import reverse_refund

        reverse_refund(uow, interaction, customer)


@hookimpl
def crm_jobs():
    from .jobs import JOBS

    return JOBS


@hookimpl
def crm_reports():
    from .reports import REPORTS

    return REPORTS


@hookimpl
def crm_search_fields():
    from .profile import POINTS_FIELD

    return [POINTS_FIELD]


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import profile_section

    return profile_section(uow, customer)


@hookimpl
def crm_check_database(uow):
    from .check import check_ledger, problem_lines

    return problem_lines(check_ledger(uow))


@hookimpl
def crm_customers_merged(uow, kept, merged):
    from .merge import merge_members

    merge_members(uow, kept, merged)


@hookimpl
def crm_demo_seed(uow, customers, rng):
    from .demo import seed

    return seed(uow, customers, rng)


@hookimpl
def crm_web_dashboard_widgets(uow, user, dashboard):
    from .web import dashboard_widgets

    return dashboard_widgets(uow, user, dashboard)


@hookimpl
def crm_web_routes():
    from .web import routes

    return routes()


@hookimpl
def crm_web_menu():
    from .web import menu

    return menu()


@hookimpl
def crm_customer_summary(uow, customer):
    from .profile import summary_facts

    return summary_facts(uow, customer)


@hookimpl
def crm_customer_actions(uow, customer):
    from .web import customer_actions

    return customer_actions(uow, customer)


@hookimpl
def crm_customer_timeline(uow, customer, before, limit):
    from .profile import timeline_entries

    return timeline_entries(uow, customer, before, limit)
