"""A manager's day with messages in a real browser (Playwright driving Debian's Chromium) at desktop
(1366 px) and phone (390 px) widths: they write a template and watch its preview for a customer
change as they type, compose a campaign on a saved segment, read how many recipients have and lack
consent, send it, and the CLI's ``--json`` then shows exactly those messages. Screenshots of each
page go to ``test-artifacts/web/messaging`` (the README's come from there)."""

from __future__ import annotations

import socket
import threading
import time
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
ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "web" / "messaging"
PASSWORD = "a long enough password"
WIDTHS = {"desktop": 1366, "phone": 390}

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="browser tests need Debian's chromium"
)
playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright")


@pytest.fixture
def crm_plugins():
    return ["messaging", "voip"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def shop(crm_app, tmp_path):
    """Twelve VIP customers (eight opted in to SMS, one of them without a mobile), a saved segment,
    a promotional template, a manager; served by ``crm web`` on a free port."""
    import uvicorn
    from crmcore_messaging.service import add_provider, save_template

    from crmcore.testing import WebSettings, add_user, cheap_passwords, create_app, save_segment

    names = [
        "مریم رضایی",
        "سارا کریمی",
        "زهرا احمدی",
        "علی نوری",
        "رضا محمدی",
        "نرگس موسوی",
        "کیان حسینی",
        "مهسا جعفری",
        "حسین قاسمی",
        "لیلا صادقی",
        "امیر رحیمی",
        "فاطمه کاظمی",
    ]
    for i, name in enumerate(names):
        phones = [f"0912{i:07d}"] if i != 7 else ["02188000007"]  # a landline: no SMS
        make_customer(crm_app, name, phones=phones, tags=["vip"], consent_sms=i < 8, city="تهران")
    make_customer(crm_app, "بهرام یزدانی", phones=["09130000001"], consent_sms=True)
    calls(crm_app)
    from crmcore_voip.config import VoipConfig

    crm_app.voip_config = VoipConfig(ami_username="crm", ami_secret="s3cret")  # click-to-call shown
    with cheap_passwords():
        with crm_app.unit_of_work(actor="setup") as uow:
            add_user(uow, "manager", PASSWORD, "manager", display_name="Manager")
            segment = save_segment(uow, "مشتریان ویژه تهران", ["tag=vip", "city=تهران"]).id
            add_provider(
                uow,
                name="dev",
                kind="file",
                channel="sms",
                options={"path": str(tmp_path / "sms.jsonl")},
            )
            save_template(
                uow,
                name="yalda",
                channel="sms",
                category="promotional",
                body="{{ first_name }} عزیز، شب یلدا با ۲۰٪ تخفیف مهمان ما باشید. لغو۱۱",
            )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(crm_app, WebSettings(secret="browser-msg")),
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
        yield {"url": f"http://127.0.0.1:{port}", "browser": browser, "segment": segment}
        browser.close()
    server.should_exit = True
    thread.join(timeout=10)


def calls(app) -> None:
    """A morning at the phone: an answered call, a missed one (to call back), an unknown caller."""
    from datetime import timedelta

    from crmcore_voip.events import CallEvent
    from crmcore_voip.service import handle_call_event

    start = app.now() - timedelta(hours=2)

    def ev(kind, call_id, seconds, caller, **kw):
        return CallEvent(
            kind=kind,
            source="webhook",
            call_id=call_id,
            caller=caller,
            at=start + timedelta(seconds=seconds),
            callee="02191001000",
            direction="in",
            **kw,
        )

    with app.unit_of_work() as uow:
        for e in (
            ev("ringing", "a", 0, "09120000000", extension="101"),
            ev("answered", "a", 6, "09120000000", agent="101"),
            ev("hangup", "a", 191, "09120000000"),
            ev("ringing", "b", 900, "09120000003", extension="102"),
            ev("hangup", "b", 925, "09120000003"),
            ev("ringing", "c", 1800, "09351234567", extension="101"),
            ev("answered", "c", 1804, "09351234567", agent="101"),
            ev("hangup", "c", 1850, "09351234567"),
        ):
            handle_call_event(uow, e)


def open_as(shop, width: int):
    context = shop["browser"].new_context(
        viewport={"width": width, "height": 860}, locale="fa-IR", service_workers="block"
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.goto(shop["url"] + "/login")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login button")
    page.wait_for_url(shop["url"] + "/")
    return context, page, errors


def fits(page, where: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"{where}: the page is {overflow}px wider than the window"


def shot(page, name: str, plugin: str = "messaging") -> None:
    folder = ARTIFACTS.parent / plugin
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_a_manager_previews_a_template_and_sends_a_campaign_on_a_segment(shop, crm_cli, width):
    context, page, errors = open_as(shop, WIDTHS[width])
    url = shop["url"]

    page.goto(url + "/p/messaging/templates?name=yalda&channel=sms&language=fa")
    page.fill("input[name=customer]", "09120000001")
    page.fill("textarea[name=body]", "{{ first_name }} عزیز، {{ points|fa }} امتیاز هدیه دارید")
    expect = playwright_api.expect
    expect(page.locator("#preview-body")).to_have_text("سارا عزیز، ۵۰۰ امتیاز هدیه دارید")
    assert page.inner_text("#preview-who") == "برای مشتری ۲"
    page.fill("textarea[name=body]", "{{ nickname }}")
    page.wait_for_selector("#preview-error:not([hidden])")
    assert page.inner_text("#preview-error").startswith("unknown field 'nickname'")
    fits(page, f"templates at {width}")
    page.fill(
        "textarea[name=body]", "{{ first_name }} عزیز، شب یلدا با ۲۰٪ تخفیف مهمان ما باشید. لغو۱۱"
    )
    expect(page.locator("#preview-body")).to_contain_text("سارا عزیز، شب یلدا")
    page.locator("#preview").scroll_into_view_if_needed()
    shot(page, f"templates-{width}")

    page.goto(url + "/p/messaging/campaigns")
    page.select_option("select[name=segment]", str(shop["segment"]))  # recounts by itself
    page.wait_for_selector("#audience-counts")
    counts = dict(
        zip(
            page.locator("#audience-counts .ui-stat-label").all_inner_texts(),
            page.locator("#audience-counts .ui-stat-value").all_inner_texts(),
        )
    )
    assert counts == {"در این بخش": "۱۲", "با رضایت": "۸", "بدون رضایت": "۴", "ارسال می‌شود": "۷"}
    fits(page, f"campaigns at {width}")
    shot(page, f"campaigns-{width}")
    name = f"yalda-{width}"
    page.select_option("select[name=template]", "yalda")
    page.fill("input[name=name]", name)
    page.click("#campaign-send button")
    page.wait_for_selector("#campaign-sent")
    assert "۷" in page.inner_text("#campaign-sent")
    fits(page, f"campaign sent at {width}")

    shown = crm_cli("messages", "campaigns", "show", name, "--json").json()
    assert shown["where"] == ["tag=vip", "city=تهران"] and shown["status"] == "done"
    logged = crm_cli("messages", "log", "--campaign", name, "--json").json()
    assert len(logged) == 7 and {m["status"] for m in logged} <= {"queued", "sent", "delivered"}
    page.goto(url + f"/p/messaging/log?campaign={name}")
    assert page.locator("#message-log tbody tr").count() == 7
    fits(page, f"log at {width}")
    shot(page, f"log-{width}")

    page.goto(url + "/p/voip/calls")
    assert page.locator("#call-log tbody tr").count() == 3
    fits(page, f"voip calls at {width}")
    shot(page, f"calls-{width}", "voip")
    page.goto(url + "/p/voip/missed")
    assert "علی نوری" in page.inner_text("#missed-calls")
    fits(page, f"voip missed at {width}")
    shot(page, f"missed-{width}", "voip")
    page.goto(url + "/customers/1")
    assert page.locator("form.phone-action button").inner_text() == "تماس"
    fits(page, f"customer page with click-to-call at {width}")
    shot(page, f"customer-{width}", "voip")
    page.goto(url + "/p/voip/missed")
    page.click("#missed-calls button")
    page.wait_for_selector("#no-missed")
    done = crm_cli("voip", "follow-ups", "list", "--all", "--json").json()
    assert [(f["status"], f["customer_id"]) for f in done][0][0] == "done"
    context.close()
    assert errors == [], errors
