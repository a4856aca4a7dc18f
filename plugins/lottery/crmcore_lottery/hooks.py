"""Hook implementations of the lottery plugin: purchase entries, merges, registries, profile, demo."""

from __future__ import annotations

from crmcore.api import hookimpl


@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    if interaction.kind == "purchase":
        from .entries import on_purchase

        on_purchase(uow, interaction)
    elif interaction.kind == "refund":
        from .entries import on_refund

        on_refund(uow, interaction)


@hookimpl
def crm_interactions_recorded(uow, interactions):
    """An import's batch: entries are queued (written with one multi-row insert), refunds
    adjusted."""
    from .entries import on_purchase, on_refund

    for interaction in interactions:
        if interaction.kind == "purchase":
            on_purchase(uow, interaction)
        elif interaction.kind == "refund":
            on_refund(uow, interaction)


@hookimpl
def crm_customers_merged(uow, kept, merged):
    """Buffered entries are written before the kernel moves entries, cards and prizes to the
    surviving customer (models.py); frozen lists keep their participant ids (they are covered by
    published hashes), and winners keep theirs in ``participant``."""
    from .entries import drain

    drain(uow)


@hookimpl
def crm_reports():
    from .reports import REPORTS

    return REPORTS


@hookimpl
def crm_jobs():
    from .jobs import JOBS

    return JOBS


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import customer_section

    return customer_section(uow, customer)


@hookimpl
def crm_demo_seed(uow, customers, rng):
    from .demo import seed

    return seed(uow, customers, rng)


@hookimpl
def crm_web_routes():
    from .web import routes

    return routes()


@hookimpl
def crm_web_menu():
    from .web import menu

    return menu()
