"""The pipeline's pages and API on ``crm web`` (issue 28): the deal page (edit, move, win, lose,
reopen, log), the lead inbox (convert, disqualify), forecast and targets per rep and Jalali month,
web-form leads; refusals are the CLI's messages beside the field and store nothing; users without
the plugin's permission see no menu entry and get 403."""

import re
import warnings

import pytest
from crmcore_pipeline import service
from crmcore_pipeline.models import Deal, DealActivity, Lead, SalesTarget
from sqlalchemy import func, select

from crmcore.api import Interaction
from crmcore.testing import make_customer
from crmcore.testing.web import form_token, web_client
from crmcore.testing.web import login as shared_login

warnings.filterwarnings("ignore", message=".*httpx.*starlette.testclient.*")

PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )


@pytest.fixture
def shop(crm_app):
    from crmcore.testing import add_user

    crm_app.clock.set(
        __import__("datetime").datetime(2025, 4, 22, 8, tzinfo=__import__("datetime").timezone.utc)
    )
    cid = make_customer(crm_app, "شرکت بازرگانی کریمی", phones=["09121234567"])
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "sara", PASSWORD, "agent")
        add_user(uow, "mina", PASSWORD, "manager")
        add_user(uow, "reza", PASSWORD, "read-only")
        add_user(uow, "neda", PASSWORD, "agent")
        from crmcore.testing import set_permission

        set_permission(uow, "neda", "pipeline", "none")
        service.add_rep(uow, "sara", "سارا احمدی")
        deal = service.create_deal(
            uow,
            customer=cid,
            title="خرید عمده زعفران",
            amount="125000000",
            owner="sara",
            expected_close="1404-02-20",
        )
        lead = service.create_lead(
            uow,
            title="پسته برای عید",
            source="phone",
            contact_name="کامران صالحی",
            phone="09351234567",
            owner="sara",
        )
        return {"customer": cid, "deal": deal.id, "lead": lead.id}


@pytest.fixture
def client(crm_app):
    with web_client(crm_app) as c:
        yield c


def login(client, username):
    return shared_login(client, username, PASSWORD)


def deal_of(app, deal_id):
    with app.unit_of_work(readonly=True) as uow:
        d = uow.session.get(Deal, deal_id)
        reason = d.close_reason.code if d.close_reason else None
        return d.status, d.stage.code, d.amount_minor, reason


def test_the_deal_page_shows_the_deal_in_persian_with_its_forms(crm_app, client, shop):
    login(client, "sara")
    page = client.get(f"/p/pipeline/deals/{shop['deal']}")
    assert page.status_code == 200
    text = page.text
    assert "<h1>خرید عمده زعفران</h1>" in text and "۱۲۵٬۰۰۰٬۰۰۰ ریال" in text
    assert "۱۴۰۴/۰۲/۲۰" in text  # the expected close in Jalali with Persian digits
    assert "تاریخچهٔ مراحل" in text and "ثبت برد" in text and "ثبت باخت" in text
    assert 'action="/p/pipeline/deals/%d/win"' % shop["deal"] in text
    board = client.get("/boards/pipeline/deals").text
    assert f'href="/p/pipeline/deals/{shop["deal"]}"' in board  # cards open the deal page
    assert 'class="move"' in board  # the no-script fallback: a Move form on each card


