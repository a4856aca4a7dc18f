"""Transfers in the web (issue 28): a member gives points to someone of their family group with the
limits shown before submitting, the recipient accepts or declines, the history shows the status,
the family group is run from the page; refusals sit beside their field and store nothing; the API
routes are in OpenAPI and answer 403 without the permission."""

import re

import pytest
from transfers_helpers import balance, give, kinds, load_policy

from crmcore.testing import make_customer
from crmcore.testing.web import login, web_client

PASSWORD = "a long enough password"
POLICY = """recipients = ["family"]
min_points = 10
max_points = 500
fee = 2
acceptance = "required"
accept_within_days = 3
[[transfers.limits]]
period = "month"
max_points = 300
"""


@pytest.fixture
def tokens(crm_app, monkeypatch):
    from argon2 import PasswordHasher, profiles

    from crmcore.testing import add_user, create_token, set_permission

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    out = {}
    with crm_app.unit_of_work(actor="setup") as uow:
        for name in ("sara", "neda"):
            add_user(uow, name, PASSWORD, "agent")
            out[name] = create_token(uow, name, "tests")[1]
        set_permission(uow, "neda", "transfers", "none")
    return out


def error_of(html: str, form: str, field: str) -> str:
    return re.search(rf'id="f-{form}-{field}-error"[^>]*>([^<]+)<', html).group(1)


def test_family_send_accept_and_refusals(crm_app, crm_cli, tmp_path, tokens):
    load_policy(crm_cli, tmp_path, POLICY)
    mom = make_customer(crm_app, "مریم رضایی", phones=["09121110000"])
    son = make_customer(crm_app, "علی رضایی", phones=["09121110001"])
    give(crm_app, mom, 400)
    with web_client(crm_app) as client:
        csrf = login(client, "sara", PASSWORD)
        assert str(client.get("/p/transfers/", params={"q": "09121110000"}).url).endswith(
            f"/p/transfers/members/{mom}"
        )
        created = client.post(
            f"/p/transfers/members/{mom}/family/create", data={"csrf_token": csrf, "name": "رضایی"}
        )
        assert created.status_code == 200 and "«رضایی»" in created.text
        missing = client.post(
            f"/p/transfers/members/{mom}/family/invite",
            data={"csrf_token": csrf, "invitee": "09120000000"},
        )
        assert missing.status_code == 404 and error_of(missing.text, "invite", "invitee")
        client.post(
            f"/p/transfers/members/{mom}/family/invite",
            data={"csrf_token": csrf, "invitee": "09121110001"},
        )
        joined = client.post(
            f"/p/transfers/members/{son}/family/accept", data={"csrf_token": csrf, "family": ""}
        )
        assert joined.status_code == 200 and "مریم رضایی" in joined.text
        page = client.get(f"/p/transfers/members/{mom}")
        # the limits before submitting: bounds, fee, what the month leaves, the family as choices
        assert "۳۰۰" in page.text and "۵۰۰" in page.text and f'<option value="{son}">' in page.text
        key = re.search(r'name="key" value="([^"]+)"', page.text).group(1)
        over = client.post(
            f"/p/transfers/members/{mom}/send",
            data={"csrf_token": csrf, "recipient": str(son), "points": "350", "key": key},
        )
        assert over.status_code == 422 and "over the limit" in error_of(over.text, "send", "points")
        assert 'value="350"' in over.text
        nobody = client.post(
            f"/p/transfers/members/{mom}/send",
            data={"csrf_token": csrf, "recipient": "", "points": "50", "key": key},
        )
        assert nobody.status_code == 422 and error_of(nobody.text, "send", "recipient")
        assert kinds(crm_app, mom) == [("adjust", 400)]  # refused: nothing stored
        sent = client.post(
            f"/p/transfers/members/{mom}/send",
            data={"csrf_token": csrf, "recipient": str(son), "points": "۱۰۰", "key": key},
        )
        assert sent.status_code == 200 and balance(crm_app, mom) == 298
        transfer = crm_cli("transfers", "list", "--json").json()[0]
        assert transfer["status"] == "pending"
        son_page = client.get(f"/p/transfers/members/{son}")
        assert f'data-form="accept-{transfer["id"]}"' in son_page.text
        accepted = client.post(
            f"/p/transfers/transfers/{transfer['id']}/accept",
            data={"csrf_token": csrf, "back": str(son)},
        )
        assert accepted.status_code == 200 and balance(crm_app, son) == 100
        again = client.post(
            f"/p/transfers/transfers/{transfer['id']}/accept",
            data={"csrf_token": csrf, "back": str(son)},
        )
        assert again.status_code == 409 and "completed" in again.text
        assert (
            client.post(
                f"/p/transfers/transfers/{transfer['id']}/reverse", data={"csrf_token": csrf}
            ).status_code
            == 404
        )
        assert "انجام‌شده" in client.get("/p/transfers/").text
        shown = crm_cli("transfers", "show", str(transfer["id"]), "--json").json()
        assert shown["status"] == "completed" and shown["entries"]["out"]


def test_api_routes_in_openapi_and_403(crm_app, crm_cli, tmp_path, tokens):
    load_policy(crm_cli, tmp_path, 'recipients = ["any"]\nmin_points = 5')
    a, b = make_customer(crm_app, "الف"), make_customer(crm_app, "ب")
    give(crm_app, a, 50)
    with web_client(crm_app) as client:
        auth = {"Authorization": f"Bearer {tokens['sara']}"}
        spec = client.get("/api/openapi.json", headers=auth).json()
        assert {
            "/api/p/transfers/transfers",
            "/api/p/transfers/members/{customer_id}/allowance",
        } <= set(spec["paths"])
        refused = client.post(
            "/api/p/transfers/transfers",
            headers=auth,
            json={"sender_id": a, "recipient_id": b, "points": 80},
        )
        assert refused.status_code == 422 and refused.json()["field"] == "points"
        ok = client.post(
            "/api/p/transfers/transfers",
            headers=auth,
            json={"sender_id": a, "recipient_id": b, "points": 20, "key": "k"},
        )
        assert ok.status_code == 200 and ok.json()["status"] == "completed"
        assert (balance(crm_app, a), balance(crm_app, b)) == (30, 20)
        allowance = client.get(f"/api/p/transfers/members/{a}/allowance", headers=auth).json()
        assert allowance["policy"]["min_points"] == 5
        denied = {"Authorization": f"Bearer {tokens['neda']}"}
        assert client.get("/api/p/transfers/transfers", headers=denied).status_code == 403
    with web_client(crm_app) as client:
        login(client, "neda", PASSWORD)
        assert "/p/transfers/" not in client.get("/customers").text
        assert client.get(f"/p/transfers/members/{a}").status_code == 403
