"""The loyalty club in the web (issue 28): the counter's find-and-redeem flow, the member's page
with a manager's adjustment, voucher lookup, the catalogue and the simulator, the API routes in
OpenAPI, refusals beside their field with nothing stored, and 403 without the permission."""

import re

import pytest
from crmcore_loyalty import api
from crmcore_loyalty.testing import balance, kinds, load

from crmcore.testing import make_customer
from crmcore.testing.web import login, web_client

PROGRAM = """
[program]
name = "club"
currency = "USD"
calendar = "gregorian"
expiry = "12 months"
[[rules]]
name = "per-dollar"
kind = "per_amount"
points = 1
per = "1"
[[rewards]]
code = "coffee"
title = "Free coffee"
title_fa = "قهوه رایگان"
kind = "free_item"
sku = "COFFEE"
cost = 100
valid_days = 30
"""
PASSWORD = "a long enough password"


@pytest.fixture
def users(crm_app, monkeypatch):
    from argon2 import PasswordHasher, profiles

    from crmcore.testing import add_user, create_token, set_permission

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    tokens = {}
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "cashier", PASSWORD, "agent")
        add_user(uow, "boss", PASSWORD, "manager")
        add_user(uow, "clerk", PASSWORD, "agent")
        set_permission(uow, "clerk", "loyalty", "none")
        add_user(uow, "viewer", PASSWORD, "read-only")
        for name in ("cashier", "boss", "clerk", "viewer"):
            tokens[name] = create_token(uow, name, "tests")[1]
    return tokens


@pytest.fixture
def member(crm_app):
    load(crm_app, PROGRAM)
    cid = make_customer(crm_app, "مریم کریمی", phones=["09121234567"])
    with crm_app.unit_of_work() as uow:
        api.credit(uow, cid, 250, kind="adjust", reason="welcome")
    return cid


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_cashier_finds_by_phone_and_redeems_with_confirmation(crm_app, users, member):
    with web_client(crm_app) as client:
        csrf = login(client, "cashier", PASSWORD)
        found = client.get("/p/loyalty/", params={"q": "0912 123 4567"})
        assert found.status_code == 200
        assert str(found.url).endswith(f"/p/loyalty/members/{member}/redeem")
        assert "قهوه رایگان" in found.text and "۲۵۰" in found.text
        confirm = client.get(f"/p/loyalty/members/{member}/redeem", params={"reward": "coffee"})
        key = re.search(r'name="key" value="([^"]+)"', confirm.text).group(1)
        assert balance(crm_app, member) == 250  # choosing stores nothing
        done = client.post(
            f"/p/loyalty/members/{member}/redeem",
            data={"csrf_token": csrf, "reward": "coffee", "key": key},
        )
        assert done.status_code == 200
        assert balance(crm_app, member) == 150
        again = client.post(
            f"/p/loyalty/members/{member}/redeem",
            data={"csrf_token": csrf, "reward": "coffee", "key": key},
        )
        assert again.status_code == 200 and balance(crm_app, member) == 150  # pressed twice: once
        with crm_app.unit_of_work(readonly=True) as uow:
            code = api.voucher_of(
                uow,
                uow.session.scalars(__import__("sqlalchemy").select(api.LoyaltyRedemption)).one(),
            ).code
        assert code in done.text


def test_refused_redemption_shows_the_reason_beside_the_field_and_stores_nothing(
    crm_app, users, member
):
    with web_client(crm_app) as client:
        csrf = login(client, "cashier", PASSWORD)
        api_debit = client.post(
            f"/api/p/loyalty/members/{member}/adjust",
            headers=bearer(users["boss"]),
            json={"points": -200, "reason": "test"},
        )
        assert api_debit.status_code == 200 and balance(crm_app, member) == 50
        before = kinds(crm_app, member)
        refused = client.post(
            f"/p/loyalty/members/{member}/redeem",
            data={"csrf_token": csrf, "reward": "coffee", "key": "k1"},
        )
        assert refused.status_code == 422
        error = re.search(r'<p class="error[^"]*"[^>]*>([^<]+)</p>', refused.text).group(1)
        assert "has 50 points; cannot take 100" in error
        assert kinds(crm_app, member) == before
        unknown = client.post(
            f"/p/loyalty/members/{member}/redeem",
            data={"csrf_token": csrf, "reward": "yacht", "key": "k2"},
        )
        assert unknown.status_code == 404 and "no reward &#39;yacht&#39;" in unknown.text


