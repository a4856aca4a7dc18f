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
def crm_web_routes():
    """The Twilio and JSON webhooks inside ``crm web``, at ``/hooks/voip/voip/twilio`` and ``…/voip/webhook``:
    public (no login), because every request must carry a valid signature (see :mod:`.webapp`)."""
    from crmcore.web.contrib import WebMount

    from . import webapp

    return [WebMount("/", factory=lambda crm: webapp.create_app(crm), public=True)]
