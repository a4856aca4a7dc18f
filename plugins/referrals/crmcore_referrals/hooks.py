"""The referrals plugin's hook implementations: the ``referral_code`` attribute a new customer may carry,
purchases that qualify a referral, refunds that reverse it, merges, forgetting, reports, profile, demo."""

from __future__ import annotations

from crmcore.api import AttributeSpec, ValidationError, hookimpl

ATTRIBUTE = "referral_code"


@hookimpl
def crm_customer_attributes():
    return [
        AttributeSpec(
            ATTRIBUTE,
            "str",
            help="the referral code of the member who brought this customer (کد معرف)",
        )
    ]


@hookimpl
def crm_validate_customer(uow, customer, changes):
    """An unknown, expired or own code refuses the new customer, so nothing is stored."""
    code = (changes.get("attributes") or {}).get(ATTRIBUTE) if isinstance(changes, dict) else None
    if not code:
        return []
    from . import service

    try:
        referrer = service.referrer_of_code(uow, code)
    except ValidationError as exc:
        return [str(exc)]
    if customer.id is not None and customer.id == referrer.id:
        return ["a member cannot use their own referral code"]
    return []


@hookimpl
def crm_customer_created(uow, customer):
    code = (customer.attributes or {}).get(ATTRIBUTE)
    if code:
        from . import service

        service.attach(uow, customer, code, source="signup")


@hookimpl
def crm_validate_customers(uow, customers):
    """An import's batch: every code checked with a few queries for the whole batch."""
    from .bulk import refusals

    return refusals(uow, customers)


@hookimpl
def crm_customers_created(uow, customers, batch):
    from .bulk import attach_new

    attach_new(uow, customers, batch)


@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    if interaction.kind == "purchase":
        from . import service

        service.on_purchase(uow, interaction, customer)
    elif interaction.kind == "refund" and interaction.related_id is not None:
        from . import service

        service.on_refund(uow, interaction)


@hookimpl
def crm_interactions_recorded(uow, interactions):
    """An import's batch: only the buyers with a pending referral (one query) are looked at."""
    from .bulk import purchases

    purchases(uow, interactions)


@hookimpl
def crm_web_lead_received(uow, customer, created, form):
    """The public form's ``ref`` (a referral code) attaches a new visitor; a known one cannot be referred."""
    code = (form or {}).get("ref")
    if code and created:
        from . import service

        service.attach(uow, customer, code, source="form", device=(form or {}).get("device"))


@hookimpl
def crm_customers_merged(uow, kept, merged):
    from .merge import merge

    uow.cache.pop("referrals.members", None)  # the batch hooks' memory of members (bulk.py)
    merge(uow, kept, merged)


@hookimpl
def crm_reports():
    from .reports import REPORTS

    return REPORTS


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import section

    return section(uow, customer)


@hookimpl
def crm_demo_seed(uow, customers, rng):
    from .demo import seed

    return seed(uow, customers, rng)
