"""An agent's day at the help desk in a real browser (Playwright driving Debian's Chromium), at 1366
and 390 px: open a ticket from the queue, reply, close it within SLA with the customer's CSAT; then
the CLI's ``crm tickets show --json`` says the same. Screenshots of the queue and the ticket are
kept in the test's directory (and in ``$TICKETS_SCREENSHOTS`` when set, for the README)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
from crmcore_tickets import service
from tickets_helpers import at, standard_setup

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
PASSWORD = "a long enough password"
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium"
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")

SUBJECTS = [
    ("سفارش ۴۵۲۱ هنوز نرسیده", "urgent"),
    ("مبلغ دو بار از کارت کسر شد", "high"),
    ("درخواست فاکتور رسمی", "normal"),
    ("تعویض سایز کفش", "normal"),
    ("آدرس ارسال اشتباه است", "low"),
    ("کد تخفیف کار نمی‌کند", "normal"),
    ("سؤال دربارهٔ گارانتی", "low"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher, profiles

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )


@pytest.fixture
def desk(crm_app):
    """A help desk on Saturday 09:00: seven tickets of five customers, sara (agent) answers them."""
    from crmcore_tickets.agents import set_agent

    from crmcore.testing import add_user

    standard_setup(crm_app)
    at(crm_app, 2025, 1, 4, 9, 0)
    people = [
        make_customer(crm_app, name, phones=[phone], emails=[mail])
        for name, phone, mail in (
            ("مریم رضایی", "09121234567", "maryam@example.ir"),
            ("علی کاظمی", "09351234567", "ali@example.ir"),
            ("زهرا احمدی", "09131112233", "zahra@example.ir"),
            ("رضا محمدی", "09191112233", "reza@example.ir"),
            ("لیلا حسینی", "09301112233", "leila@example.ir"),
        )
    ]
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "sara", PASSWORD, "agent", display_name="سارا موسوی")
        from crmcore_tickets.models import Agent
        from sqlalchemy import select

        uow.session.scalar(
            select(Agent).where(Agent.username == "sara")
        ).display_name = "سارا موسوی"
        ids = []
        for i, (subject, priority) in enumerate(SUBJECTS):
            ids.append(
                service.open_ticket(
                    uow,
                    people[i % len(people)],
                    subject=subject,
                    priority=priority,
                    body="لطفاً پیگیری کنید",
                    channel="web",
                    agent="reza" if i == 2 else "sara",
                ).id
            )
        set_agent(uow, "nima", active=False)
    at(
        crm_app, 2025, 1, 4, 9, 40
    )  # the urgent ticket is 10 business minutes past its 30-minute target
    with crm_app.unit_of_work(actor="setup") as uow:
        service.agent_reply(
            uow, ids[3], "سایز ۴۲ موجود است، ارسال کنیم؟", agent="sara", pending=True
        )
    at(crm_app, 2025, 1, 4, 10, 0)
    return ids


@pytest.fixture
def server(crm_app):
    import uvicorn

    from crmcore.testing import WebSettings, create_app

    port = free_port()
    srv = uvicorn.Server(
        uvicorn.Config(
            create_app(crm_app, WebSettings(secret="browser-tickets")),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


#: Latin words a Persian page may show: standards' names and the switch to English
ALLOWED_LATIN = {"SLA", "CSAT", "SMS", "English"}
LABELS = (
    "h1, h2, h3, th, dt, label, summary, button, nav a, .ui-badge, .pager, legend, "
    "select:not([name=agent]) option"
)
LATIN_DATE = re.compile(r"\b(19|20)\d\d[-/]\d\d?[-/]\d\d?\b|\b1[34]\d\d[-/]\d\d[-/]\d\d\b")


def no_overflow(page, where):
    """No wider than the window; labels Persian (data such as names aside); dates Jalali in Persian
    digits."""
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{where} is {overflow}px wider than the window"
    labels = page.evaluate(f"""() => [...document.querySelectorAll({json.dumps(LABELS)})]
        .filter(e => e.offsetParent !== null || e.tagName === 'OPTION')
        .map(e => e.tagName === 'OPTION' ? e.textContent
                  : e.tagName === 'LABEL' ? e.firstChild.textContent : e.innerText)""")
    for text in labels:
        stray = [w for w in re.findall(r"[A-Za-z_]{2,}", text or "") if w not in ALLOWED_LATIN]
        assert not stray or re.search(r"[؀-ۿ]", text) and len(stray) < 2, (
            f"{where}: a label in English on a Persian page: {text!r}"
        )
    visible = page.evaluate("() => document.querySelector('main').innerText")
    assert not LATIN_DATE.search(visible), f"{where}: a date in Latin digits or Gregorian"


def shoot(page, name, tmp_path):
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    keep = os.environ.get("TICKETS_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


@pytest.mark.parametrize("width", [1366, 390])
def test_an_agent_closes_a_ticket_within_sla_from_the_queue(
    crm_app, crm_cli, desk, server, width, tmp_path
):
    chosen = desk[
        5
    ]  # «کد تخفیف کار نمی‌کند», sara's, normal priority: first response due in 2 business hours
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(
            viewport={"width": width, "height": 860}, locale="fa-IR", service_workers="block"
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None
        )
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(server + "/login")
        page.fill("input[name=username]", "sara")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login button")
        page.wait_for_url(server + "/")

        page.goto(server + "/p/tickets/queue")  # the menu's «تیکت‌ها» entry
        assert page.locator('nav a[href="/p/tickets/queue"]').count() >= 1
        rows = page.locator("#tickets tbody tr")
        assert rows.count() == len(SUBJECTS)
        first_row = rows.first.inner_text()
        assert (
            "سفارش ۴۵۲۱ هنوز نرسیده" in first_row and "گذشته از موعد" in first_row
        )  # breached, on top
        assert page.locator("#tickets tbody tr .ui-badge.tone-danger").count() >= 1
        no_overflow(page, f"the queue at {width}px")
        shoot(page, f"queue-{width}", tmp_path)

        page.click(f'#tickets a[href="/p/tickets/tickets/{chosen}"]')
        page.wait_for_url(f"{server}/p/tickets/tickets/{chosen}")
        assert "کد تخفیف کار نمی‌کند" in page.locator("h1").inner_text()
        assert "اولین پاسخ: " in page.locator("#ticket-badges").inner_text()
        page.fill("#action-reply textarea[name=body]", "کد جدید را پیامک کردیم.")
        page.click("#action-reply button")
        page.wait_for_selector("p.notice")
        assert "کد جدید را پیامک کردیم." in page.locator("#conversation").inner_text()
        no_overflow(page, f"the ticket page at {width}px")
        shoot(page, f"ticket-{width}", tmp_path)

        # a refused action: the CLI's reason beside its form, nothing changed
        page.fill("#action-merge input[name=duplicate]", "۹۹۹")
        page.click("#action-merge button")
        page.wait_for_selector("#action-merge p.error")
        assert page.locator("#action-merge p.error").inner_text() == "no ticket #999"
        assert page.locator("#action-merge input[name=duplicate]").input_value() == "۹۹۹"
        no_overflow(page, f"the refused merge at {width}px")
        shoot(page, f"ticket-refused-{width}", tmp_path)

        page.select_option("#action-close select[name=score]", "5")
        page.fill("#action-close input[name=comment]", "سریع و دقیق")
        page.click("#action-close button")
        page.wait_for_selector("p.notice")
        assert "بسته" in page.locator("#ticket-badges").inner_text()
        assert "در موعد" in page.locator("#ticket-badges").inner_text()
        assert page.locator("#action-reply").count() == 0
        assert errors == []
        browser.close()

    shown = crm_cli("tickets", "show", str(chosen), "--json")
    assert shown.exit_code == 0, shown.stderr
    data = shown.json()
    assert (data["state"], data["assignee"]) == ("closed", "sara")
    assert data["csat"]["score"] == 5 and data["csat"]["comment"] == "سریع و دقیق"
    assert (
        data["sla"]["first_response_breached"] is False
        and data["sla"]["resolution_breached"] is False
    )
    assert data["sla"]["first_response_at"] == "2025-01-04T06:30:00+00:00"
    assert [(m["author"], m["agent"], m["body"]) for m in data["messages"]][-1] == (
        "agent",
        "sara",
        "کد جدید را پیامک کردیم.",
    )
