"""The transfers plugin's hook implementations: the program section it owns, reports, jobs, profile,
customer merges and forgetting, demo data."""

from __future__ import annotations

from crmcore.api import hookimpl


@hookimpl
def loyalty_program_sections():
    from .policy import validate_section

    return {"transfers": validate_section}


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
    from .profile import profile_section

    return profile_section(uow, customer)


@hookimpl(trylast=True)  # after loyalty's part (pluggy calls later-registered plugins first)
def crm_demo_seed(uow, customers, rng):
    from .demo import seed

    return seed(uow, customers, rng)


@hookimpl(optionalhook=True)  # a question of the referrals plugin, when it is installed
def referrals_same_household(uow, first, second):
    """Members of one family group are one household: one may not refer the other."""
    from .family import membership

    a, b = membership(uow, first.id), membership(uow, second.id)
    return (
        "one family group"
        if a is not None and b is not None and a.family_id == b.family_id
        else None
    )


@hookimpl
def crm_web_routes():
    from .web import routes

    return routes()


@hookimpl
def crm_web_menu():
    from .web import menu

    return menu()
