"""Property-based API testing: schemathesis generates requests (valid and invalid) from the OpenAPI description
for every operation; none may cause a server error.

(Driven by hand rather than with ``schemathesis.pytest.from_fixture``, which does not run under pytest 9.)
"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from crmcore.testing import make_customer

from .conftest import bearer


def test_no_generated_request_causes_a_server_error(client, users, crm_app):
    make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    headers = bearer(users["admin"])
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", client.app, headers=headers)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 14
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=8, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        check()