def test_winning_from_the_page_needs_an_amount_and_records_the_purchase(crm_app, client, shop):
    csrf = login(client, "sara")
    url = f"/p/pipeline/deals/{shop['deal']}"
    refused = client.post(f"{url}/win", data={"csrf_token": csrf, "amount": "-5", "reason": ""})
    assert refused.status_code == 422
    beside = re.search(
        r'<label>مبلغ نهایی <input name="amount"[^>]*>\s*<span\s+'
        r'class="error field-error" role="alert"\s+data-field="amount">([^<]+)'
        r"</span></label>",
        refused.text,
    )
    assert beside
    assert "amount" in beside.group(1)
    assert 'value="-5"' in refused.text  # what was typed is kept
    assert deal_of(crm_app, shop["deal"]) == ("open", "lead", 125000000, None)
    refused = client.post(f"{url}/win", data={"csrf_token": csrf, "amount": "", "reason": "nope"})
    assert refused.status_code == 422 and 'data-field="reason"' in refused.text
    assert "unknown won reason &#39;nope&#39;" in refused.text
    won = client.post(
        f"{url}/win",
        data={
            "csrf_token": csrf,
            "amount": "۱۳۰٬۰۰۰٬۰۰۰",
            "reason": "quality",
            "note": "قرارداد امضا شد",
        },
    )
    assert won.status_code == 200 and str(won.url).endswith(f"{url}?ok=saved")
    assert "بازگشایی" in won.text and "ثبت برد" not in won.text
    assert deal_of(crm_app, shop["deal"]) == ("won", "won", 130000000, "quality")
    with crm_app.unit_of_work(readonly=True) as uow:
        purchases = uow.session.scalars(
            select(Interaction).where(Interaction.kind == "purchase")
        ).all()
        assert [(p.amount_minor, p.customer_id, p.recorded_by) for p in purchases] == [
            (130000000, shop["customer"], "sara")
        ]


def test_lose_move_edit_log_and_reopen_from_the_page(crm_app, client, shop, count):
    csrf = login(client, "sara")
    url = f"/p/pipeline/deals/{shop['deal']}"
    moved = client.post(f"{url}/move", data={"csrf_token": csrf, "stage": "proforma"})
    assert moved.status_code == 200 and deal_of(crm_app, shop["deal"])[1] == "proforma"
    edited = client.post(
        f"{url}/edit",
        data={
            "csrf_token": csrf,
            "title": "زعفران نگین",
            "amount": "140,000,000",
            "probability": "150",
        },
    )
    assert edited.status_code == 422 and 'data-field="probability"' in edited.text
    assert deal_of(crm_app, shop["deal"])[2] == 125000000  # nothing stored, not even the amount
    edited = client.post(
        f"{url}/edit",
        data={
            "csrf_token": csrf,
            "title": "زعفران نگین",
            "amount": "140,000,000",
            "probability": "70",
            "expected_close": "1404/03/01",
            "owner": "sara",
        },
    )
    assert edited.status_code == 200 and "<h1>زعفران نگین</h1>" in edited.text
    logged = client.post(
        f"{url}/log", data={"csrf_token": csrf, "kind": "call", "note": "تخفیف خواست"}
    )
    assert logged.status_code == 200 and "تخفیف خواست" in logged.text
    assert count(DealActivity) == 1
    refused = client.post(f"{url}/lose", data={"csrf_token": csrf, "reason": ""})
    assert refused.status_code == 422 and 'data-field="reason"' in refused.text
    assert "losing a deal needs a reason" in refused.text
    lost = client.post(f"{url}/lose", data={"csrf_token": csrf, "reason": "price"})
    assert lost.status_code == 200 and deal_of(crm_app, shop["deal"])[0] == "lost"
    again = client.post(f"{url}/lose", data={"csrf_token": csrf, "reason": "price"})
    assert again.status_code == 422 and "is lost; reopen it before you lose it" in again.text
    reopened = client.post(f"{url}/reopen", data={"csrf_token": csrf, "stage": ""})
    assert reopened.status_code == 200 and deal_of(crm_app, shop["deal"])[:2] == (
        "open",
        "proforma",
    )


def test_the_lead_inbox_converts_and_disqualifies(crm_app, client, shop, count):
    csrf = login(client, "sara")
    inbox = client.get("/p/pipeline/leads")
    assert inbox.status_code == 200
    assert "پسته برای عید" in inbox.text and "سرنخ‌های فروش" in inbox.text
    url = f"/p/pipeline/leads/{shop['lead']}"
    refused = client.post(f"{url}/convert", data={"csrf_token": csrf, "amount": "abc"})
    assert refused.status_code == 422 and 'data-field="amount"' in refused.text
    assert count(Deal) == 1 and count(Lead, Lead.status == "new") == 1
    converted = client.post(
        f"{url}/convert",
        data={"csrf_token": csrf, "amount": "80,000,000", "expected_close": "1404/02/25"},
    )
    assert converted.status_code == 200 and "<h1>پسته برای عید</h1>" in converted.text
    assert "/p/pipeline/deals/" in str(converted.url)
    assert count(Deal) == 2 and count(Lead, Lead.status == "converted") == 1
    twice = client.post(f"{url}/disqualify", data={"csrf_token": csrf, "reason": "x"})
    assert twice.status_code == 422 and "was already converted" in twice.text


