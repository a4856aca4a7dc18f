"""The voip plugin's hook implementations: kernel events, reports, jobs, profile section, demo data."""

from __future__ import annotations

from crmcore.api import hookimpl


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
    from .profile import voip_profile_section

    return voip_profile_section(uow, customer)


@hookimpl
def crm_interaction_details(interaction):
    """A call's outcome in the customer's history: answered and for how long, or missed."""
    from .profile import call_outcome

    return call_outcome(interaction)


@hookimpl
def crm_demo_seed(uow, customers, rng):
    from .demo import seed_demo

    return seed_demo(uow, customers, rng)


@hookimpl
def crm_customer_created(uow, customer):
    """Past calls from this customer's numbers (unknown callers until now) join their history."""
    from .service import link_calls_to_customer

    link_calls_to_customer(uow, customer)


@hookimpl
def crm_customer_updated(uow, customer, changes):
    if "phones_added" in changes:
        from .service import link_calls_to_customer

        link_calls_to_customer(uow, customer)


@hookimpl
def crm_customers_created(uow, customers):
    """An import's batch: past calls from the new customers' numbers, found and linked set-based."""
    from .bulk import link_calls_to_numbers

    link_calls_to_numbers(uow, [(c.id, c.phones) for c in customers])


@hookimpl
def crm_customers_updated(uow, customers):
    from .bulk import link_calls_to_numbers

    link_calls_to_numbers(
        uow, [(c.id, c.changes["phones_added"]) for c in customers if "phones_added" in c.changes]
    )


@hookimpl
def crm_web_routes():
    """The Twilio and JSON webhooks inside ``crm web``, at ``/hooks/voip/voip/twilio`` and ``…/voip/webhook``:
    public (no login), because every request must carry a valid signature (see :mod:`.webapp`); the
    call log, missed calls and click-to-call pages and API (:mod:`.web`)."""
    from crmcore.api import WebMount

    from . import webapp
    from .web import routes

    return routes(WebMount("/", factory=lambda crm: webapp.create_app(crm), public=True))


@hookimpl
def crm_web_menu():
    from .web import MENU

    return MENU


@hookimpl
def crm_web_phone_actions():
    from .web import PHONE_ACTIONS

    return PHONE_ACTIONS
