"""The deals board on ``crm web`` (``/boards/pipeline/deals``), through the in-process web client, logged in as a
real user with the session's CSRF token, like the kernel's tests/web."""

import html
import re
import warnings

import pytest
from crmcore_pipeline import service
from crmcore_pipeline.models import Deal, StageHistory
from sqlalchemy import select

from crmcore.testing import make_customer
from crmcore.testing.web import board_columns, web_client
from crmcore.testing.web import login as shared_login

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

PASSWORD = "a long enough password"
JSON = {"Accept": "application/json"}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )


@pytest.fixture
def deals(crm_app):
    """Three open deals in two stages and one won deal; returns their ids by name."""
    from crmcore.testing import add_user

    cid = make_customer(crm_app, "شرکت بازرگانی کریمی", phones=["09121234567"])
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "neda", PASSWORD, "agent")
        add_user(uow, "sara", PASSWORD, "agent")
        add_user(uow, "mina", PASSWORD, "manager")
        add_user(uow, "reza", PASSWORD, "read-only")
        service.add_rep(uow, "sara", "سارا احمدی")
        service.add_rep(uow, "ali", "علی رضایی")
        saffron = service.create_deal(
            uow, customer=cid, title="خرید عمده زعفران", amount="125000000", owner="sara"
        )
        pistachio = service.create_deal(
            uow,
            customer=cid,
            title="Pistachio export",
            amount="40000000",
            stage="proforma",
            owner="ali",
        )
        dates = service.create_deal(uow, customer=cid, title="خرما", stage="proforma", owner="sara")
        won = service.create_deal(
            uow, customer=cid, title="قرارداد بسته‌شده", amount="9000000", owner="sara"
        )
        service.win_deal(uow, won.id)
        return {"saffron": saffron.id, "pistachio": pistachio.id, "dates": dates.id, "won": won.id}


@pytest.fixture
def client(crm_app):
    with web_client(crm_app) as c:
        yield c


def login(client, username):
    return shared_login(client, username, PASSWORD)


def columns(html):
    """{stage code: [deal ids as shown, top to bottom]} from the board page."""
    return board_columns(html)


def stage_of(app, deal_id):
    with app.unit_of_work(readonly=True) as uow:
        deal = uow.session.get(Deal, deal_id)
        return deal.stage.code, deal.status


def test_the_board_shows_open_deals_per_open_stage_with_totals(crm_app, client, deals):
    login(client, "reza")
    page = client.get("/boards/pipeline/deals")
    assert page.status_code == 200 and "<h1>معاملات</h1>" in page.text
    assert 'href="/boards/pipeline/deals"' in page.text  # in the menu of a reader
    assert columns(page.text) == {
        "lead": [deals["saffron"]],
        "contact": [],
        "proforma": [deals["pistachio"], deals["dates"]],
        "negotiation": [],
    }
    assert (
        "ارسال پیش‌فاکتور" in page.text
        and "خرید عمده زعفران" in page.text
        and "شرکت بازرگانی کریمی" in page.text
    )
    proforma = re.search(r'data-column="proforma"(.*?)</section>', page.text, re.S).group(1)
    # the column's total (the undated deal has no amount)
    assert '<p class="muted">۴۰٬۰۰۰٬۰۰۰ ریال</p>' in proforma
    assert '<span class="badge">۴۰٬۰۰۰٬۰۰۰ ریال</span>' in proforma  # grouped, in Persian digits
    assert "قرارداد بسته‌شده" not in page.text  # closed deals are not on the board
    assert 'class="move"' not in page.text  # read-only users see no move buttons
    client.cookies.set("crm_lang", "en")
    english = client.get("/boards/pipeline/deals").text
    assert (
        '<html lang="en" dir="ltr">' in english
        and "<h1>Deals</h1>" in english
        and "Proforma sent" in english
    )


def test_moving_a_card_moves_the_deal_as_the_user(crm_app, client, deals):
    csrf = login(client, "sara")
    moved = client.post(
        "/boards/pipeline/deals/move",
        data={"card": str(deals["saffron"]), "column": "negotiation", "csrf_token": csrf},
    )
    assert moved.status_code == 200 and "منتقل شد" in moved.text
    assert columns(moved.text)["negotiation"] == [deals["saffron"]]
    assert stage_of(crm_app, deals["saffron"]) == ("negotiation", "open")
    with crm_app.unit_of_work(readonly=True) as uow:
        last = uow.session.scalars(
            select(StageHistory)
            .where(StageHistory.deal_id == deals["saffron"])
            .order_by(StageHistory.id.desc())
        ).first()
        assert (last.from_stage.code, last.to_stage.code, last.actor) == (
            "lead",
            "negotiation",
            "sara",
        )
    by_script = client.post(
        "/boards/pipeline/deals/move",
        headers=JSON,
        data={"card": str(deals["dates"]), "column": "contact", "csrf_token": csrf},
    )
    assert by_script.json() == {"ok": True, "card": str(deals["dates"]), "column": "contact"}
    assert stage_of(crm_app, deals["dates"]) == ("contact", "open")


