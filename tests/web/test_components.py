"""Plugin panels built from crmcore.ui components on the customer page: every kind rendered in
Persian (RTL,
Jalali, Persian digits, Persian labels) and English; actions post with CSRF to the plugin's route; a
panel
with an unknown component or a value that cannot be formatted costs only that panel, names the
plugin and
is logged; the deprecated dict sections still render, with a warning."""

from __future__ import annotations

import logging
import re
from datetime import date, datetime, timezone

import pytest

from crmcore.api import Money, hookimpl, ui
from crmcore.services.profile import ProfileSection
from crmcore.testing import make_customer

from .conftest import login

AT = datetime(2024, 10, 6, 11, 0, tzinfo=timezone.utc)  # 14:30 on 15 Mehr 1403 in Tehran
L = ui.Label


class Club:
    @hookimpl
    def crm_customer_profile(self, uow, customer):
        return ui.Panel(
            key="club",
            title=L("Club", "باشگاه"),
            order=10,
            items=[
                ui.Stat(L("Points", "امتیاز"), 12500, kind="number", href="/customers"),
                ui.Stat(
                    L("Spent", "خرید"),
                    Money(12_500_000, "IRR"),
                    kind="money",
                    hint=L("this year", "امسال"),
                ),
                ui.Badge(L("Gold", "طلایی"), tone="warning"),
                ui.FieldList(
                    [
                        ui.Field(L("Member since", "عضو از"), date(2024, 10, 6), kind="date"),
                        ui.Field(L("Last visit", "آخرین مراجعه"), AT, kind="moment"),
                        ui.Field(L("Discount", "تخفیف"), 15, kind="percent"),
                    ]
                ),
                ui.Table(
                    columns=[
                        ui.Column("at", L("When", "زمان"), "moment"),
                        ui.Column("amount", L("Amount", "مبلغ"), "money"),
                        ui.Column("state", L("State", "وضعیت"), "badge"),
                        ui.Column("open", L("Open", "باز کردن"), "link"),
                    ],
                    rows=[
                        {
                            "at": AT,
                            "amount": Money(7550, "USD"),
                            "state": ui.Badge(L("Paid", "پرداخت‌شده")),
                            "open": ui.Link(L("Invoice", "فاکتور"), "/customers/1"),
                        }
                    ],
                    title=L("Purchases", "خریدها"),
                    total=7,
                    more_href="/reports",
                ),
                ui.Progress(
                    L("To Platinum", "تا پلاتینی"),
                    Money(2_000_000, "IRR"),
                    Money(8_000_000, "IRR"),
                    kind="money",
                    hint=L("6,000,000 rials more", "۶٬۰۰۰٬۰۰۰ ریال دیگر"),
                ),
                ui.TimelineEntry(AT, L("Reached Gold", "رسیدن به طلایی"), kind=L("tier", "سطح")),
                ui.Chart(
                    [(L("Mehr", "مهر"), 3), (L("Aban", "آبان"), 5)], title=L("Visits", "مراجعه‌ها")
                ),
                ui.Action(
                    L("Redeem", "استفاده از امتیاز"),
                    "/redeem",
                    fields=[
                        ui.ActionField("points", L("Points", "امتیاز"), "number", required=True)
                    ],
                ),
                ui.Action(L("Erase", "پاک کردن"), "/erase", access="admin", tone="danger"),
            ],
        )


def page(client, cid, lang="fa"):
    client.cookies.set("crm_lang", lang)
    response = client.get(f"/customers/{cid}")
    assert response.status_code == 200
    text = response.text
    start = text.index('id="panel-club"')
    return text, text[start : text.index("</section>", start)]


