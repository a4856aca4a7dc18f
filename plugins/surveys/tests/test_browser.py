"""In a real browser: a customer answers an NPS survey on a 390 px phone from the invitation's link;
a manager reads the results at 1366 and 390 px; the CLI's --json then shows the answer."""

import pytest
from surveys_test_helpers import new_customer

from crmcore.testing import add_user
from crmcore.testing.browser import ARGS, CHROMIUM, live_web, login, overflow, shoot

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium"
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")


def test_a_customer_answers_nps_on_a_phone_and_the_cli_sees_it(crm_app, crm_cli):
    new_customer(crm_app, "مریم رضایی", phone="09121234567")
    with crm_app.unit_of_work() as uow:
        add_user(uow, "manager", "secret-pass-1", "manager", display_name="مدیر فروشگاه")
    assert (
        crm_cli(
            "surveys",
            "create",
            "nps",
            "--template",
            "nps",
            "--title",
            "After your purchase",
            "--title-fa",
            "نظر شما درباره خرید امروز",
        ).exit_code
        == 0
    )
    with live_web(crm_app) as base, playwright_api.sync_playwright() as p:
        assert (
            crm_cli(
                "surveys", "settings", "--link-template", f"{base}/p/surveys/s/{{token}}"
            ).exit_code
            == 0
        )
        invited = crm_cli("surveys", "invite", "nps", "09121234567", "--json").json()
        url = invited["invited"][0]["url"]
        assert url.startswith(base)
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="fa-IR", is_mobile=True, has_touch=True
        )
        page = phone.new_page()
        page.goto(url)
        assert overflow(page) <= 0
        zero, ten = (
            page.locator(".point").first.bounding_box(),
            page.locator(".point").last.bounding_box(),
        )
        assert zero["x"] > ten["x"]  # right to left: 0 at the right, 10 at the left
        low, high = (
            page.locator(".ends span").first.bounding_box(),
            page.locator(".ends span").last.bounding_box(),
        )
        assert low["x"] > high["x"]  # "اصلاً" under 0, "حتماً" under 10
        assert ten["height"] >= 40  # a finger-sized target
        shoot(page, "surveys-answer-phone")
        page.click("button.send")  # nothing chosen: the browser asks for the required score
        assert page.url == url
        page.locator(".point", has_text="۹").click()
        page.fill("textarea[name=why]", "ارسال سریع بود")
        page.click("button.send")
        page.wait_for_selector("#survey-thanks")
        assert overflow(page) <= 0
        shoot(page, "surveys-thanks-phone")
        desktop = browser.new_context(viewport={"width": 1366, "height": 900}, locale="fa-IR")
        staff = desktop.new_page()
        login(staff, base, "manager", "secret-pass-1")
        staff.goto(f"{base}/p/surveys/results?survey=nps")
        assert overflow(staff) <= 0 and "۱۰۰" in staff.inner_text("#panel-survey-nps")
        shoot(staff, "surveys-results-desktop")
        small = phone.new_page()
        login(small, base, "manager", "secret-pass-1")
        small.goto(f"{base}/p/surveys/results?survey=nps")
        assert overflow(small) <= 0
        shoot(small, "surveys-results-phone")
        browser.close()
    results = crm_cli("surveys", "results", "nps", "--json").json()
    nps = next(q for q in results["questions"] if q["key"] == "nps")
    assert (results["responses"], nps["promoters"], nps["nps"]) == (1, 1, "100.0")
    [invitation] = crm_cli("surveys", "invitations", "nps", "--json").json()
    assert invitation["status"] == "answered"