@pytest.mark.parametrize(
    "card, column, error, field",
    [
        ("won", "contact", "deal {won} is won; reopen it before you move it", "deal"),
        ("saffron", "won", "'won' closes the deal; use: crm pipeline deals win {saffron}", "stage"),
        ("saffron", "lead", "deal {saffron} is already in stage 'lead'", "stage"),
        ("saffron", "نامعلوم", "unknown stage 'نامعلوم'", "stage"),
        ("999999", "contact", "no deal with id 999999", "deal"),
    ],
)
def test_refused_moves_say_why_and_change_nothing(
    crm_app, client, deals, card, column, error, field
):
    csrf = login(client, "sara")
    card_id = deals.get(card, card)
    before = {name: stage_of(crm_app, did) for name, did in deals.items()}
    refused = client.post(
        "/boards/pipeline/deals/move",
        headers=JSON,
        data={"card": str(card_id), "column": column, "csrf_token": csrf},
    )
    assert refused.status_code == 422
    assert (
        refused.json()["error"].startswith(error.format(**deals))
        and refused.json()["field"] == field
    )
    assert {name: stage_of(crm_app, did) for name, did in deals.items()} == before
    page = client.post(
        "/boards/pipeline/deals/move",
        data={"card": str(card_id), "column": column, "csrf_token": csrf},
    )
    assert page.status_code == 422 and 'id="board-error"' in page.text


def test_moves_need_write_access_and_the_csrf_token(crm_app, client, deals):
    csrf = login(client, "reza")
    refused = client.post(
        "/boards/pipeline/deals/move",
        data={"card": str(deals["saffron"]), "column": "contact", "csrf_token": csrf},
    )
    assert refused.status_code == 403
    client.post("/logout", data={"csrf_token": csrf})
    login(client, "neda")
    forged = client.post(
        "/boards/pipeline/deals/move",
        headers=JSON,
        data={"card": str(deals["saffron"]), "column": "contact"},
    )
    assert forged.status_code == 403
    assert stage_of(crm_app, deals["saffron"]) == ("lead", "open")


def test_the_board_filters_by_owner_and_names_an_unknown_pipeline(crm_app, client, deals):
    login(client, "reza")
    saras = client.get("/boards/pipeline/deals", params={"owner": "sara"})
    assert columns(saras.text) == {
        "lead": [deals["saffron"]],
        "contact": [],
        "proforma": [deals["dates"]],
        "negotiation": [],
    }
    unknown = client.get("/boards/pipeline/deals", params={"pipeline": "nope"})
    assert unknown.status_code == 404 and "unknown pipeline 'nope'" in html.unescape(unknown.text)


def test_an_agent_moves_only_deals_of_their_own_or_their_team(crm_app, client, deals):
    """Issue 29: any agent moved another rep's deal. Deals follow their rep (record rules)."""
    csrf = login(client, "sara")
    refused = client.post(
        "/boards/pipeline/deals/move",
        headers=JSON,
        data={"card": str(deals["pistachio"]), "column": "contact", "csrf_token": csrf},
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"] == (
        f"deal {deals['pistachio']} is assigned to ali: you may write only your own or your team's"
    )
    page = client.post(
        "/boards/pipeline/deals/move",
        data={"card": str(deals["pistachio"]), "column": "contact", "csrf_token": csrf},
    )
    assert page.status_code == 403
    assert stage_of(crm_app, deals["pistachio"]) == ("proforma", "open")
    with crm_app.unit_of_work(actor="setup") as uow:
        from crmcore.testing import add_team, add_user, set_membership

        add_user(uow, "ali", PASSWORD, "agent")
        add_team(uow, "sales")
        set_membership(uow, "sales", "ali", True)
        set_membership(uow, "sales", "sara", True)
    moved = client.post(
        "/boards/pipeline/deals/move",
        headers=JSON,
        data={"card": str(deals["pistachio"]), "column": "contact", "csrf_token": csrf},
    )
    assert moved.status_code == 200, moved.text  # a teammate's deal
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "mina")  # managers move every deal
    assert (
        client.post(
            "/boards/pipeline/deals/move",
            headers=JSON,
            data={"card": str(deals["saffron"]), "column": "contact", "csrf_token": csrf},
        ).status_code
        == 200
    )


def test_an_own_read_scope_shows_only_the_users_deals(crm_app, client, deals):
    from crmcore.testing import set_role_scope

    with crm_app.unit_of_work(actor="setup") as uow:
        set_role_scope(uow, "agent", read="own")
        cid = uow.session.get(Deal, deals["saffron"]).customer_id
    login(client, "sara")
    page = client.get("/boards/pipeline/deals")
    assert columns(page.text) == {
        "lead": [deals["saffron"]],
        "contact": [],
        "proforma": [deals["dates"]],
        "negotiation": [],
    }
    # the customer (unassigned, so readable) shows only sara's deals in its profile section
    section = client.get(f"/api/customers/{cid}").json()["sections"]["pipeline"]
    assert [d["id"] for d in section["open"]] == [deals["saffron"], deals["dates"]]
    assert section["won_deals"] == 1  # the won deal is sara's too
