"""The JSON API: authentication and roles, Persian search, bad input refused with nothing stored, audit."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crmcore.api import hookimpl
from crmcore.services.profile import ProfileSection
from crmcore.storage.models import AuditEntry, Customer
from crmcore.testing import make_customer, outbox_events

from .conftest import bearer, login


def count_customers(app) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count(Customer.id)))


def audit(app, action: str | None = None) -> list[tuple[str, str, str]]:
    with app.unit_of_work(readonly=True) as uow:
        q = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            q = q.where(AuditEntry.action == action)
        return [(e.actor, e.action, e.entity) for e in uow.session.scalars(q)]


def test_no_api_call_works_without_credentials(client, users, crm_app):
    cid = make_customer(crm_app, "مریم رضایی")
    schema = client.get("/api/openapi.json", headers=bearer(users["viewer"])).json()
    assert client.get("/api/openapi.json").status_code == 401
    for path, operations in schema["paths"].items():
        url = (
            path.replace("{customer_id}", str(cid))
            .replace("{name}", "x")
            .replace("{username}", "admin")
        )
        for method in operations:
            response = client.request(method.upper(), url, json={})
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"].startswith("authentication required")
    assert client.get("/events/calls").status_code == 401
    bad = client.get("/api/customers", headers=bearer("crm_not-a-real-token"))
    assert bad.status_code == 401


def test_search_normalises_persian_and_finds_any_phone_format(client, users):
    h = bearer(users["agent"])
    made = client.post(
        "/api/customers",
        json={"name": "علی‌رضا كريمي", "phones": ["0912 123 4567"], "city": "تهران"},
        headers=h,
    )
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    for query in ("علیرضا کریمی", "كريمي", "کریمی علی", "۰۹۱۲۱۲۳۴۵۶۷", "+989121234567"):
        found = client.get("/api/customers", params={"q": query}, headers=h).json()["results"]
        assert [m["id"] for m in found] == [cid], query
    assert client.get("/api/customers", params={"q": "زهرا"}, headers=h).json()["results"] == []


@pytest.mark.parametrize(
    "body, status, field",
    [
        ({"name": "سارا", "phones": ["12345"]}, 422, "phone"),
        ({"name": "سارا", "emails": ["sara@"]}, 422, "email"),
        ({"name": "سارا", "birthday": "1404-12-30"}, 422, "birthday"),
        ({"name": ""}, 422, "name"),
        ({"name": 42}, 422, "name"),
        ({"name": "سارا", "colour": "blue"}, 422, "colour"),
        ({"phones": ["09121234567"]}, 422, "name"),
    ],
)
def test_bad_customer_input_is_refused_with_the_field_and_nothing_is_stored(
    client, users, crm_app, body, status, field
):
    response = client.post("/api/customers", json=body, headers=bearer(users["agent"]))
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert count_customers(crm_app) == 0
    assert outbox_events(crm_app) == []


def test_malformed_json_and_oversized_bodies_are_refused(client, users, crm_app):
    h = {**bearer(users["agent"]), "Content-Type": "application/json"}
    broken = client.post("/api/customers", content=b'{"name": "a"', headers=h)
    assert broken.status_code == 400
    assert "not valid JSON" in broken.json()["error"]
    huge = client.post(
        "/api/customers", content=b'{"name": "' + b"x" * 2_000_000 + b'"}', headers=h
    )
    assert huge.status_code == 413
    assert "larger than" in huge.json()["error"]
    assert count_customers(crm_app) == 0


def test_roles_decide_what_each_user_may_do(client, users, crm_app):
    cid = make_customer(crm_app, "مریم رضایی")
    new = {"name": "نگار"}
    assert client.get(f"/api/customers/{cid}", headers=bearer(users["viewer"])).status_code == 200
    refused = client.post("/api/customers", json=new, headers=bearer(users["viewer"]))
    assert refused.status_code == 403
    assert "needs write access" in refused.json()["error"]
    assert (
        client.patch(
            f"/api/customers/{cid}", json={"city": "قم"}, headers=bearer(users["viewer"])
        ).status_code
        == 403
    )
    assert (
        client.post("/api/customers", json=new, headers=bearer(users["agent"])).status_code == 201
    )
    assert client.get("/api/users", headers=bearer(users["manager"])).status_code == 403
    listed = client.get("/api/users", headers=bearer(users["admin"]))
    assert [u["username"] for u in listed.json()] == ["admin", "agent", "manager", "viewer"]
    assert count_customers(crm_app) == 2


def test_token_level_caps_its_user_and_revoked_tokens_stop_working(client, users):
    admin = bearer(users["admin"])
    made = client.post("/api/tokens", json={"name": "reporting", "level": "read"}, headers=admin)
    assert made.status_code == 201
    read_only = bearer(made.json()["token"])
    assert client.get("/api/me", headers=read_only).json()["level"] == "read"
    assert client.post("/api/customers", json={"name": "x"}, headers=read_only).status_code == 403
    escalate = client.post(
        "/api/tokens", json={"name": "more", "level": "admin"}, headers=read_only
    )
    assert escalate.status_code == 403
    assert client.delete("/api/tokens/reporting", headers=admin).status_code == 204
    assert client.get("/api/me", headers=read_only).status_code == 401
    assert client.post("/api/tokens", json={"name": "tests"}, headers=admin).status_code == 409


def test_deactivated_users_lose_their_tokens_and_sessions(client, users, crm_app):
    csrf = login(client, "agent")
    assert client.get("/api/me").json()["via"] == "session"
    changed = client.patch(
        "/api/users/agent", json={"active": False}, headers=bearer(users["admin"])
    )
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert client.get("/api/me", headers=bearer(users["agent"])).status_code == 401
    assert client.get("/api/me", headers={"X-CSRF-Token": csrf}).status_code == 401


def test_the_last_admin_cannot_be_demoted(client, users):
    response = client.patch(
        "/api/users/admin", json={"role": "agent"}, headers=bearer(users["admin"])
    )
    assert response.status_code == 409
    assert "last active admin" in response.json()["error"]


def test_session_callers_need_the_csrf_header_for_changes(client, users, crm_app):
    csrf = login(client, "agent")
    assert client.post("/api/customers", json={"name": "بی‌توکن"}).status_code == 403
    assert (
        client.post(
            "/api/customers", json={"name": "بی‌توکن"}, headers={"X-CSRF-Token": "wrong"}
        ).status_code
        == 403
    )
    assert count_customers(crm_app) == 0
    made = client.post("/api/customers", json={"name": "با توکن"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


def test_every_change_is_audited_with_its_user(client, users, crm_app):
    cid = client.post(
        "/api/customers", json={"name": "پریسا"}, headers=bearer(users["agent"])
    ).json()["id"]
    csrf = login(client, "manager")
    assert (
        client.patch(
            f"/api/customers/{cid}",
            json={"city": "شیراز", "add_tags": ["vip"]},
            headers={"X-CSRF-Token": csrf},
        ).status_code
        == 200
    )
    note = client.post(
        f"/api/customers/{cid}/interactions",
        json={"kind": "note", "payload": {"text": "تماس گرفت"}},
        headers=bearer(users["agent"]),
    )
    assert note.status_code == 201
    entries = audit(crm_app)
    assert ("agent (token tests)", "create", "customer") in entries
    assert ("manager", "update", "customer") in entries
    assert ("agent (token tests)", "record", "interaction") in entries
    assert ("manager", "login", "web_user") in entries


def test_customer_show_has_plugin_sections_hidden_by_per_plugin_permission(
    crm_app_factory, make_client, users
):
    class Club:
        @hookimpl
        def crm_customer_profile(self, uow, customer):
            return ProfileSection(key="club", title="Club", data={"points": 1200, "tier": "gold"})

    app = crm_app_factory(extra_plugins=[("club", Club(), None)])
    client = make_client(app)
    cid = make_customer(app, "مریم")
    shown = client.get(f"/api/customers/{cid}", headers=bearer(users["viewer"])).json()
    assert shown["sections"] == {"club": {"points": 1200, "tier": "gold"}}
    assert (
        client.patch(
            "/api/users/viewer",
            json={"permissions": {"club": "none"}},
            headers=bearer(users["admin"]),
        ).status_code
        == 200
    )
    hidden = client.get(f"/api/customers/{cid}", headers=bearer(users["viewer"])).json()
    assert hidden["sections"] == {}


def test_reports_run_with_jalali_periods(client, users, crm_app):
    from crmcore.testing import record_purchase

    cid = make_customer(crm_app, "مریم")
    record_purchase(crm_app, cid, "1250000", at="1403-07-15 10:00")
    names = [r["name"] for r in client.get("/api/reports", headers=bearer(users["viewer"])).json()]
    assert "sales.by_period" in names
    result = client.get(
        "/api/reports/sales.by_period",
        params={"calendar": "jalali", "period": "month"},
        headers=bearer(users["viewer"]),
    ).json()
    assert result["rows"][0][0] == "1403-07"
    assert "1250000" in [str(v) for v in result["rows"][0]]
    unknown = client.get("/api/reports/nope", headers=bearer(users["viewer"]))
    assert unknown.status_code == 404 and "unknown report" in unknown.json()["error"]
    bad_date = client.get(
        "/api/reports/sales.by_period",
        params={"from": "1403-13-01"},
        headers=bearer(users["viewer"]),
    )
    assert bad_date.status_code == 422 and bad_date.json()["field"] == "from"


def test_report_specific_options_reach_the_report(crm_app_factory, make_client, users):
    from crmcore.api import Report, ReportResult

    class Echo:
        @hookimpl
        def crm_reports(self):
            return [
                Report(
                    "echo.options",
                    "Options",
                    "echoes its options",
                    lambda uow, params: ReportResult(
                        ["name", "value"], sorted(params.options.items())
                    ),
                )
            ]

    client = make_client(crm_app_factory(extra_plugins=[("echo", Echo(), None)]))
    h = bearer(users["viewer"])
    result = client.get(
        "/api/reports/echo.options",
        params=[("option", "tier=gold"), ("option", "top=5")],
        headers=h,
    )
    assert result.json()["rows"] == [["tier", "gold"], ["top", "5"]]
    bad = client.get("/api/reports/echo.options", params={"option": "gold"}, headers=h)
    assert bad.status_code == 422 and bad.json() == {
        "error": "'gold' is not NAME=VALUE",
        "field": "option",
    }
