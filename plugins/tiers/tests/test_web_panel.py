"""The tiers panel on the web shows loyalty points only to users who may read loyalty (issue 29)."""

import json

import pytest
from tiers_helpers import buy, days_ago, load_ladder

from crmcore.testing import make_customer
from crmcore.testing.web import web_client


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
            add_user(uow, name, "a long enough password", "agent")
            out[name] = create_token(uow, name, "tests")[1]
        set_permission(uow, "neda", "loyalty", "none")
    return out


def test_without_loyalty_permission_the_tiers_panel_shows_no_points(
    crm_app, crm_cli, tmp_path, tokens
):
    load_ladder(crm_cli, tmp_path, gold_extra='or_spend = "5000000"')
    cid = make_customer(crm_app, "نرگس کریمی")
    buy(crm_app, cid, 3_000_000, days_ago(crm_app, 20))  # 300 points: silver
    with web_client(crm_app) as client:

        def tiers_of(user):
            response = client.get(
                f"/api/customers/{cid}", headers={"Authorization": f"Bearer {tokens[user]}"}
            )
            return response.json()["sections"]

        seen = tiers_of("sara")
        assert "loyalty" in seen
        assert {s["metric"] for s in seen["tiers"]["next_tier"]["progress"]} == {"points", "spend"}
        assert "points" in seen["tiers"]["history"][0]["reason"]
        hidden = tiers_of("neda")
        assert "loyalty" not in hidden and hidden["tiers"]["tier"] == "silver"
        assert [s["metric"] for s in hidden["tiers"]["next_tier"]["progress"]] == ["spend"]
        assert hidden["tiers"]["next_tier"]["text"] == "2,000,000 rials more to Gold"
        assert "point" not in json.dumps(hidden["tiers"], ensure_ascii=False)
        assert "امتیاز" not in json.dumps(hidden["tiers"], ensure_ascii=False)
