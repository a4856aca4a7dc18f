"""The HTML pages: login, search, the customer 360° page with plugin panels, forms with CSRF, reports with
charts and CSV, languages (Persian RTL with Jalali dates, English LTR), escaping of customer data."""

from __future__ import annotations

import re

from crmcore.api import hookimpl
from crmcore.services.profile import ProfileSection
from crmcore.testing import make_customer, record_purchase
from crmcore.web.contrib import WebPanel

from .conftest import PASSWORD, csrf_of, form_token, login
from .test_api import audit, count_customers


def test_pages_send_strangers_to_the_login_and_back(client, users, crm_app):
    cid = make_customer(crm_app, "مریم")
    first = client.get(f"/customers/{cid}", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == f"/login?next=/customers/{cid}"
    page = client.get(first.headers["location"])
    after = client.post(
        "/login",
        data={
            "username": "agent",
            "password": PASSWORD,
            "form_token": form_token(page.text),
            "next": f"/customers/{cid}",
        },
    )
    assert after.status_code == 200 and str(after.url).endswith(f"/customers/{cid}")
    cookie = after.history[0].headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_wrong_passwords_and_foreign_login_posts_are_refused(client, users):
    page = client.get("/login")
    wrong = client.post(
        "/login",
        data={
            "username": "agent",
            "password": "nope nope nope",
            "form_token": form_token(page.text),
        },
    )
    assert wrong.status_code == 401
    assert "نام کاربری یا گذرواژه نادرست است" in wrong.text
    forged = client.post("/login", data={"username": "agent", "password": PASSWORD})
    assert forged.status_code == 403
    assert client.get("/api/me").status_code == 401


def test_login_attempts_are_rate_limited(client, users):
    token = form_token(client.get("/login").text)
    codes = [
        client.post(
            "/login", data={"username": "agent", "password": "wrong password!", "form_token": token}
        ).status_code
        for _ in range(6)
    ]
    assert codes == [401] * 5 + [429]
    locked = client.post(
        "/login", data={"username": "agent", "password": PASSWORD, "form_token": token}
    )
    assert locked.status_code == 429


def test_search_page_finds_persian_names_typed_with_arabic_letters(client, users, crm_app):
    cid = make_customer(crm_app, "مهدی کاظمی", phones=["09351112233"])
    login(client, "viewer")
    page = client.get("/customers", params={"q": "مهدي كاظمي"})
    assert f'href="/customers/{cid}"' in page.text
    assert "۰۹۳۵ ۱۱۱ ۲۲۳۳" in page.text  # the phone as Iranians write it, in Persian digits
    none = client.get("/customers", params={"q": "ناشناس"})
    assert "مشتری‌ای پیدا نشد" in none.text


def test_customer_page_is_rtl_and_jalali_in_persian_and_ltr_gregorian_in_english(
    client, users, crm_app
):
    cid = make_customer(crm_app, "سارا احمدی", birthday="1370-05-12")
    login(client, "viewer")
    fa = client.get(f"/customers/{cid}")
    assert '<html lang="fa" dir="rtl">' in fa.text
    assert "۱۳۷۰/۰۵/۱۲" in fa.text
    en = client.get(f"/lang/en?next=/customers/{cid}")
    assert str(en.url).endswith(f"/customers/{cid}")
    assert '<html lang="en" dir="ltr">' in en.text
    assert "1991-08-03" in en.text and "Timeline" in en.text
    assert client.get("/lang/fa?next=https://evil.example/").url.path == "/"


def test_unsafe_html_in_customer_fields_is_escaped_everywhere(client, users, crm_app):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    cid = make_customer(crm_app, evil, city=evil, tags=["vip"])
    record_purchase(crm_app, cid, "1000")
    login(client, "viewer")
    for url in (f"/customers/{cid}", "/customers?q=script", "/audit"):
        page = client.get(url)
        assert "<script>alert" not in page.text and "<img src=x" not in page.text, url
    assert "&lt;script&gt;" in client.get(f"/customers/{cid}").text


def test_plugin_sections_render_generically_or_with_the_plugins_template(
    crm_app_factory, make_client, users, tmp_path, monkeypatch
):
    package = tmp_path / "club_web_panels"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "panel.html").write_text(
        '<p class="club-tier">{{ t("Tier") }}: {{ data.tier }} · {{ data.points | num }}</p>'
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    class Club:
        @hookimpl
        def crm_customer_profile(self, uow, customer):
            return ProfileSection(
                key="club",
                title="Club",
                title_fa="باشگاه",
                data={"points": 1200, "tier": "<b>gold</b>"},
            )

        @hookimpl
        def crm_web_panels(self):
            return [WebPanel(section="club", template="club_web_panels:panel.html")]

    class Deals:
        @hookimpl
        def crm_customer_profile(self, uow, customer):
            return ProfileSection(
                key="deals",
                title="Open deals",
                data={
                    "open": 2,
                    "next_close": "2025-03-20",
                    "deals": [{"title": "قرارداد", "amount": "5000000"}],
                },
            )

    class Broken:
        @hookimpl
        def crm_customer_profile(self, uow, customer):
            raise RuntimeError("database of the broken plugin is away")

    app = crm_app_factory(
        extra_plugins=[("club", Club(), None), ("deals", Deals(), None), ("broken", Broken(), None)]
    )
    client = make_client(app)
    cid = make_customer(app, "مریم")
    login(client, "viewer")
    page = client.get(f"/customers/{cid}").text
    assert '<p class="club-tier">سطح: &lt;b&gt;gold&lt;/b&gt; · ۱٬۲۰۰</p>' in page
    assert "<h2>باشگاه</h2>" in page
    deals = page[page.index('id="panel-deals"') :]
    assert "<dt>باز</dt><dd>۲</dd>" in deals
    assert "۱۴۰۳/۱۲/۳۰" in deals  # an ISO date in a plugin's data, shown in the Jalali calendar
    assert "<td>قرارداد</td>" in deals
    assert "بخش افزونهٔ «broken» نمایش داده نشد" in page[page.index('id="panel-broken"') :]


def test_forms_need_the_session_csrf_token_and_change_nothing_without_it(client, users, crm_app):
    cid = make_customer(crm_app, "مریم")
    csrf = login(client, "agent")
    refused = client.post(f"/customers/{cid}/edit", data={"city": "یزد"})
    assert refused.status_code == 403
    refused = client.post(f"/customers/{cid}/edit", data={"city": "یزد", "csrf_token": "forged"})
    assert refused.status_code == 403
    assert "یزد" not in client.get(f"/customers/{cid}").text
    saved = client.post(
        f"/customers/{cid}/edit", data={"city": "یزد", "add_tag": "vip", "csrf_token": csrf}
    )
    assert saved.status_code == 200 and "ذخیره شد" in saved.text and "یزد" in saved.text
    noted = client.post(
        f"/customers/{cid}/note", data={"text": "خواستار تخفیف", "csrf_token": csrf}
    )
    assert "خواستار تخفیف" in noted.text
    assert ("agent", "update", "customer") in audit(crm_app)
    assert ("agent", "record", "interaction") in audit(crm_app)


def test_new_customer_form_shows_the_bad_field_and_keeps_what_was_typed(client, users, crm_app):
    csrf = login(client, "agent")
    bad = client.post(
        "/customers/new", data={"name": "رضا", "phone": "0912abc", "csrf_token": csrf}
    )
    assert bad.status_code == 422
    assert "field phone" in bad.text and 'value="0912abc"' in bad.text
    assert count_customers(crm_app) == 0
    good = client.post(
        "/customers/new",
        data={"name": "رضا", "phone": "09121110000", "tags": "vip، lead", "csrf_token": csrf},
    )
    assert re.search(r"/customers/\d+\?ok=saved$", str(good.url))
    assert '<span class="ui-badge tone-info">lead</span>' in good.text


def test_read_only_users_see_no_forms_and_cannot_post(client, users, crm_app):
    cid = make_customer(crm_app, "مریم")
    csrf = login(client, "viewer")
    page = client.get(f"/customers/{cid}").text
    assert f'action="/customers/{cid}/edit"' not in page
    refused = client.post(f"/customers/{cid}/note", data={"text": "x", "csrf_token": csrf})
    assert refused.status_code == 403
    assert client.get("/audit").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_report_page_draws_an_svg_chart_and_downloads_csv(client, users, crm_app):
    cid = make_customer(crm_app, "مریم")
    record_purchase(crm_app, cid, "1250000", at="1403-07-15 10:00")
    record_purchase(crm_app, cid, "500000", at="1403-08-02 10:00")
    login(client, "viewer")
    page = client.get("/reports/sales.by_period", params={"period": "month"}).text
    assert "<svg" in page and page.count("<rect") == 2
    assert "۱۴۰۳/۰۷" in page and "۱۴۰۳/۰۸" in page
    assert "<td>۱٬۲۵۰٬۰۰۰</td>" in page  # exact amounts, grouped, in Persian digits
    csv = client.get("/reports/sales.by_period.csv", params={"calendar": "jalali"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="sales.by_period.csv"'
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[1].startswith("1403-07,")
    bad = client.get("/reports/sales.by_period", params={"from": "1403-02-40"})
    assert bad.status_code == 422 and "field from" in bad.text


def test_admins_manage_users_and_everyone_manages_their_tokens(client, users, crm_app):
    csrf = login(client, "admin")
    made = client.post(
        "/admin/users",
        data={"username": "neda", "password": PASSWORD, "role": "agent", "csrf_token": csrf},
    )
    assert made.status_code == 200 and "neda" in made.text
    short = client.post(
        "/admin/users",
        data={"username": "omid", "password": "short", "role": "agent", "csrf_token": csrf},
    )
    assert short.status_code == 422 and "at least 10 characters" in short.text
    client.post(
        "/admin/users/neda", data={"plugin": "loyalty", "level": "none", "csrf_token": csrf}
    )
    token_page = client.post(
        "/account/tokens", data={"name": "zapier", "level": "read", "csrf_token": csrf}
    )
    secret = re.search(r'<code id="new-token" dir="ltr">(crm_[^<]+)</code>', token_page.text).group(
        1
    )
    assert (
        client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).json()["level"]
        == "read"
    )
    assert ("admin", "create", "web_user") in audit(crm_app)
    assert ("admin", "set_permission", "web_user") in audit(crm_app)
    assert csrf_of(client.get("/account").text) == csrf


def test_audit_log_shows_changes_readably(client, users, crm_app):
    from crmcore.api import update_customer

    cid = make_customer(crm_app, "مریم", city="شیراز")
    with crm_app.unit_of_work(actor="manager") as uow:
        update_customer(uow, cid, city="یزد")
    login(client, "manager")
    page = client.get("/audit").text
    table = page[page.index("<tbody>") : page.index("</tbody>")]
    assert (
        "شیراز ← یزد" in table
        and "\\u" not in table
        and "{&#34;" not in table
        and '{"' not in table
    )


def test_report_totals_are_formatted_not_dicts(client, users, crm_app):
    cid = make_customer(crm_app, "مریم")
    record_purchase(crm_app, cid, "1250000", at="1403-07-15 10:00")
    login(client, "viewer")
    page = client.get("/reports/sales.by_period", params={"period": "month"}).text
    totals = page[page.index("<h2>جمع‌ها</h2>") :]
    assert "۱٬۲۵۰٬۰۰۰ ریال" in totals and "IRR" in totals
    assert "{" not in totals.split("</dl>")[0] and "None" not in totals


def test_the_360_header_timeline_and_actions_take_each_plugins_part_on_its_own(
    crm_app_factory, make_client, users
):
    from datetime import datetime, timezone

    from crmcore.api import ui
    from crmcore.testing import record_purchase

    L = ui.Label

    class Visits:
        @hookimpl
        def crm_customer_summary(self, uow, customer):
            return [
                ui.Stat(L("Visits", "مراجعه‌ها"), 7, kind="number"),
                ui.Badge(L("Regular", "همیشگی"), tone="success"),
            ]

        @hookimpl
        def crm_customer_timeline(self, uow, customer, before, limit):
            at = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
            if before is not None and at >= before:
                return []
            return [
                ui.TimelineEntry(
                    at, L("Visited the shop", "مراجعه حضوری"), kind=L("visit", "مراجعه")
                )
            ]

        @hookimpl
        def crm_customer_actions(self, uow, customer):
            return [ui.Action(L("Book a visit", "رزرو مراجعه"), f"/visits/{customer.id}")]

    class Broken:
        @hookimpl
        def crm_customer_summary(self, uow, customer):
            return [ui.Stat(L("Bad", "بد"), "not a number", kind="number")]

        @hookimpl
        def crm_customer_timeline(self, uow, customer, before, limit):
            raise RuntimeError("the broken plugin's table is away")

    app = crm_app_factory(extra_plugins=[("visits", Visits(), None), ("broken", Broken(), None)])
    cid = make_customer(app, "مریم")
    record_purchase(app, cid, "1,500,000", at="2025-03-02 10:00")
    record_purchase(app, cid, "20", currency="USD", at="2025-03-03 10:00")
    client = make_client(app)
    login(client, "agent")
    page = client.get(f"/customers/{cid}").text
    head = page[
        page.index('<header class="customer-head') : page.index(
            "</header>", page.index('<header class="customer-head')
        )
    ]
    assert "مراجعه‌ها" in head and "۷" in head and "همیشگی" in head
    assert "۱٬۵۰۰٬۰۰۰ ریال" in head and "۲۰٫۰۰ دلار" in head  # lifetime value per currency
    assert "۱۴۰۳/۱۲/۱۳" in head  # the last purchase, in the reader's calendar
    assert ">بد<" not in head and "broken" in head  # the broken plugin is named, not shown
    timeline = page[page.index('id="timeline"') :]
    assert timeline.index("مراجعه حضوری") > timeline.index("خرید")  # merged, newest first
    assert 'action="/p/visits/visits/' in page and "رزرو مراجعه" in page
    only = client.get(f"/customers/{cid}", params={"only": "visits"}).text
    assert "مراجعه حضوری" in only[only.index('id="timeline"') :]
    assert "۱٬۵۰۰٬۰۰۰" not in only[only.index('id="timeline"') :]
    bad = client.get(f"/customers/{cid}", params={"before": "yesterday"})
    assert bad.status_code == 422 and "before" in bad.text
    viewer = make_client(app)
    login(viewer, "viewer")
    assert "رزرو مراجعه" not in viewer.get(f"/customers/{cid}").text  # may not write: no actions
