"""The tiers pages (issue 28): the ladder with members per tier, each member's progress toward the
next tier and the day a downgrade would happen, the API routes in OpenAPI, 403 without the
permission; amounts in the currency's major unit on Persian pages (issue 34)."""

import re

import pytest
from tiers_helpers import LADDER, PROGRAM, buy, days_ago, load_ladder, load_program

from crmcore.testing import make_customer
from crmcore.testing.web import login, web_client

PASSWORD = "a long enough password"


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
        set_permission(uow, "neda", "tiers", "none")
    return out


def test_ladder_and_members_pages(crm_app, crm_cli, tmp_path, tokens):
    load_ladder(crm_cli, tmp_path, silver_extra="grace_days = 30")
    a = make_customer(crm_app, "نرگس کریمی")
    b = make_customer(crm_app, "علی رضایی")
    buy(crm_app, a, 3_500_000, days_ago(crm_app, 20))  # 350 points: silver
    buy(crm_app, b, 1_000_000, days_ago(crm_app, 5))
    crm_cli("tiers", "evaluate", "--include-base")
    shown = crm_cli("tiers", "show", str(a), "--json").json()
    with web_client(crm_app) as client:
        login(client, "sara", PASSWORD)
        ladder = client.get("/p/tiers/")
        assert ladder.status_code == 200
        assert "نقره‌ای" in ladder.text and "۳۰۰ امتیاز در ۳۶۵ روز اخیر" in ladder.text
        members = client.get("/p/tiers/members")
        assert members.status_code == 200
        assert "نرگس کریمی" in members.text and "علی رضایی" in members.text
        assert shown["next_tier"]["text_fa"] in members.text
        jalali = client.get("/p/tiers/members", params={"tier": "silver"}).text
        assert "علی رضایی" not in jalali
        downgrade = re.findall(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", jalali)
        assert downgrade, "the downgrade day is shown in Jalali"
        data = client.get(
            f"/api/p/tiers/members/{a}", headers={"Authorization": f"Bearer {tokens['sara']}"}
        ).json()
        assert data["downgrade_on"] == shown["downgrade_on"] and data["tier"] == "silver"
        listed = client.get(
            "/api/p/tiers/members",
            params={"tier": "silver"},
            headers={"Authorization": f"Bearer {tokens['sara']}"},
        ).json()
        assert [m["customer_id"] for m in listed["members"]] == [a] and listed["total"] == 1
        spec = client.get(
            "/api/openapi.json", headers={"Authorization": f"Bearer {tokens['sara']}"}
        ).json()
        assert {"/api/p/tiers/ladder", "/api/p/tiers/members"} <= set(spec["paths"])
        assert (
            client.get(
                "/api/p/tiers/ladder", headers={"Authorization": f"Bearer {tokens['neda']}"}
            ).status_code
            == 403
        )
    with web_client(crm_app) as client:
        login(client, "neda", PASSWORD)
        assert "/p/tiers/" not in client.get("/customers").text
        assert client.get("/p/tiers/members").status_code == 403


USD = (
    PROGRAM.replace('currency = "IRR"', 'currency = "USD"')
    .replace('calendar = "jalali"', 'calendar = "gregorian"')
    .replace('per = "10000"', 'per = "1"')
)
SPEND = LADDER.replace('metric = "points"\nthreshold = 300', 'metric = "spend"\nthreshold = "640"')


def test_persian_progress_is_in_dollars_not_cents(crm_app, crm_cli, tmp_path, tokens):
    assert (
        load_program(
            crm_cli, tmp_path, USD + SPEND.format(silver_extra="", gold_extra="")
        ).exit_code
        == 0
    )
    cid = make_customer(crm_app, "Ann")
    shown = crm_cli("tiers", "show", str(cid), "--json").json()
    assert shown["next_tier"]["text"] == "640.00 USD more to Silver"
    assert shown["next_tier"]["text_fa"].startswith("۶۴۰٫۰۰ ")
    assert "۶۴٬۰۰۰" not in shown["next_tier"]["text_fa"]


def test_the_customer_list_shows_each_members_tier_in_one_query(crm_app, crm_cli, tmp_path, tokens):
    from sqlalchemy import event

    load_ladder(crm_cli, tmp_path)
    a = make_customer(crm_app, "نرگس کریمی")
    b = make_customer(crm_app, "علی رضایی")
    c = make_customer(crm_app, "مهسا نوری")
    buy(crm_app, a, 3_500_000, days_ago(crm_app, 20))  # silver
    buy(crm_app, b, 12_000_000, days_ago(crm_app, 5))  # gold
    crm_cli("tiers", "evaluate")
    asked = []

    def seen(conn, cursor, statement, *args):
        if "tiers_members" in statement:
            asked.append(statement)

    with web_client(crm_app) as client:
        login(client, "sara", PASSWORD)
        event.listen(crm_app.engine, "before_cursor_execute", seen)
        try:
            page = client.get("/customers").text
        finally:
            event.remove(crm_app.engine, "before_cursor_execute", seen)
        rows = {
            int(cid): row
            for cid, row in re.findall(r'<tr data-customer="(\d+)">(.*?)</tr>', page, re.S)
        }
        names = {
            cid: re.search(r'class="c-name">(.*?)</td>', row, re.S).group(1)
            for cid, row in rows.items()
        }
        assert "نقره‌ای" in names[a] and "طلایی" in names[b]
        assert 'data-plugin="tiers"' not in names[c]  # not a member: no badge
        assert len(asked) == 1  # the whole page at once, not one query per row
    with web_client(crm_app) as client:
        login(client, "neda", PASSWORD)  # no tiers permission: no tier beside the names
        assert 'data-plugin="tiers"' not in client.get("/customers").text