def test_adjustment_is_for_managers_and_refusals_sit_beside_the_field(crm_app, users, member):
    with web_client(crm_app) as client:
        csrf = login(client, "cashier", PASSWORD)
        page = client.get(f"/p/loyalty/members/{member}")
        assert page.status_code == 200 and 'data-form="adjust"' not in page.text
        denied = client.post(
            f"/p/loyalty/members/{member}/adjust",
            data={"csrf_token": csrf, "points": "10", "reason": "x"},
        )
        assert denied.status_code == 403
    with web_client(crm_app) as client:
        csrf = login(client, "boss", PASSWORD)
        assert 'data-form="adjust"' in client.get(f"/p/loyalty/members/{member}").text
        refused = client.post(
            f"/p/loyalty/members/{member}/adjust",
            data={"csrf_token": csrf, "points": "-900", "reason": "oops"},
        )
        assert refused.status_code == 422
        assert re.search(r'id="f-adjust-points-error"[^>]*>[^<]*cannot take 900', refused.text)
        assert 'value="-900"' in refused.text  # the input is kept
        assert balance(crm_app, member) == 250
        ok = client.post(
            f"/p/loyalty/members/{member}/adjust",
            data={"csrf_token": csrf, "points": "۲۰", "reason": "goodwill"},
        )
        assert ok.status_code == 200 and balance(crm_app, member) == 270


def test_vouchers_rewards_and_simulator_pages(crm_app, users, member):
    with crm_app.unit_of_work() as uow:
        code = api.voucher_of(uow, api.redeem(uow, member, "coffee")).code
    with web_client(crm_app) as client:
        csrf = login(client, "cashier", PASSWORD)
        found = client.get("/p/loyalty/vouchers", params={"code": code.lower()})
        assert found.status_code == 200 and "فعال" in found.text
        missing = client.get("/p/loyalty/vouchers", params={"code": "NOPE"})
        assert missing.status_code == 404 and "f-voucher-code-error" in missing.text
        used = client.post(
            f"/p/loyalty/vouchers/{code}/use", data={"csrf_token": csrf, "customer": str(member)}
        )
        assert used.status_code == 200 and "استفاده‌شده" in used.text
        twice = client.post(
            f"/p/loyalty/vouchers/{code}/use", data={"csrf_token": csrf, "customer": str(member)}
        )
        assert twice.status_code == 409 and "already used" in twice.text
        rewards = client.get("/p/loyalty/rewards")
        assert "قهوه رایگان" in rewards.text and 'data-form="program"' not in rewards.text
        sim = client.get("/p/loyalty/program", params={"customer": str(member), "amount": "75.50"})
        assert sim.status_code == 200
        assert "۷۵٫۵۰" in sim.text and "۱ امتیاز به ازای هر ۱٫۰۰" in sim.text
        bad = client.get("/p/loyalty/program", params={"customer": str(member), "amount": "-3"})
        assert bad.status_code == 422 and "f-simulate-amount-error" in bad.text
        client.cookies.set("crm_lang", "en")


def test_manager_loads_the_catalogue_and_a_broken_file_is_refused(crm_app, users, member):
    with web_client(crm_app) as client:
        csrf = login(client, "boss", PASSWORD)
        page = client.get("/p/loyalty/rewards")
        assert 'data-form="program"' in page.text
        bad = client.post(
            "/p/loyalty/program", data={"csrf_token": csrf, "program": "[program\n", "mode": "load"}
        )
        assert bad.status_code == 422 and "f-program-program-error" in bad.text
        assert "not valid TOML" in bad.text
        text = PROGRAM.replace("cost = 100", "cost = 80")
        ok = client.post(
            "/p/loyalty/program", data={"csrf_token": csrf, "program": text, "mode": "load"}
        )
        assert ok.status_code == 200
        with crm_app.unit_of_work(readonly=True) as uow:
            assert api.active_program(uow).rewards["coffee"].cost == 80


