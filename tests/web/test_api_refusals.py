"""The API refuses what the kernel's parsers refuse (amounts beyond the BIGINT columns, control
characters, impossible birthdays and interaction dates) with 422 and the field, storing nothing — on
both databases: PostgreSQL failed on such values with a 500 before."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crmcore.storage.models import Customer, Interaction
from crmcore.testing import make_customer, outbox_events

from .conftest import bearer


def count(app, column) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count(column)))


@pytest.mark.parametrize(
    "body, field",
    [
        ({"name": "سا\x00را"}, "name"),
        ({"name": "سارا", "city": "تهران\x1b[31m"}, "city"),
        ({"name": "سارا", "address": "\x00"}, "address"),
        ({"name": "سارا", "external_id": "C\x00-1"}, "external_id"),
        ({"name": "سارا", "tags": ["vip\x07"]}, "tag"),
        ({"name": "سارا", "birthday": "2099-01-01"}, "birthday"),
        ({"name": "سارا", "birthday": "1478-01-01"}, "birthday"),
        ({"name": "سارا", "birthday": "1899-12-31"}, "birthday"),
    ],
)
def test_a_customer_with_a_refused_value_is_422_with_the_field(client, users, crm_app, body, field):
    response = client.post("/api/customers", json=body, headers=bearer(users["agent"]))
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert count(crm_app, Customer.id) == 0 and outbox_events(crm_app) == []


def test_a_change_with_a_refused_value_is_422_with_the_field(client, users, crm_app):
    cid = make_customer(crm_app, "مریم")
    for body, field in (
        ({"name": "م\x00"}, "name"),
        ({"owner": "\x1b"}, "owner"),
        ({"birthday": "2099-01-01"}, "birthday"),
        ({"add_tags": ["a\x00"]}, "tag"),
    ):
        response = client.patch(f"/api/customers/{cid}", json=body, headers=bearer(users["agent"]))
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field
    assert (
        client.patch(
            f"/api/customers/{cid}",
            json={"birthday": "1370-05-12", "city": "ری"},
            headers=bearer(users["agent"]),
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "body, field",
    [
        ({"kind": "purchase", "amount": "99999999999999999999"}, "amount"),
        ({"kind": "purchase", "amount": "92233720368547758.08", "currency": "USD"}, "amount"),
        ({"kind": "note", "occurred_at": "9999-12-31"}, "occurred_at"),
        ({"kind": "note", "occurred_at": "1850-01-01"}, "occurred_at"),
        ({"kind": "note", "channel": "we\x00b"}, "channel"),
        ({"kind": "note", "payload": {"text": "\x00"}}, "payload.text"),
        ({"kind": "note", "payload": {"a\x00": 1}}, "payload"),
    ],
)
def test_an_interaction_with_a_refused_value_is_422_with_the_field(
    client, users, crm_app, body, field
):
    cid = make_customer(crm_app, "مریم")
    response = client.post(
        f"/api/customers/{cid}/interactions", json=body, headers=bearer(users["agent"])
    )
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert count(crm_app, Interaction.id) == 0
    largest = client.post(
        f"/api/customers/{cid}/interactions",
        json={"kind": "purchase", "amount": "999999999999999"},
        headers=bearer(users["agent"]),
    )
    # the API's description allows 15 digits (exact for schemathesis); the kernel stores up to BIGINT
    assert largest.status_code == 201 and largest.json()["amount"] == "999999999999999", (
        largest.text
    )