def test_forecast_and_targets_per_rep_and_jalali_month(crm_app, client, shop, count):
    csrf = login(client, "sara")
    forecast = client.get("/p/pipeline/forecast")
    assert forecast.status_code == 200
    assert "اردیبهشت ۱۴۰۴" in forecast.text and "سارا احمدی" in forecast.text
    assert "۱۲۵٬۰۰۰٬۰۰۰ ریال" in forecast.text and "۱۲٬۵۰۰٬۰۰۰ ریال" in forecast.text  # 10%
    assert 'action="/p/pipeline/targets"' not in client.get("/p/pipeline/targets").text
    refused = client.post(
        "/p/pipeline/targets",
        data={"csrf_token": csrf, "rep": "sara", "period": "1404-02", "amount": "1"},
    )
    assert refused.status_code == 403  # setting targets is for managers
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "mina")
    bad = client.post(
        "/p/pipeline/targets",
        data={"csrf_token": csrf, "rep": "sara", "period": "1404-13", "amount": "1,000"},
    )
    assert bad.status_code == 422 and 'data-field="period"' in bad.text and count(SalesTarget) == 0
    ok = client.post(
        "/p/pipeline/targets",
        data={"csrf_token": csrf, "rep": "sara", "period": "1404-02", "amount": "500,000,000"},
    )
    assert ok.status_code == 200 and "۵۰۰٬۰۰۰٬۰۰۰ ریال" in ok.text and "اردیبهشت ۱۴۰۴" in ok.text