def test_every_component_kind_renders_in_persian(crm_app_factory, make_client, users):
    app = crm_app_factory(extra_plugins=[("club", Club(), None)])
    client = make_client(app)
    cid = make_customer(app, "مریم")
    login(client, "agent")
    whole, panel = page(client, cid)
    assert "<h2>باشگاه</h2>" in panel
    assert (
        "امتیاز" in panel and "۱۲٬۵۰۰" in panel and "۱۲٬۵۰۰٬۰۰۰ ریال" in panel and "امسال" in panel
    )
    assert '<span class="ui-badge tone-warning">طلایی</span>' in panel
    assert "<dt>عضو از</dt>" in panel and "۱۴۰۳/۰۷/۱۵" in panel and "۱۴۰۳/۰۷/۱۵ ۱۴:۳۰" in panel
    assert "۱۵٪" in panel
    assert "۷۵٫۵۰ دلار" in panel and '<a href="/customers/1">فاکتور</a>' in panel
    assert "۱ از ۷" in panel and 'href="/reports"' in panel  # a cut table says so
    assert (
        re.search(r'<progress max="1000" value="250"', panel)
        and "۲٬۰۰۰٬۰۰۰ ریال / ۸٬۰۰۰٬۰۰۰ ریال" in panel
    )
    assert '<time datetime="2024-10-06T11:00:00+00:00">۱۴۰۳/۰۷/۱۵ ۱۴:۳۰</time>' in panel
    assert "<svg" in panel and panel.count("<rect") == 2 and ">مهر<" in panel and ">۵<" in panel
    form = re.search(r'<form method="post" action="/p/club/redeem"[^>]*>(.*?)</form>', panel, re.S)
    assert (
        form and 'name="csrf_token" value="' in form.group(1) and 'name="points"' in form.group(1)
    )
    assert "/p/club/erase" not in panel  # an admin-only action is not offered to an agent
    for english in (
        "Points",
        "Spent",
        "Gold",
        "Member since",
        "Purchases",
        "Invoice",
        "Redeem",
        "Visits",
    ):
        assert f">{english}<" not in panel
    assert not re.search(r"[0-9]", re.sub(r"<[^>]*>", "", panel)), "Latin digits on a Persian page"


def test_the_same_panel_in_english(crm_app_factory, make_client, users):
    app = crm_app_factory(extra_plugins=[("club", Club(), None)])
    client = make_client(app)
    cid = make_customer(app, "Maryam")
    login(client, "admin")
    _, panel = page(client, cid, "en")
    assert "<h2>Club</h2>" in panel and "12,500" in panel and "12,500,000 IRR" in panel
    assert (
        "2024-10-06 14:30" in panel
        and "75.50 USD" in panel
        and "15%" in panel
        and "1 of 7" in panel
    )
    assert 'action="/p/club/erase"' in panel  # the admin may


def test_toman_is_the_business_setting(crm_app_factory, make_client, users):
    from crmcore.api import set_setting

    app = crm_app_factory(extra_plugins=[("club", Club(), None)])
    with app.unit_of_work() as uow:
        set_setting(uow, "kernel", "money_unit", "toman")
    client = make_client(app)
    cid = make_customer(app, "مریم")
    login(client, "agent")
    _, panel = page(client, cid)
    assert "۱٬۲۵۰٬۰۰۰ تومان" in panel and "ریال" not in panel.split("ui-progress")[0]


class Unknown:
    @hookimpl
    def crm_customer_profile(self, uow, customer):
        return ui.Panel(key="club", title=L("Club", "باشگاه"), items=[ui.Stat("ok", 1), object()])


class Unformattable:
    @hookimpl
    def crm_customer_profile(self, uow, customer):
        return ui.Panel(
            key="club", title=L("Club", "باشگاه"), items=[ui.Stat("Spent", "12", kind="money")]
        )


class NotAPanel:
    @hookimpl
    def crm_customer_profile(self, uow, customer):
        return {"points": 12}


@pytest.mark.parametrize("plugin", [Unknown, Unformattable, NotAPanel])
def test_a_bad_panel_costs_only_itself_and_names_its_plugin(
    plugin, crm_app_factory, make_client, users, caplog
):
    app = crm_app_factory(extra_plugins=[("club", plugin(), None)])
    client = make_client(app)
    cid = make_customer(app, "مریم", city="یزد")
    login(client, "viewer")
    with caplog.at_level(logging.ERROR, logger="crmcore.web"):
        whole, panel = page(client, cid)
    assert "یزد" in whole  # the rest of the page is there
    assert "بخش افزونهٔ «club» نمایش داده نشد" in panel
    assert any("'club'" in r.getMessage() and r.exc_info for r in caplog.records)
    client.cookies.set("crm_lang", "en")
    assert "The panel of plugin club could not be shown." in client.get(f"/customers/{cid}").text


class Legacy:
    @hookimpl
    def crm_customer_profile(self, uow, customer):
        return ProfileSection(
            key="old", title="Old", title_fa="قدیمی", data={"open": 2, "since": "2025-03-20"}
        )


def test_dict_sections_still_render_with_a_deprecation_warning(crm_app_factory, make_client, users):
    app = crm_app_factory(extra_plugins=[("old", Legacy(), None)])
    client = make_client(app)
    cid = make_customer(app, "مریم")
    login(client, "viewer")
    with pytest.warns(DeprecationWarning, match="plugin 'old' returned a ProfileSection"):
        text = client.get(f"/customers/{cid}").text
    panel = text[text.index('id="panel-old"') :]
    assert "<h2>قدیمی</h2>" in panel and "<dd>۲</dd>" in panel and "۱۴۰۳/۱۲/۳۰" in panel
