"""The web workspace in a real browser (Playwright driving Debian's Chromium), on the demo
business, as every role at desktop (1366 px) and phone (390 px) widths: no page is wider than the
window, no label on a Persian page is a raw key or English, every date on a Persian page is Jalali
in Persian digits; the dashboard's figures equal the CLI's reports; a quick action on the 360° page
changes what the CLI then shows; the forms' Jalali picker, phone preview and grouped amounts work.

One browser and one server for the module, on one copy of the demo database (built once per
session).
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time

import pytest
from click.testing import CliRunner

from crmcore.app import CRM
from crmcore.cli.main import cli

from .conftest import DEMO_USERS, PASSWORD
from .test_browser import ARGS, CHROMIUM, free_port

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium"
)
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)

WIDTHS = {"desktop": 1366, "phone": 390}
#: Latin words a Persian page may show: names of standards and formats, and the switch to English
ALLOWED_LATIN = {"NPS", "CSV", "API", "SMS", "SLA", "CSAT", "English", "VIP", "vip"}
#: what a person reads as a label or heading (names, tags and other data are the user's own text)
LABELS = (
    "h1, h2, h3, th, dt, label, summary, button, nav a, .ui-stat-label, .ui-stat-hint, figcaption, "
    ".ui-progress-head span:first-child, .pager, legend, select[name=sort] option, "
    "select[name=consent] option, #bulk-action option"
)
LATIN_DATE = re.compile(r"\b(19|20)\d\d[-/]\d\d?[-/]\d\d?\b|\b1[34]\d\d[-/]\d\d[-/]\d\d\b")
PERSIAN_DATE = re.compile(r"[۰-۹]{4}[-/][۰-۹]{2}[-/][۰-۹]{2}")


@pytest.fixture(scope="module")
def workspace(demo_database, tmp_path_factory):
    import uvicorn

    from crmcore.web.app import create_app
    from crmcore.web.settings import WebSettings

    path = tmp_path_factory.mktemp("workspace") / "demo.db"
    shutil.copy(demo_database, path)
    app = CRM(f"sqlite:///{path}")
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app, WebSettings(secret="browser-workspace")),
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
        yield {
            "url": f"http://127.0.0.1:{port}",
            "app": app,
            "browser": browser,
            "customer": busiest(app),
        }
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)
    app.dispose()


def busiest(app) -> int:
    from sqlalchemy import func, select

    from crmcore.storage.models import Interaction

    with app.unit_of_work(readonly=True) as uow:
        return uow.session.execute(
            select(Interaction.customer_id)
            .group_by(Interaction.customer_id)
            .order_by(func.count().desc(), Interaction.customer_id)
            .limit(1)
        ).scalar_one()


def open_as(workspace, username: str, width: int):
    context = workspace["browser"].new_context(
        viewport={"width": width, "height": 860}, locale="fa-IR", service_workers="block"
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.goto(workspace["url"] + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button")
    page.wait_for_url(workspace["url"] + "/")
    return context, page, errors


def check_page(page, where: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{where}: the page is {overflow}px wider than the window"
    wide = page.evaluate(
        """() => [...document.querySelectorAll('main *')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1
                     || e.getBoundingClientRect().left < -1)
        .filter(e => !e.closest('.board, .table-wrap, .ui-table, table, nav, figure, [hidden]'))
        .slice(0, 5)
        .map(e => e.tagName + '.' + e.className + ': ' + (e.textContent || '').trim().slice(0, 40))"""
    )
    assert wide == [], f"{where}: elements outside the window: {wide}"
    labels = page.evaluate(f"""() => [...document.querySelectorAll({json.dumps(LABELS)})]
        .filter(e => e.offsetParent !== null || e.tagName === 'OPTION')
        .map(e => e.tagName === 'OPTION' ? e.textContent : e.innerText)""")
    for text in labels:
        words = re.findall(r"[A-Za-z_]{2,}", text or "")
        stray = [w for w in words if w not in ALLOWED_LATIN]
        assert (
            not stray
            or re.search(r"[؀-ۿ]", text)
            and not any("_" in w for w in stray)
            and len(stray) < 2
        ), f"{where}: a label in English or a raw key on a Persian page: {text!r}"
    visible = page.evaluate("() => document.querySelector('main').innerText")
    latin = LATIN_DATE.findall(visible)
    assert not latin, (
        f"{where}: a date in Latin digits or the Gregorian calendar: {LATIN_DATE.search(visible)[0]}"
    )
    for date_text in PERSIAN_DATE.findall(visible):
        assert date_text[:2] in (
            "۱۳",
            "۱۴",
        ), f"{where}: a Gregorian date in Persian digits: {date_text}"


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("username", list(DEMO_USERS))
def test_every_role_walks_the_workspace_without_overflow_english_labels_or_gregorian_dates(
    workspace, username, width
):
    context, page, errors = open_as(workspace, username, WIDTHS[width])
    pages = [
        "/",
        "/customers",
        "/customers?tag=vip&sort=name",
        f"/customers/{workspace['customer']}",
        "/boards/pipeline/deals",
        "/boards/tickets/queue",
        "/reports",
        "/reports/sales.by_period",
    ]
    if DEMO_USERS[username] != "read-only":
        pages.append("/customers/new")
    for path in pages:
        response = page.goto(workspace["url"] + path)
        assert response.status == 200, f"{username} {width} {path}: {response.status}"
        check_page(page, f"{username} at {width} on {path}")
    context.close()
    assert errors == [], errors


def run_cli(url: str, *args: str):
    result = CliRunner().invoke(cli, ["--db", url, *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_dashboard_figures_in_the_browser_equal_the_cli_reports(workspace):
    context, page, errors = open_as(workspace, "manager", WIDTHS["desktop"])
    figures = page.request.get(workspace["url"] + "/api/dashboard").json()["figures"]
    shown = page.eval_on_selector_all(
        "a.ui-stat-value", "els => els.map(e => [e.getAttribute('href'), e.innerText])"
    )
    assert len(shown) >= len({(f["report"], f["path"], f["from"]) for f in figures}) - 2
    for figure in figures:
        args = [
            "reports",
            "run",
            figure["report"],
            "--json",
            "--period",
            figure["period"],
            "--calendar",
            figure["calendar"],
        ]
        args += ["--from", figure["from"]] if figure["from"] else []
        args += ["--to", figure["to"]] if figure["to"] else []
        for key, value in figure["options"].items():
            args += ["--option", f"{key}={value}"]
        node = run_cli(workspace["app"].url, *args)
        for part in figure["path"].split("."):
            node = node.get(part) if isinstance(node, dict) else None
        assert figure["value"] == (
            node if node is not None else figure["value"] if figure["value"] in (0, None) else node
        ), figure
    first_href = shown[0][0]
    page.click(f"a.ui-stat-value[href='{first_href}']")
    page.wait_for_url(re.compile(r"/reports/"))
    assert page.locator("h1").inner_text()
    context.close()
    assert errors == []


def test_a_quick_action_on_the_360_page_changes_what_the_cli_shows(workspace):
    context, page, errors = open_as(workspace, "sara", WIDTHS["phone"])
    cid = workspace["customer"]
    page.goto(f"{workspace['url']}/customers/{cid}")
    note = "مشتری برای پنجشنبه وقت خواست"
    page.click("details.quick:has(form[action$='/note']) summary")
    page.fill("form[action$='/note'] textarea[name=text]", note)
    page.click("form[action$='/note'] button")
    playwright_api.expect(page.locator(".notice")).to_be_visible()
    listed = run_cli(
        workspace["app"].url, "interactions", "list", str(cid), "--kind", "note", "--json"
    )
    assert listed[0]["payload"]["text"] == note
    check_page(page, "the 360° page after a note")
    context.close()
    assert errors == []


def test_the_360_header_timeline_and_sale_action_and_the_list_as_cards_on_a_phone(workspace):
    context, page, errors = open_as(workspace, "manager", WIDTHS["phone"])
    cid = workspace["customer"]
    url = f"{workspace['url']}/customers/{cid}"
    page.goto(url)
    head = page.locator("header.customer-head")
    labels = head.locator(".ui-stat-label").all_inner_texts()
    assert {"مانده امتیاز", "ارزش طول عمر", "آخرین خرید", "مسئول"} <= set(labels), labels
    assert head.locator(".ui-badge").count() >= 3  # tier, SMS and email consent
    assert PERSIAN_DATE.search(head.locator(".ui-stat", has_text="آخرین خرید").inner_text())
    entries = page.locator("#timeline .ui-timeline li")
    # a page of 20, or a few more when several events share the moment the page ends at
    assert entries.count() >= 20
    kinds = set(page.locator("#timeline .ui-timeline li .ui-badge").all_inner_texts())
    assert {"امتیاز", "تعامل"} <= kinds, kinds  # interactions and loyalty's points, merged
    moments = page.eval_on_selector_all(
        "#timeline .ui-timeline time", "els => els.map(e => e.getAttribute('datetime'))"
    )
    first_page = moments
    assert all(a >= b for a, b in zip(moments, moments[1:])), moments  # newest first
    page.click("#timeline a.more")
    older = page.eval_on_selector_all(
        "#timeline .ui-timeline time", "els => els.map(e => e.getAttribute('datetime'))"
    )
    assert older and older[0] < first_page[-1]  # strictly older: nothing shown twice
    check_page(page, "the 360° page's older events")
    page.click("#timeline .chips a[href*='only=loyalty']")
    assert set(page.locator("#timeline .ui-timeline li .ui-badge").all_inner_texts()) == {"امتیاز"}

    page.goto(url)
    page.click("details.quick:has(form[action$='/sale']) summary")
    page.fill("form[action$='/sale'] input[name=amount]", "۲۵۰۰۰۰")
    page.fill("form[action$='/sale'] input[name=receipt]", "WS-360-1")
    page.click("form[action$='/sale'] button")
    playwright_api.expect(page.locator(".notice")).to_be_visible()
    bought = run_cli(
        workspace["app"].url, "interactions", "list", str(cid), "--kind", "purchase", "--json"
    )
    assert bought[0]["external_id"] == "WS-360-1" and bought[0]["channel"] == "web"
    assert page.locator("#timeline .ui-timeline li").first.locator(".ui-badge").inner_text() in (
        "تعامل",
        "امتیاز",
    )
    check_page(page, "the 360° page after a sale")

    page.goto(workspace["url"] + "/customers")
    card = page.locator("table.customers tr[data-customer]").first
    assert card.evaluate("e => getComputedStyle(e).display") == "grid"
    assert (
        page.locator("table.customers thead").evaluate("e => getComputedStyle(e).display") == "none"
    )
    assert card.locator(".c-name a").is_visible() and card.locator(".c-last").is_visible()
    check_page(page, "the customer list as cards")
    context.close()
    assert errors == []


def test_forms_pick_jalali_dates_preview_phones_and_group_amounts(workspace):
    expect = playwright_api.expect
    context, page, errors = open_as(workspace, "sara", WIDTHS["phone"])
    page.goto(workspace["url"] + "/customers/new")
    page.fill("input[name=name]", "ستاره آزمون")
    page.locator("input[name=phone]").press_sequentially("۰۹۱۲-۳۳۳-۴۴۵۵", delay=10)
    expect(page.locator("#phone-parsed")).to_have_text("۰۹۱۲ ۳۳۳ ۴۴۵۵ · همراه")
    page.click("input[name=birthday]")
    picker = page.locator("jdp-container")
    expect(picker).to_be_visible()
    picker.locator(".jdp-day:not(.not-in-month)").first.click()
    value = page.input_value("input[name=birthday]")
    assert re.fullmatch(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", value), value
    page.click("form.card button")
    expect(page.locator(".notice")).to_be_visible()
    cid = re.search(r"/customers/(\d+)", page.url).group(1)
    shown = run_cli(workspace["app"].url, "customers", "show", cid, "--json")
    assert shown["phones"][0]["e164"] == "+989123334455" and shown["birthday"]
    page.goto(workspace["url"] + "/customers")
    page.click("#filters summary")
    page.locator("input[name=spent_min]").press_sequentially("2500000", delay=10)
    assert page.input_value("input[name=spent_min]") == "۲٬۵۰۰٬۰۰۰"
    page.click("#filters button:has-text('اعمال فیلتر')")
    expect(page.locator("#list-count")).to_be_visible()
    assert "spent" in page.url and page.locator("#list-error").count() == 0
    context.close()
    assert errors == []


def test_a_task_and_a_deal_from_the_360_page_show_on_its_timeline(workspace):
    """The tasks and pipeline quick actions on a phone: each folded form posts to the plugin's
    route (the CLI's service function); the new task and deal are then on the timeline, and the
    CLI lists them."""
    expect = playwright_api.expect
    context, page, errors = open_as(workspace, "manager", WIDTHS["phone"])
    cid = workspace["customer"]
    url = f"{workspace['url']}/customers/{cid}"
    page.goto(url)
    task = page.locator(f"form[action='/p/tasks/customers/{cid}/tasks']")
    page.click("details.quick[data-plugin=tasks] summary")
    task.locator("input[name=title]").fill("ارسال نمونهٔ زعفران")
    task.locator("select[name=kind]").select_option("call_back")
    task.locator("input[name=day]").click()  # the Jalali picker: the month's last day
    page.locator("jdp-container .jdp-day:not(.not-in-month)").last.click()
    day = task.locator("input[name=day]").input_value()
    assert re.fullmatch(r"[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", day), day
    task.locator("button").click()
    page.wait_for_url(re.compile(rf"/customers/{cid}"))
    deal = page.locator(f"form[action='/p/pipeline/customers/{cid}/deals']")
    page.click("details.quick[data-plugin=pipeline] summary")
    deal.locator("input[name=title]").fill("خرید عمدهٔ نوروزی")
    deal.locator("input[name=amount]").press_sequentially("75000000", delay=5)
    deal.locator("button").click()
    page.wait_for_url(re.compile(rf"/customers/{cid}"))
    timeline = page.locator("#timeline .ui-timeline")
    expect(timeline.locator("li", has_text="خرید عمدهٔ نوروزی")).to_be_visible()
    expect(timeline.locator("li", has_text="ارسال نمونهٔ زعفران")).to_be_visible()
    assert "تماس مجدد ثبت شد" in timeline.locator("li", has_text="ارسال نمونهٔ زعفران").inner_text()
    check_page(page, "the 360° page after a task and a deal")
    tasks = run_cli(workspace["app"].url, "tasks", "list", "--customer", str(cid), "--json")
    assert any(t["title"] == "ارسال نمونهٔ زعفران" and t["kind"] == "call_back" for t in tasks)
    deals = run_cli(workspace["app"].url, "pipeline", "deals", "list", "--json")
    [made] = [d for d in deals if d["title"] == "خرید عمدهٔ نوروزی"]
    assert made["customer_id"] == cid and made["amount"] in (75000000, "75000000")
    context.close()
    assert errors == []