def test_the_api_is_in_openapi_and_refuses_like_the_cli(crm_app, client, shop):
    csrf = login(client, "sara")
    headers = {"X-CSRF-Token": csrf}
    spec = client.get("/api/openapi.json").json()
    assert {
        "/api/p/pipeline/deals/{deal_id}/win",
        "/api/p/pipeline/leads/{lead_id}/convert",
        "/api/p/pipeline/forecast",
        "/api/p/pipeline/targets",
    } <= set(spec["paths"])
    assert not any(p.startswith("/p/pipeline") for p in spec["paths"])
    url = f"/api/p/pipeline/deals/{shop['deal']}"
    refused = client.post(f"{url}/lose", json={}, headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "reason"
    refused = client.post(f"{url}/win", json={"amount": "1", "colour": "red"}, headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "colour"
    assert deal_of(crm_app, shop["deal"]) == ("open", "lead", 125000000, None)
    won = client.post(f"{url}/win", json={"amount": "125000000"}, headers=headers)
    assert won.status_code == 200 and won.json()["status"] == "won"
    assert won.json()["purchase_id"] is not None
    forecast = client.get("/api/p/pipeline/forecast").json()
    assert forecast == []  # the only deal is won
    assert client.get("/api/p/pipeline/leads").json()[0]["title"] == "پسته برای عید"


def test_without_the_plugin_permission_no_menu_and_403(crm_app, client, shop):
    csrf = login(client, "neda")
    home = client.get("/").text
    assert "/p/pipeline/leads" not in home and "/boards/pipeline/deals" not in home
    assert client.get(f"/p/pipeline/deals/{shop['deal']}").status_code == 403
    assert client.get("/p/pipeline/leads").status_code == 403
    assert client.get("/api/p/pipeline/deals").status_code == 403
    refused = client.post(
        f"/p/pipeline/deals/{shop['deal']}/win", data={"csrf_token": csrf, "amount": "1"}
    )
    assert refused.status_code == 403 and deal_of(crm_app, shop["deal"])[0] == "open"
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "reza")  # read-only: sees the pages, no forms, cannot post
    page = client.get(f"/p/pipeline/deals/{shop['deal']}").text
    assert "/p/pipeline/leads" in page and "ثبت برد" not in page
    assert (
        client.post(
            f"/p/pipeline/deals/{shop['deal']}/win", data={"csrf_token": csrf, "amount": "1"}
        ).status_code
        == 403
    )


def test_a_web_form_lead_arrives_with_its_source(crm_app, client, shop, crm_cli):
    def send(**fields):
        form = client.get(f"/forms/lead?source={fields['source']}").text
        assert f'name="source" value="{fields["source"]}"' in form  # the embedding page's tag
        return client.post("/forms/lead", data={"form_token": form_token(form), **fields})

    assert (
        send(
            name="مریم کریمی",
            phone="09123334455",
            message="قیمت عمده زعفران؟\nبرای عید",
            source="exhibition",
        ).status_code
        == 200
    )
    assert send(name="رضا", phone="09124445566", source="landing-nowruz").status_code == 200
    leads = crm_cli("pipeline", "leads", "list", "--json").json()
    web = [lead for lead in leads if lead["phone"] in ("+989123334455", "+989124445566")]
    assert [(lead["title"], lead["source"], lead["contact_name"]) for lead in web] == [
        ("قیمت عمده زعفران؟", "exhibition", "مریم کریمی"),
        ("فرم وب: رضا", "website", "رضا"),
    ]
    assert "form source: landing-nowruz" in web[1]["note"]
    assert all(lead["customer_id"] for lead in web)
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(select(func.count()).select_from(Lead)) == 3


def test_the_pages_in_english_with_gregorian_dates(crm_app, client, shop):
    login(client, "sara")
    client.cookies.set("crm_lang", "en")
    deal = client.get(f"/p/pipeline/deals/{shop['deal']}").text
    assert '<html lang="en" dir="ltr">' in deal
    assert "Mark as won" in deal and "Stage history" in deal and "125,000,000 IRR" in deal
    assert "2025-05-10" in deal  # 1404/02/20 in the Gregorian calendar
    forecast = client.get("/p/pipeline/forecast").text
    assert "Ordibehesht 1404" in forecast and "Sales forecast" in forecast
    leads = client.get("/p/pipeline/leads").text
    assert "Sales leads" in leads and "0935 123 4567" in leads


def test_a_new_deal_from_the_customer_page(crm_app, client, shop, count):
    """The 360° page's quick action opens a deal through the CLI's ``create_deal``; a refusal is
    shown beside its field and stores nothing; without the plugin's write level no form."""
    csrf = login(client, "sara")
    cid = shop["customer"]
    page = client.get(f"/customers/{cid}").text
    assert f'action="/p/pipeline/customers/{cid}/deals"' in page and "معاملهٔ جدید" in page
    url = f"/p/pipeline/customers/{cid}/deals"
    before = count(Deal)
    refused = client.post(url, data={"csrf_token": csrf, "title": "", "amount": "۵۰٬۰۰۰"})
    assert refused.status_code == 422 and 'data-field="title"' in refused.text
    assert count(Deal) == before
    bad = client.post(url, data={"csrf_token": csrf, "title": "زعفران", "amount": "-1"})
    assert bad.status_code == 422 and 'data-field="amount"' in bad.text and count(Deal) == before
    ok = client.post(
        url,
        data={"csrf_token": csrf, "title": "پسته برای نوروز", "amount": "۵۰٬۰۰۰٬۰۰۰"},
        follow_redirects=False,
    )
    assert ok.status_code == 303 and ok.headers["location"].startswith(f"/customers/{cid}")
    assert count(Deal) == before + 1
    timeline = client.get(f"/customers/{cid}").text
    assert "پسته برای نوروز" in timeline
    client.post("/logout", data={"csrf_token": csrf})
    csrf = login(client, "reza")
    assert f"/p/pipeline/customers/{cid}/deals" not in client.get(f"/customers/{cid}").text
    assert client.post(url, data={"csrf_token": csrf, "title": "x"}).status_code == 403
