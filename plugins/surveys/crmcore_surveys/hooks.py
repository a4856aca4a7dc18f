"""Hook implementations of the surveys plugin: registries, triggers on domain events (the kernel's purchases,
tickets' closed tickets and pipeline's won deals, both optional), merges, forgetting, profile, demo."""

from __future__ import annotations

from sqlalchemy import select, update

from crmcore.api import hookimpl

from .answers import INTERACTION_KIND


@hookimpl
def crm_reports():
    from .reports import REPORTS

    return REPORTS


@hookimpl
def crm_jobs():
    from .jobs import JOBS

    return JOBS


@hookimpl
def crm_interaction_kinds():
    return [INTERACTION_KIND]


@hookimpl
def crm_interaction_recorded(uow, interaction, customer):
    if interaction.kind == "purchase":
        from .triggers import on_purchase

        on_purchase(uow, interaction, customer)
    elif (
        interaction.kind == "message"
        and interaction.channel == "sms"
        and interaction.direction == "in"
    ):
        from .replies import on_inbound_sms

        on_inbound_sms(uow, interaction, customer)


@hookimpl
def crm_interactions_recorded(uow, interactions):
    """An import's batch: nothing to do without a purchase or spend trigger (asked once); otherwise
    the recent purchases' customers are read with one query."""
    from .triggers import on_purchase_batch

    on_purchase_batch(uow, interactions)


@hookimpl(optionalhook=True)
def tickets_ticket_closed(uow, ticket):
    from .triggers import on_other_event

    on_other_event(
        uow, "ticket_closed", getattr(ticket, "customer_id", None), f"ticket:{ticket.id}"
    )


@hookimpl(optionalhook=True)
def pipeline_deal_won(uow, deal):
    from .triggers import on_other_event

    on_other_event(uow, "deal_won", getattr(deal, "customer_id", None), f"deal:{deal.id}")


@hookimpl
def crm_customer_forgotten(uow, customer):
    """Keep scores and dates (anonymous aggregates); drop the free-text answers (comments and notes
    are erased as models.py declares) and cancel pending invitations."""
    from .models import Invitation, Response, SurveyVersion

    text_keys = {}
    for r in uow.session.scalars(select(Response).where(Response.customer_id == customer.id)):
        if r.version_id not in text_keys:
            version = uow.session.get(SurveyVersion, r.version_id)
            text_keys[r.version_id] = {q["key"] for q in version.questions if q["type"] == "text"}
        r.answers = {k: v for k, v in (r.answers or {}).items() if k not in text_keys[r.version_id]}
    uow.session.execute(
        update(Invitation)
        .where(Invitation.customer_id == customer.id, Invitation.status.in_(("created", "queued")))
        .values(status="cancelled")
    )


@hookimpl
def crm_customer_profile(uow, customer):
    from .profile import customer_section

    return customer_section(uow, customer)


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
def crm_interaction_details(interaction):
    from .profile import answer_details

    return answer_details(interaction)
