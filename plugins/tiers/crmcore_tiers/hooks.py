"""The tiers plugin's hook implementations: the ladder section of the loyalty program, upgrades on purchases
and points, the earning multiplier, reports, jobs, search fields, profile, merges, demo."""

from __future__ import annotations

from crmcore.api import hookimpl

NON_POINT_METRICS = {"spend", "purchases"}


@hookimpl
def loyalty_program_sections():
    from .ladder import validate_section

    return {"tiers": validate_section}


@hookimpl(tryfirst=True)
def crm_interaction_recorded(uow, interaction, customer):
    """Before loyalty queues a purchase: make sure this member's earlier purchases of the same unit of work are
    accrued first (their upgrade must set the multiplier of this one), join the member, and upgrade on spend or
    number of purchases (this purchase still earns at the old tier's rate)."""
    if interaction.kind != "purchase":
        return
    from .service import check_upgrade, ladder_of

    ladder = ladder_of(uow)
    if ladder is None:
        return
    undrained = uow.cache.setdefault("tiers.undrained", set())
    if customer.id in undrained:
        from crmcore_loyalty import api as loyalty

        loyalty.balance(uow, customer.id)  # accrues every purchase queued so far, in order
        undrained.clear()
    undrained.add(customer.id)
    check_upgrade(
        uow,
        ladder,
        customer.id,
        interaction.occurred_at,
        interaction_id=interaction.id,
        metrics=NON_POINT_METRICS,
        customer=customer,
    )


@hookimpl
def loyalty_points_earned(uow, customer, entry):
    """Points from a purchase may cross a points threshold: upgrade at once (from the next purchase on, the
    new tier's multiplier applies)."""
    if entry is None or entry.kind != "earn":
        return
    from .service import check_upgrade, ladder_of

    ladder = ladder_of(uow)
    if ladder is None:
        return
    check_upgrade(
        uow,
        ladder,
        entry.customer_id,
        entry.occurred_at,
        interaction_id=entry.interaction_id,
        metrics={"points"},
        customer=customer,
    )


@hookimpl
def loyalty_earning_multiplier(uow, customer, interaction):
    from .service import earning_multiplier

    return earning_multiplier(uow, customer, interaction)


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
    from .profile import SEARCH_FIELDS

    return SEARCH_FIELDS


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import profile_section

    return profile_section(uow, customer)


@hookimpl(trylast=True)
def crm_customers_merged(uow, kept, merged):
    from .merge import merge_members

    merge_members(uow, kept, merged)


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


@hookimpl
def crm_customer_summary(uow, customer):
    from .profile import summary_badge

    return summary_badge(uow, customer)


@hookimpl
def crm_web_customer_badges(uow, customer_ids):
    from .profile import list_badges

    return list_badges(uow, customer_ids)


@hookimpl
def crm_customer_timeline(uow, customer, before, limit):
    from .profile import timeline_entries

    return timeline_entries(uow, customer, before, limit)
