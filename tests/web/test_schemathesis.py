"""The OpenAPI description is exact (issue 29): schemathesis runs every check it has over every
operation — valid requests accepted, invalid ones refused, only documented status codes, response
schemas and headers, the real ``Allow`` on 405 — with a bounded number of examples, and no failure
is allowed.

(Run through schemathesis' engine rather than ``schemathesis.pytest.from_fixture``, which does not
run under pytest 9. The stateful phase is off: the API declares no links between operations.)
"""

from __future__ import annotations

import re

import schemathesis
from schemathesis.engine import events, from_schema

from crmcore.testing import make_customer

from .conftest import bearer


def run_schemathesis(app, headers: dict[str, str], max_examples: int) -> tuple[int, list[str]]:
    """``(requests checked, failures)`` of a deterministic run over the description of ``app``."""
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", app, headers=headers)
    # a cursor is opaque and signed: a made-up one is refused with 400 as documented, so generated
    # requests
    # ask for first pages (the cursor's 400 is tested in test_pagination.py)
    schema.config.update(headers=headers, parameters={"query.cursor": ""})
    schema.config.generation.update(max_examples=max_examples, deterministic=True)
    schema.config.phases.stateful.enabled = False
    failures, checked = [], 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, nodes in event.recorder.checks.items():
                checked += 1
                for node in nodes:
                    if node.failure_info is not None:
                        interaction = event.recorder.interactions.get(case_id)
                        body = interaction.request.body if interaction else None
                        sent = body[:300] if body else b""
                        failures.append(
                            f"{event.recorder.label} {node.name}: "
                            f"{str(node.failure_info.failure)[:300]} {sent!r}"
                        )
        elif isinstance(event, events.NonFatalError):
            failures.append(f"error: {str(event.info)[:300]}")
    return checked, failures


def test_schemathesis_finds_nothing_the_description_does_not_say(client, users, crm_app):
    make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    checked, failures = run_schemathesis(client.app, bearer(users["admin"]), max_examples=5)
    assert checked > 200
    assert failures == []


def test_a_method_a_path_does_not_serve_is_405_with_every_method_it_does(client, users, crm_app):
    cid = make_customer(crm_app, "مریم رضایی")
    h = bearer(users["admin"])
    for path, method, allowed in (
        ("/api/customers", "DELETE", "GET, POST"),
        (f"/api/customers/{cid}", "PUT", "GET, PATCH"),
        (f"/api/customers/{cid}/interactions", "OPTIONS", "GET, POST"),
        ("/api/tokens", "PATCH", "GET, POST"),
    ):
        response = client.request(method, path, headers=h)
        assert response.status_code == 405, (path, response.text)
        assert response.headers["allow"] == allowed, path
        assert response.json()["error"] == f"{method} is not allowed here (allowed: {allowed})"


def test_the_description_states_the_real_constraints(client, users, crm_app):
    h = bearer(users["viewer"])
    doc = client.get("/api/openapi.json", headers=h).json()
    schemas = doc["components"]["schemas"]
    date = re.compile(schemas["CustomerIn"]["properties"]["birthday"]["anyOf"][0]["pattern"])
    assert [
        d
        for d in (
            "2024-02-29",
            "2025-02-29",
            "1403-12-30",
            "1404-12-30",
            "1403-07-31",
            "1403-06-31",
        )
        if date.fullmatch(d)
    ] == ["2024-02-29", "1403-12-30", "1403-06-31"]
    assert schemas["UserIn"]["properties"]["password"]["minLength"] == 10
    kinds = schemas["InteractionIn"]["properties"]["kind"]["enum"]
    assert {"purchase", "refund", "note", "call"} <= set(kinds)
    assert schemas["CustomerIn"]["properties"]["attributes"]["additionalProperties"] is False
    for path, op in (("/api/customers", "post"), ("/api/tokens", "get")):
        assert {"400", "401", "403", "422"} <= set(doc["paths"][path][op]["responses"])
    assert "Link" in doc["paths"]["/api/customers"]["get"]["responses"]["200"]["headers"]
    admin = bearer(users["admin"])
    for body in (
        {"username": "omid", "password": "short", "role": "agent"},
        {"username": "omid", "password": "a long enough password", "role": "boss"},
    ):
        assert client.post("/api/users", json=body, headers=admin).status_code == 422
    cid = make_customer(crm_app, "سارا")
    refused = client.patch(f"/api/customers/{cid}", json={"birthday": "2025-02-29"}, headers=admin)
    assert refused.status_code == 422 and refused.json()["field"] == "birthday"
    assert (
        client.patch(
            f"/api/customers/{cid}", json={"birthday": "1403-12-30"}, headers=admin
        ).status_code
        == 200
    )
    wrong_type = client.patch(f"/api/customers/{cid}", json={"consent_sms": "true"}, headers=admin)
    assert wrong_type.status_code == 422 and wrong_type.json()["field"] == "consent_sms"
    rial_cents = client.post(
        f"/api/customers/{cid}/interactions",
        headers=admin,
        json={"kind": "purchase", "amount": "12.5"},
    )
    assert rial_cents.status_code == 422
    dollars = client.post(
        f"/api/customers/{cid}/interactions",
        headers=admin,
        json={"kind": "purchase", "amount": "12.50", "currency": "USD"},
    )
    assert dollars.status_code == 201, dollars.text
