"""A won deal is a sale (issue 33): the purchase it records is seen by the kernel's sales report
and by loyalty, once per deal, unless its pipeline turns it off; deal sources count in
pipeline.sources."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

PROGRAM = """
[program]
name = "باشگاه"
currency = "IRR"
expiry = "never"

[[rules]]
name = "base"
kind = "per_amount"
points = 1
per = "10000"
"""


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


@pytest.fixture
def crm_plugins():
    return ["pipeline", "loyalty"]


@pytest.fixture
def sale(crm_app, crm_cli):
    crm_app.clock.set(datetime(2025, 4, 20, 9, tzinfo=timezone.utc))
    ok(crm_cli("pipeline", "reps", "add", "sara", "سارا احمدی"))
    ok(crm_cli("customers", "add", "--name", "مریم کریمی", "--phone", "09121234567"))
    return ok(
        crm_cli(
            "pipeline",
            "deals",
            "add",
            "--customer",
            "09121234567",
            "--title",
            "قرارداد چای",
            "--amount",
            "۲۵٬۰۰۰٬۰۰۰",
            "--source",
            "phone",
            "--json",
        )
    ).json()


def _sales(crm_cli) -> dict:
    return ok(
        crm_cli(
            "reports",
            "run",
            "sales.by_period",
            "--from",
            "2025-04-01",
            "--to",
            "2025-04-30",
            "--json",
        )
    ).json()


def test_a_won_deal_is_a_purchase_in_sales_and_earns_points(crm_app, crm_cli, tmp_path, sale):
    program = tmp_path / "program.toml"
    program.write_text(PROGRAM, encoding="utf-8")
    ok(crm_cli("loyalty", "program", "load", str(program)))
    before = _sales(crm_cli)
    ok(crm_cli("pipeline", "deals", "win", str(sale["id"]), "--amount", "30,000,000"))
    shown = ok(crm_cli("pipeline", "deals", "show", str(sale["id"]), "--json")).json()
    assert shown["purchase_id"] is not None
    listed = ok(crm_cli("interactions", "list", "09121234567", "--json")).json()
    purchases = [i for i in listed if i["kind"] == "purchase"]
    assert [(p["amount"], p["currency"], p["external_id"]) for p in purchases] == [
        ("30000000", "IRR", f"pipeline-deal-{sale['id']}")
    ]
    after = _sales(crm_cli)
    assert after["totals"] != before["totals"]
    assert after["rows"] and "30000000" in str(after["rows"])
    balance = ok(crm_cli("loyalty", "balance", "09121234567", "--json")).json()
    assert balance["balance"] == 3000  # one point per 10,000 rials
    # reopened and won again: still one purchase, no more points
    ok(crm_cli("pipeline", "deals", "reopen", str(sale["id"])))
    ok(crm_cli("pipeline", "deals", "win", str(sale["id"])))
    listed = ok(crm_cli("interactions", "list", "09121234567", "--json")).json()
    assert len([i for i in listed if i["kind"] == "purchase"]) == 1
    assert ok(crm_cli("loyalty", "balance", "09121234567", "--json")).json()["balance"] == 3000


def test_a_pipeline_can_leave_wins_out_of_sales(crm_app, crm_cli, sale):
    ok(crm_cli("pipeline", "stages", "record-purchase", "default", "off"))
    listed = ok(crm_cli("pipeline", "stages", "list", "--json")).json()
    assert [p["record_purchase"] for p in listed] == [False]
    ok(crm_cli("pipeline", "deals", "win", str(sale["id"])))
    shown = ok(crm_cli("pipeline", "deals", "show", str(sale["id"]), "--json")).json()
    assert shown["status"] == "won" and shown["purchase_id"] is None
    listed = ok(crm_cli("interactions", "list", "09121234567", "--json")).json()
    assert [i for i in listed if i["kind"] == "purchase"] == []
    bad = crm_cli("pipeline", "stages", "record-purchase", "nope", "on")
    assert bad.exit_code == 1 and "nope" in bad.stderr


def test_deal_sources_count_in_the_sources_report(crm_app, crm_cli, sale):
    ok(crm_cli("pipeline", "deals", "win", str(sale["id"])))
    report = ok(crm_cli("reports", "run", "pipeline.sources", "--json")).json()
    cols = report["columns"]
    phone = dict(zip(cols, next(r for r in report["rows"] if r[0] == "phone"), strict=True))
    assert (phone["leads"], phone["direct_deals"], phone["won_deals"], phone["won_amount"]) == (
        0,
        1,
        1,
        "25000000",
    )
    assert report["totals"]["direct_deals"] == 1
