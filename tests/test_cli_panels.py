"""`crm customers show` in text: plugin panels rendered from components with rich, readable at 80
columns when
stdout is not a terminal, dates in the chosen calendar and zone (recent interactions too), one line
naming a
plugin whose panel failed; `--json` keeps each plugin's machine form."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from crmcore.api import Money, hookimpl, ui
from crmcore.testing import make_customer, record_purchase

AT = datetime(2024, 10, 6, 11, 0, tzinfo=timezone.utc)
L = ui.Label


class Club:
    @hookimpl
    def crm_customer_profile(self, uow, customer):
        return ui.Panel(
            key="club",
            title=L("Club", "باشگاه"),
            data={"points": 1250},
            items=[
                ui.Stat(L("Points", "امتیاز"), 1250, kind="number"),
                ui.Table(
                    columns=[
                        ui.Column("at", L("When", "زمان"), "moment"),
                        ui.Column("what", L("What", "چه")),
                        ui.Column("amount", L("Amount", "مبلغ"), "money"),
                        ui.Column("state", L("State", "وضعیت"), "badge"),
                        ui.Column("by", L("Recorded by", "ثبت‌کننده")),
                        ui.Column("note", L("Note", "یادداشت")),
                    ],
                    rows=[
                        {
                            "at": AT,
                            "what": "a rather long description of what was bought",
                            "amount": Money(125_000_000, "IRR"),
                            "state": ui.Badge(L("Paid", "پرداخت‌شده")),
                            "by": "cashier-one",
                            "note": "delivered to the customer's office",
                        }
                    ],
                    title=L("Purchases", "خریدها"),
                    total=3,
                ),
                ui.Progress(L("To Gold", "تا طلایی"), 1250, 2000),
            ],
        )


class Broken:
    @hookimpl
    def crm_customer_profile(self, uow, customer):
        return ui.Panel(key="broken", title="Broken", items=[ui.Stat("Spent", "12", kind="money")])


@pytest.fixture
def app(crm_app_factory, monkeypatch):
    """An app in the Jalali calendar with the two plugins above, used by ``crm …`` in this test."""
    from crmcore.cli.context import CLIState

    app = crm_app_factory(
        calendar="jalali", extra_plugins=[("club", Club(), None), ("broken", Broken(), None)]
    )
    monkeypatch.setattr(CLIState, "app", property(lambda self: app))
    return app


def test_panels_as_text_at_80_columns_piped(app, crm_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.delenv("CRM_LANG", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    cid = make_customer(app, "مریم", birthday="1370-05-12")
    record_purchase(app, cid, "1250000", at="1403-07-15 10:00")  # Tehran time
    out = crm_cli("customers", "show", str(cid)).stdout
    assert all(len(line) <= 80 for line in out.splitlines())
    assert "Points 1,250" in out and "1,250 / 2,000" in out
    # six columns do not fit in 80: each row becomes a block of label/value lines, nothing cut to
    # "…"
    assert "a rather long description of what was bought" in out and "…" not in out
    assert (
        "1403-07-15 14:30" in out
        and "125,000,000 IRR" in out
        and "[Paid]" in out
        and "1 of 3" in out
    )
    assert "1370-05-12" in out  # the birthday in the chosen calendar
    assert (
        "1403-07-15 10:00" in out and "1,250,000 IRR" in out
    )  # recent interactions: local, Jalali
    assert "The panel of plugin broken could not be shown." in out
    assert "{" not in out and "T10:" not in out and "+00:00" not in out


def test_panels_in_persian(app, crm_cli, monkeypatch):
    monkeypatch.setenv("CRM_LANG", "fa")
    cid = make_customer(app, "مریم")
    out = crm_cli("customers", "show", str(cid)).stdout
    assert "امتیاز ۱٬۲۵۰" in out and "۱۴۰۳/۰۷/۱۵ ۱۴:۳۰" in out and "۱۲۵٬۰۰۰٬۰۰۰ ریال" in out
    assert "بخش افزونهٔ «broken» نمایش داده نشد." in out


def test_json_keeps_the_machine_form(app, crm_cli):
    cid = make_customer(app, "مریم")
    shown = crm_cli("customers", "show", str(cid), "--json").json()
    assert shown["sections"]["club"] == {"points": 1250}


def test_the_360_header_facts_head_the_text_form(app, crm_cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("CRM_LANG", "fa")
    cid = make_customer(app, "مریم", tags=["vip"])
    record_purchase(app, cid, "1250000", at="1403-07-15 10:00")
    record_purchase(app, cid, "250000", kind="refund", at="1403-07-16 10:00")
    out = crm_cli("customers", "show", str(cid)).stdout
    head = out.split("تلفن‌ها")[0] if "تلفن‌ها" in out else out[:600]
    assert "ارزش طول عمر ۱٬۰۰۰٬۰۰۰ ریال" in head  # purchases minus refunds
    assert "آخرین خرید ۱۴۰۳/۰۷/۱۵" in head and "[بدون پیامک]" in head and "[vip]" in head
    assert all(len(line) <= 80 for line in out.splitlines())
