"""In a real browser (Debian's headless Chromium driven by Playwright): log in, search a Persian name typed with
Arabic letters, open the customer page with its plugin panel, move a deal by dragging and by button, see a
caller-ID pop arrive, switch to English. Screenshots of every step go to ``test-artifacts/web/``.

Needs ``apt-get install -y chromium`` (``/usr/bin/chromium``) and the ``playwright`` package; skipped otherwise.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from crmcore.api import hookimpl
from crmcore.services.profile import ProfileSection
from crmcore.storage.models import Setting
from crmcore.testing import emit_event, make_customer
from crmcore.web.app import create_app
from crmcore.web.settings import WebSettings

from .conftest import PASSWORD
from .test_boards_and_calls import DealsBoard, pop, stage_of

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="browser tests need Debian's chromium: apt-get install -y chromium",
)
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="browser tests need the playwright package"
)


class Club:
    @hookimpl
    def crm_customer_profile(self, uow, customer):
        return ProfileSection(
            key="club",
            title="Club",
            title_fa="باشگاه مشتریان",
            data={"tier": "طلایی", "points": 1250, "expires": "2025-06-01"},
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(crm_app_factory, users, crm_backend):
    import uvicorn

    first = crm_app_factory()
    cid = make_customer(first, "مهدی کاظمی", phones=["09351112233"], city="اصفهان")
    make_customer(first, "مهسا کاظمی‌نژاد")
    app = crm_app_factory(extra_plugins=[("deals", DealsBoard(cid), None), ("club", Club(), None)])
    with app.unit_of_work() as uow:
        uow.session.add_all(
            [
                Setting(namespace="deals", key="d1", value="new"),
                Setting(namespace="deals", key="d2", value="new"),
            ]
        )
    settings = WebSettings(secret="browser-test", sse_poll=0.1, sse_max_seconds=60)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(app, settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            timeout_graceful_shutdown=1,
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield {"url": f"http://127.0.0.1:{port}", "app": app, "customer": cid, "backend": crm_backend}
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def page(live_server):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="fa-IR")
        page = context.new_page()
        page.set_default_timeout(15000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
        page.on(
            "response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None
        )
        yield page
        browser.close()
        assert errors == [], f"browser errors: {errors}"


def test_a_day_at_the_desk(live_server, page):
    expect = playwright_api.expect
    base, app, backend = live_server["url"], live_server["app"], live_server["backend"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> None:
        page.screenshot(path=str(ARTIFACTS / f"{backend}-{name}.png"), full_page=True)

    page.goto(base + "/customers")
    expect(page.locator("#login")).to_be_visible()
    assert page.locator("html").get_attribute("dir") == "rtl"
    page.fill("input[name=username]", "agent")
    page.fill("input[name=password]", PASSWORD)
    shot("01-login")
    page.click("#login button")
    expect(page).to_have_url(base + "/customers")

    page.locator("#q").press_sequentially(
        "مهدي كاظمي", delay=20
    )  # Arabic ي and ك, as many keyboards type
    result = page.locator("#results a").first
    expect(result).to_have_text("مهدی کاظمی")
    expect(page.locator("#results li")).to_have_count(1)
    shot("02-search")
    result.click()
    expect(page.locator("h1")).to_have_text("مهدی کاظمی")
    panel = page.locator("#panel-club")
    expect(panel).to_contain_text("باشگاه مشتریان")
    expect(panel).to_contain_text("۱٬۲۵۰")
    expect(panel).to_contain_text("۱۴۰۴/۰۳/۱۱")  # 2025-06-01 in the Jalali calendar
    shot("03-customer")

    page.goto(base + "/boards/deals/deals")
    card = page.locator("article[data-card=d1]")
    card.drag_to(page.locator("section[data-column=proposal]"))
    expect(page.locator("section[data-column=proposal] article[data-card=d1]")).to_be_visible()
    assert stage_of(app, "d1") == "proposal"
    moving = page.locator("article[data-card=d2]")
    moving.locator("select[name=column]").select_option("won")
    moving.locator("button").click()
    expect(page.locator(".notice")).to_have_text("منتقل شد.")
    expect(page.locator("section[data-column=won] article[data-card=d2]")).to_be_visible()
    assert stage_of(app, "d2") == "won"
    shot("04-board")

    page.goto(base + "/calls")
    time.sleep(0.5)  # the stream is open and has read where the outbox ends
    cid = live_server["customer"]
    emit_event(
        app, "voip_incoming_call", customer_id=cid, data=pop(cid, "مهدی کاظمی", "+989351112233")
    )
    popped = page.locator("#call-pops .pop")
    expect(popped).to_contain_text("مهدی کاظمی")
    expect(popped).to_contain_text("۰")
    expect(page.locator("#live-calls li").first).to_contain_text("مهدی کاظمی")
    shot("05-caller-id-pop")
    popped.locator(".pop-link").click()
    expect(page).to_have_url(f"{base}/customers/{cid}")

    page.click("#lang-switch")
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    expect(page.locator("#panel-club")).to_contain_text("2025-06-01")
    shot("06-english")
