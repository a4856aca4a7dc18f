"""A won deal is a sale: winning one records a purchase interaction for its customer, so the
kernel's sales reports, loyalty points and purchase messages see it like a purchase at the till.

The deal's id is the purchase's external id (``pipeline-deal-<id>``): winning a deal again after a
reopening records nothing new. Each pipeline can turn it off (``crm pipeline stages record-purchase
CODE off``), e.g. a pipeline of deals whose invoices reach the CRM from the accounting system."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.api import Customer, Interaction, get_setting, record_interaction, set_setting

from .catalog import get_pipeline
from .models import Deal, Pipeline

SETTINGS = "pipeline"
#: the channel of purchases recorded for won deals
CHANNEL = "pipeline"


def _key(pipeline: Pipeline) -> str:
    return f"record_purchase.{pipeline.code}"


def records_purchase(uow, pipeline: Pipeline) -> bool:
    """Whether winning a deal of ``pipeline`` records a purchase (on unless turned off)."""
    return bool(get_setting(uow, SETTINGS, _key(pipeline), True))


def set_records_purchase(uow, pipeline_ref: str | None, on: bool) -> Pipeline:
    pipeline = get_pipeline(uow, pipeline_ref)
    set_setting(uow, SETTINGS, _key(pipeline), bool(on))
    return pipeline


def external_id(deal: Deal) -> str:
    return f"pipeline-deal-{deal.id}"


def purchase_of(uow, deal: Deal) -> Interaction | None:
    """The purchase recorded for ``deal``, if any."""
    return uow.session.scalar(
        select(Interaction).where(
            Interaction.kind == "purchase", Interaction.external_id == external_id(deal)
        )
    )


def record_sale(uow, deal: Deal) -> Interaction | None:
    """Record the purchase of a won deal (once per deal), unless its pipeline says not to or the
    customer was forgotten or merged away (no new data is kept for them)."""
    if deal.status != "won" or not deal.amount_minor or not records_purchase(uow, deal.pipeline):
        return None
    if purchase_of(uow, deal) is not None:
        return None
    customer = uow.session.get(Customer, deal.customer_id)
    if customer is None or not customer.active:
        return None
    return record_interaction(
        uow,
        customer,
        kind="purchase",
        channel=CHANNEL,
        occurred_at=deal.closed_at,
        amount=str(deal.money.amount),
        currency=deal.currency,
        external_id=external_id(deal),
        payload={"deal_id": deal.id, "title": deal.title, "pipeline": deal.pipeline.code},
    )
