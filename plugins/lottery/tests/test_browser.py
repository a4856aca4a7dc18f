"""In a real browser: a manager closes and draws a raffle; a logged-out visitor checks the draw on
the public page with the hashes that were published and finds their own lottery code; the
CLI's --json then agrees. Screenshots at 1366 and 390 px."""

from datetime import datetime, timezone

import pytest

from crmcore.testing import add_user, make_customer, record_purchase
from crmcore.testing.browser import ARGS, CHROMIUM, live_web, login, overflow, shoot

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium"
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")
UTC = timezone.utc


def test_a_manager_draws_and_a_logged_out_visitor_verifies(crm_app, crm_cli):
    created = crm_cli(
        "lottery",
        "create",
        "nowruz",
        "--title",
        "Nowruz raffle",
        "--title-fa",
        "قرعه‌کشی نوروز ۱۴۰۴",
        "--rules",
        "هر خرید یک شانس؛ هر ۱٬۰۰۰٬۰۰۰ ریال یک شانس دیگر",
        "--from",
        "1403-12-01",
        "--to",
        "1403-12-29",
        "--per-purchase",
        "1",
        "--per-amount",
        "1000000",
        "--prize",
        "سکه بهار آزادی=1",
        "--prize",
        "کارت هدیه=2",
    )
    assert created.exit_code == 0, created
    people = [
        make_customer(crm_app, name)
        for name in ("مریم رضایی", "علی کریمی", "سارا محمدی", "رضا احمدی")
    ]
    for i, cid in enumerate(people):
        record_purchase(
            crm_app, cid, str(2_500_000 * (i + 1)), at=datetime(2025, 3, 1, 9, tzinfo=UTC)
        )
    entries = crm_cli("lottery", "entries", "nowruz", "--json").json()
    mine = next(r for r in entries if r["customer_id"] == people[0])
    with crm_app.unit_of_work() as uow:
        add_user(uow, "manager", "secret-pass-1", "manager", display_name="مدیر فروشگاه")
    with live_web(crm_app) as base, playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        desk = browser.new_context(viewport={"width": 1366, "height": 900}, locale="fa-IR")
        page = desk.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        login(page, base, "manager", "secret-pass-1")
        page.goto(f"{base}/p/lottery/campaigns")
        page.click("text=قرعه‌کشی نوروز ۱۴۰۴")
        page.wait_for_selector("#panel-entries")
        page.click("form[action$='/close'] button")
        page.wait_for_selector("form[action$='/draw']")
        early = page.click("form[action$='/draw'] button")  # noqa: F841 - the gap after closing
        assert "published hashes are out first" in page.inner_text("#page-error")
        crm_app.clock.advance(hours=2)
        page.click("form[action$='/draw'] button")
        page.wait_for_selector("#panel-winners")
        assert overflow(page) <= 0
        shoot(page, "lottery-campaign-desktop")
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="fa-IR", is_mobile=True
        )
        small = phone.new_page()
        login(small, base, "manager", "secret-pass-1")
        small.goto(f"{base}/p/lottery/campaigns/nowruz")
        assert overflow(small) <= 0
        shoot(small, "lottery-campaign-phone")
        published = crm_cli("lottery", "show", "nowruz", "--json").json()
        for width, name in ((390, "phone"), (1366, "desktop")):
            visitor = browser.new_context(viewport={"width": width, "height": 900}, locale="fa-IR")
            public = visitor.new_page()
            public.goto(f"{base}/p/lottery/verify/nowruz")
            assert "/login" not in public.url
            code = f"{str(mine['lottery_code'])[:4]}-{str(mine['lottery_code'])[4:]}"
            public.fill("input[name=code]", code)
            public.fill("input[name=list_hash]", published["list_sha256"])
            public.fill("input[name=commitment]", published["seed_commitment"])
            public.click("#verify-form button")
            public.wait_for_selector("#panel-mine")
            assert "بررسی موفق بود" in public.inner_text("#panel-checks")
            assert "مریم" not in public.content()  # members by code only
            assert overflow(public) <= 0
            shoot(public, f"lottery-verify-{name}")
            visitor.close()
        browser.close()
    winners = crm_cli("lottery", "winners", "nowruz", "--json").json()
    assert [w["prize_rank"] for w in winners] == [1, 2, 2]
    assert all(w["lottery_code"] for w in winners)
    verified = crm_cli(
        "lottery",
        "verify",
        "nowruz",
        "--list-hash",
        published["list_sha256"],
        "--commitment",
        published["seed_commitment"],
        "--json",
    )
    assert verified.exit_code == 0 and verified.json()["ok"] is True
