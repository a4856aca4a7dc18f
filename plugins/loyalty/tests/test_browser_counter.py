"""A cashier's day at the counter in a real browser (Playwright driving Debian's Chromium) on a
390 px phone: find the member by phone, choose a reward, confirm, read out the voucher; the CLI's
``crm loyalty balance --json`` then shows the points spent. The pages stay within the window (no
sideways scrolling) at 390 and 1366 px; screenshots go to ``test-artifacts/web/``."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
from crmcore_loyalty import api

from crmcore.testing import make_customer

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web"
PASSWORD = "a long enough password"
PROGRAM = """
[program]
name = "باشگاه کافه"
expiry = "12 months"
[[rules]]
name = "base"
kind = "per_amount"
points = 1
per = "100000"
[[rewards]]
code = "coffee"
title = "Free coffee"
title_fa = "قهوه رایگان"
kind = "free_item"
sku = "COFFEE"
cost = 100
valid_days = 30
[[rewards]]
code = "cake"
title = "Cake 20% off"
title_fa = "۲۰٪ تخفیف کیک"
kind = "percent_discount"
percent = 20
cost = 400
"""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() or shutil.which("chromium") is None,
    reason="browser tests need Debian's chromium",
)
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def counter(crm_app, monkeypatch):
    import uvicorn
    from argon2 import PasswordHasher, profiles
    from crmcore_loyalty.testing import load

    from crmcore.testing import WebSettings, add_user, create_app

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    load(crm_app, PROGRAM)
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "cashier", PASSWORD, "agent", display_name="صندوق‌دار")
    member = make_customer(crm_app, "مریم کریمی", phones=["09121234567"])
    make_customer(crm_app, "مریم کریمی‌نژاد", phones=["09351112233"])
    with crm_app.unit_of_work() as uow:
        api.credit(uow, member, 250, kind="adjust", reason="خرید افتتاحیه")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(crm_app, WebSettings(secret="counter")),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield {"url": f"http://127.0.0.1:{port}", "browser": browser, "member": member}
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)


def open_as_cashier(counter, width: int):
    context = counter["browser"].new_context(
        viewport={"width": width, "height": 844}, locale="fa-IR", service_workers="block"
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.goto(counter["url"] + "/login?next=/p/loyalty/")
    page.fill("input[name=username]", "cashier")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button")
    page.wait_for_url(counter["url"] + "/p/loyalty/")
    return context, page, errors


def within_window(page, where: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{where}: the page is {overflow}px wider than the window"


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"loyalty-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_cashier_redeems_a_reward_on_a_phone(counter, crm_app, crm_cli):
    context, page, errors = open_as_cashier(counter, 390)
    within_window(page, "counter")
    page.fill("input[name=q]", "۰۹۱۲ ۱۲۳ ۴۵۶۷")  # typed with a Persian keyboard
    page.click("form[data-form=find] button")
    page.wait_for_url(f"**/p/loyalty/members/{counter['member']}/redeem")
    assert "۲۵۰" in page.inner_text(".ui-stat-value")
    within_window(page, "choose a reward")
    shot(page, "choose-phone")
    page.click("form[data-form=choose-coffee] button")
    page.wait_for_selector("form[data-form=confirm]")
    assert "۱۵۰" in page.inner_text(
        "form[data-form=confirm]"
    )  # the balance after, before confirming
    within_window(page, "confirm")
    page.click("form[data-form=confirm] button")
    page.wait_for_selector("[data-code]")
    code = page.get_attribute("[data-code]", "data-code")
    assert code and code.startswith("LY-")
    within_window(page, "voucher")
    shot(page, "voucher-phone")
    page.go_back()  # pages are never cached: going back shows the balance as it is now
    page.wait_for_selector("form[data-form=confirm]")
    assert "۱۵۰" in page.inner_text(".ui-stat-value")
    context.close()
    assert errors == [], errors
    balance = crm_cli("loyalty", "balance", str(counter["member"]), "--json").json()
    assert balance["balance"] == 150
    vouchers = crm_cli("loyalty", "vouchers", "list", "09121234567", "--json").json()
    assert [(v["code"], v["reward"], v["status"]) for v in vouchers] == [(code, "coffee", "active")]


def test_member_pages_fit_phone_and_desktop(counter):
    for width, name in ((390, "phone"), (1366, "desktop")):
        context, page, errors = open_as_cashier(counter, width)
        for path, label in (
            (f"/p/loyalty/members/{counter['member']}", "member"),
            ("/p/loyalty/program?customer=09121234567&amount=2500000", "program"),
            ("/p/loyalty/rewards", "rewards"),
            ("/p/loyalty/?q=مریم", "search"),
        ):
            response = page.goto(counter["url"] + path)
            assert response.status == 200, path
            within_window(page, f"{path} at {width}")
            shot(page, f"{label}-{name}")
        context.close()
        assert errors == [], errors