def test_api_routes_are_in_openapi_and_403_without_permission(crm_app, users, member):
    with web_client(crm_app) as client:
        spec = client.get("/api/openapi.json", headers=bearer(users["cashier"])).json()
        for path in (
            "/api/p/loyalty/members/{customer_id}",
            "/api/p/loyalty/members/{customer_id}/redeem",
            "/api/p/loyalty/vouchers/{code}",
            "/api/p/loyalty/simulate",
        ):
            assert path in spec["paths"], path
        redeemed = client.post(
            f"/api/p/loyalty/members/{member}/redeem",
            headers=bearer(users["cashier"]),
            json={"reward": "coffee"},
        )
        assert redeemed.status_code == 200 and redeemed.json()["balance"] == 150
        refused = client.post(
            f"/api/p/loyalty/members/{member}/redeem",
            headers=bearer(users["cashier"]),
            json={"reward": "coffee", "points": "x"},
        )
        assert refused.status_code == 422 and refused.json()["field"] == "points"
        assert (
            client.get(
                f"/api/p/loyalty/members/{member}", headers=bearer(users["clerk"])
            ).status_code
            == 403
        )
        assert (
            client.post(
                f"/api/p/loyalty/members/{member}/adjust",
                headers=bearer(users["cashier"]),
                json={"points": 5, "reason": "x"},
            ).status_code
            == 403
        )
        sim = client.get(
            "/api/p/loyalty/simulate",
            params={"customer": member, "amount": "75.50"},
            headers=bearer(users["cashier"]),
        )
        assert sim.json()["points"] == 75
        csrf = login(client, "clerk", PASSWORD)
        assert csrf
        assert "/p/loyalty/" not in client.get("/customers").text
        assert client.get("/p/loyalty/").status_code == 403


def test_read_access_sees_the_reward_but_cannot_redeem(crm_app, users, member):
    with web_client(crm_app) as client:
        csrf = login(client, "viewer", PASSWORD)
        page = client.get(f"/p/loyalty/members/{member}/redeem", params={"reward": "coffee"})
        assert page.status_code == 200 and 'data-form="confirm"' not in page.text
        refused = client.post(
            f"/p/loyalty/members/{member}/redeem",
            data={"csrf_token": csrf, "reward": "coffee", "key": "k"},
        )
        assert refused.status_code == 403 and balance(crm_app, member) == 250


def test_quick_actions_on_the_customer_page_redeem_and_adjust(crm_app, users, member):
    """The 360° page offers the cashier "redeem a reward" (affordable rewards only) and the
    manager also "adjust points"; both post to the member's routes (the CLI's functions)."""
    with web_client(crm_app) as client:
        csrf = login(client, "cashier", PASSWORD)
        page = client.get(f"/customers/{member}").text
        assert f'action="/p/loyalty/members/{member}/redeem"' in page
        assert "قهوه رایگان · ۱۰۰ امتیاز" in page
        assert f'action="/p/loyalty/members/{member}/adjust"' not in page  # managers only
        key = re.search(r'name="key"\s+value="(web-redeem-[^"]+)"', page).group(1)
        done = client.post(
            f"/p/loyalty/members/{member}/redeem",
            data={"csrf_token": csrf, "reward": "coffee", "key": key},
        )
        assert done.status_code == 200 and balance(crm_app, member) == 150
        client.post("/logout", data={"csrf_token": csrf})
        csrf = login(client, "boss", PASSWORD)
        page = client.get(f"/customers/{member}").text
        assert f'action="/p/loyalty/members/{member}/adjust"' in page
        assert "قهوه رایگان" in page  # 150 points still buy a coffee
        key = re.search(r'name="key"\s+value="(web-adjust-[^"]+)"', page).group(1)
        done = client.post(
            f"/p/loyalty/members/{member}/adjust",
            data={"csrf_token": csrf, "points": "-100", "reason": "خطا", "key": key},
            follow_redirects=False,
        )
        assert done.status_code == 303 and balance(crm_app, member) == 50
        page = client.get(f"/customers/{member}").text
        assert f'action="/p/loyalty/members/{member}/redeem"' not in page  # cannot afford one
        client.post("/logout", data={"csrf_token": csrf})
        login(client, "clerk", PASSWORD)  # no loyalty permission: no loyalty action at all
        assert "/p/loyalty/members/" not in client.get(f"/customers/{member}").text
