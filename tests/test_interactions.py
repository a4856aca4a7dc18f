import pytest
from sqlalchemy import func, select

from crmcore.api import Conflict, NotFound, ValidationError, get_customer, record_interaction
from crmcore.storage.models import Interaction
from crmcore.testing import make_customer, outbox_events, record_purchase


def _record(app, cid, **fields):
    with app.unit_of_work() as uow:
        return record_interaction(uow, get_customer(uow.session, cid), **fields).id


def test_purchase_is_stored_exactly_in_utc_and_announced(crm_app):
    cid = make_customer(crm_app)
    iid = _record(
        crm_app,
        cid,
        kind="purchase",
        amount="1,250,000",
        occurred_at="1403-07-15 14:30",
        external_id="INV-1",
        payload={"lines": [{"sku": "TEA-01", "quantity": 2, "amount": "1250000"}]},
    )
    with crm_app.unit_of_work(readonly=True) as uow:
        i = uow.session.get(Interaction, iid)
        assert (i.amount_minor, i.currency, i.occurred_at.isoformat()) == (
            1_250_000,
            "IRR",
            "2024-10-06T11:00:00+00:00",
        )
    event = outbox_events(crm_app, "crm_interaction_recorded")[0]
    assert event["customer_id"] == cid and event["payload"]["amount"] == "1250000"


@pytest.mark.parametrize(
    "fields, field, reason",
    [
        ({"kind": "purchase"}, "amount", "needs an amount"),
        ({"kind": "purchase", "amount": "12.345", "currency": "USD"}, "amount", "more decimals"),
        ({"kind": "purchase", "amount": "-5"}, "amount", "positive"),
        ({"kind": "teleport"}, "kind", "unknown interaction kind"),
        ({"kind": "call", "direction": "sideways"}, "direction", "not a direction"),
        ({"kind": "visit", "occurred_at": "1404/12/30"}, "occurred_at", "Jalali"),
    ],
)
def test_bad_interactions_are_refused_and_nothing_is_stored(crm_app, fields, field, reason):
    cid = make_customer(crm_app)
    with pytest.raises(ValidationError, match=reason) as err:
        _record(crm_app, cid, **fields)
    assert err.value.field == field
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count(Interaction.id))) == 0


def test_external_id_is_unique_per_kind(crm_app):
    cid = make_customer(crm_app)
    record_purchase(crm_app, cid, 1000, external_id="A1")
    with pytest.raises(Conflict, match="already recorded"):
        record_purchase(crm_app, cid, 1000, external_id="A1")
    _record(crm_app, cid, kind="call", external_id="A1")  # another kind may reuse it


def test_refund_must_point_at_a_purchase_of_the_same_customer(crm_app):
    a, b = make_customer(crm_app, "الف"), make_customer(crm_app, "ب")
    p = record_purchase(crm_app, a, 1000)
    call = _record(crm_app, a, kind="call")
    record_purchase(crm_app, a, 400, kind="refund", related_id=p)
    with pytest.raises(ValidationError, match="another customer"):
        record_purchase(crm_app, b, 400, kind="refund", related_id=p)
    with pytest.raises(ValidationError, match="not a purchase"):
        record_purchase(crm_app, a, 400, kind="refund", related_id=call)
    with pytest.raises(NotFound, match="no interaction"):
        record_purchase(crm_app, a, 400, kind="refund", related_id=9999)
