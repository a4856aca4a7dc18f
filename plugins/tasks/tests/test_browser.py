"""A salesperson's day with tasks in a real browser (Playwright driving Debian's Chromium): today's
tasks on "my tasks", one dragged to another day of the Jalali week, one completed; then the CLI's
``crm tasks list --json`` shows what the browser did. Pages are checked at 1366 and 390 px (no
overflow) and photographed into test-artifacts/web/."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

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

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium"
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

#: Wednesday 1404-01-06, 12:30 in Tehran: the Jalali week runs from Saturday 1404-01-02 to
#: Friday 1404-01-08
NOW = datetime(2025, 3, 26, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )


@pytest.fixture
def server(crm_app, users):
    import socket

    import uvicorn

    from crmcore.testing import WebSettings, add_user, create_app

    crm_app.clock.set(NOW)
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "sara", PASSWORD, "agent", display_name="سارا احمدی")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uv = uvicorn.Server(
        uvicorn.Config(
            create_app(crm_app, WebSettings(secret="browser-tasks")),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uv.started
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def open_as(browser, url, width):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="fa-IR", service_workers="block"
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.goto(url + "/login")
    page.fill("input[name=username]", "sara")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button")
    page.wait_for_url(url + "/")
    return context, page, errors


def no_overflow(page, where):
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{where}: {overflow}px wider than the window"


def test_a_salesperson_drags_a_task_to_another_day_and_completes_one(
    server, browser, crm_app, crm_cli, h, customer
):
    other = make_customer(crm_app, "رضا احمدی", phones=["09125550001"])
    call = h.add(
        customer,
        title="تماس با مریم برای تمدید",
        kind="call_back",
        due="1404-01-06 14:00",
        assignee="sara",
        reminders=["15m"],
    )
    quote = h.add(
        other, title="ارسال پیش‌فاکتور", kind="email", due="1404-01-06 16:30", assignee="sara"
    )
    h.add(
        other,
        title="جلسه هفتگی فروش",
        kind="meeting",
        due="1404-01-07 10:00",
        assignee="sara",
        rrule="weekly",
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (1366, 390):
        context, page, errors = open_as(browser, server, width)
        page.goto(server + "/p/tasks/mine")
        today = page.locator("#tasks-today")
        assert "تماس با مریم برای تمدید" in today.inner_text()
        assert "ارسال پیش‌فاکتور" in today.inner_text()
        no_overflow(page, f"my tasks {width}")
        page.screenshot(path=str(ARTIFACTS / f"tasks-mine-{width}.png"), full_page=True)
        page.goto(server + "/p/tasks/calendar?view=week")
        assert page.locator("h1").inner_text().startswith("۲ فروردین ۱۴۰۴")
        no_overflow(page, f"week {width}")
        page.screenshot(path=str(ARTIFACTS / f"tasks-week-{width}.png"), full_page=True)
        page.goto(server + "/p/tasks/calendar?view=month")
        no_overflow(page, f"month {width}")
        page.screenshot(path=str(ARTIFACTS / f"tasks-month-{width}.png"), full_page=True)
        assert errors == []
        context.close()

    context, page, errors = open_as(browser, server, 1366)
    page.goto(server + "/p/tasks/calendar?view=week")
    card = page.locator(f'[data-task="{quote}"][draggable="true"]')
    friday = page.locator('[data-drop-value="2025-03-28"]')
    with page.expect_navigation():
        card.drag_to(friday)
    assert "ارسال پیش‌فاکتور" in page.locator('[data-day="2025-03-28"]').inner_text()
    assert "ارسال پیش‌فاکتور" not in page.locator('[data-day="2025-03-26"]').inner_text()
    # a past day takes no drop
    assert page.locator('[data-day="2025-03-24"][data-drop-value]').count() == 0

    page.goto(server + "/p/tasks/mine")
    page.locator(f'[data-task="{call}"] .done-button').click()
    page.wait_for_load_state()
    assert "تماس با مریم برای تمدید" not in page.locator("#tasks-today").inner_text()
    assert errors == []
    context.close()

    listed = {
        t["id"]: t
        for t in crm_cli("--calendar", "jalali", "tasks", "list", "--state", "all", "--json").json()
    }
    assert listed[quote]["due"] == "1404-01-08 16:30" and listed[quote]["state"] == "open"
    assert listed[call]["state"] == "done"
