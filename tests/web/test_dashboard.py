"""The dashboard at ``/`` on the demo business: every figure equals the report behind it as the CLI
prints it (``crm reports run … --json``) and links to that report's page; widgets follow the
user's role; a plugin whose widget fails costs its widget, named, never the page."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from click.testing import CliRunner

from crmcore.api import Money, hookimpl
from crmcore.app import CRM
from crmcore.cli.main import cli
from crmcore.formatting import formatter_for

from .conftest import login


def at_path(node, path: str):
    for part in path.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return None
    return node


def cli_report(url: str, figure: dict) -> dict:
    args = [
        "--db",
        url,
        "reports",
        "run",
        figure["report"],
        "--json",
        "--period",
        figure["period"],
        "--calendar",
        figure["calendar"],
    ]
    if figure["from"]:
        args += ["--from", figure["from"]]
    if figure["to"]:
        args += ["--to", figure["to"]]
    for key, value in figure["options"].items():
        args += ["--option", f"{key}={value}"]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def demo(demo_database, make_client):
    app = CRM(f"sqlite:///{demo_database}")
    yield app, make_client
    app.dispose()


@pytest.mark.parametrize("user", ["manager", "sara"])
def test_every_dashboard_figure_equals_the_cli_report_and_links_to_it(demo, user):
    app, make_client = demo
    client = make_client(app)
    login(client, user)
    shown = client.get("/").text
    figures = client.get("/api/dashboard").json()["figures"]
    reports = {f["report"] for f in figures}
    assert {"tasks.due", "tasks.overdue", "tickets.backlog", "customers.summary"} <= reports
    links = {
        html.unescape(h) for h in re.findall(r'<a class="ui-stat-value" href="([^"]+)"', shown)
    }
    shown_values = {
        (html.unescape(h), v.strip())
        for h, v in re.findall(r'<a class="ui-stat-value" href="([^"]+)"\s*>([^<]*)</a>', shown)
    }
    with app.unit_of_work(readonly=True) as uow:
        fmt = formatter_for(uow, "fa")
    for figure in figures:
        expected = at_path(
            cli_report(app.url, figure)["totals"], figure["path"].removeprefix("totals.")
        )
        if (
            expected is None
        ):  # no row for it (no sales in IRR this month): the dashboard shows its default
            assert figure["value"] in (0, None), figure
        else:
            assert figure["value"] == expected, figure
        href = next(h for h in links if h.startswith(f"/reports/{figure['report']}?"))
        assert client.get(href).status_code == 200
        value = figure["value"]
        if figure["kind"] == "money":
            value = (
                Money(int(value), figure["currency"])
                if figure["minor"]
                else Money.of(str(value), figure["currency"])
            )
        text = fmt.format(Decimal(value) if isinstance(value, str) else value, figure["kind"])
        assert any(
            v == text for h, v in shown_values if h.startswith(f"/reports/{figure['report']}?")
        ), (figure, text)
    page_params = [dict(parse_qsl(urlsplit(h).query)) for h in links]
    assert all(p["calendar"] == "jalali" for p in page_params)
    assert any(
        re.fullmatch(r"1[34]\d\d/\d\d/\d\d|1[34]\d\d-\d\d-\d\d", p.get("from", ""))
        for p in page_params
    )


def test_widgets_follow_the_role(demo):
    app, make_client = demo
    manager, agent = make_client(app), make_client(app)
    login(manager, "manager")
    login(agent, "sara")
    for_manager = manager.get("/api/dashboard").json()
    for_agent = agent.get("/api/dashboard").json()
    assert {"sales", "retention", "pipeline", "tasks"} <= {w["key"] for w in for_manager["widgets"]}
    assert "sales" not in {w["key"] for w in for_agent["widgets"]}
    agent_tasks = [f for f in for_agent["figures"] if f["report"].startswith("tasks.")]
    assert agent_tasks and all(f["options"].get("user") == "sara" for f in agent_tasks)
    assert all(
        "user" not in f["options"]
        for f in for_manager["figures"]
        if f["report"].startswith("tasks.")
    )
    page = agent.get("/").text
    assert 'id="widget-tasks"' in page and 'id="widget-sales"' not in page


class Broken:
    @hookimpl
    def crm_web_dashboard_widgets(self, uow, user, dashboard):
        raise RuntimeError("the widget's database is on fire")


def test_a_failing_widget_costs_only_itself_and_names_its_plugin(
    crm_app_factory, make_client, users, caplog
):
    app = crm_app_factory(extra_plugins=[("broken", Broken(), None)])
    client = make_client(app)
    login(client, "manager")
    page = client.get("/")
    assert page.status_code == 200
    assert "بخش افزونهٔ «broken» نمایش داده نشد" in page.text
    assert 'id="widget-customers"' in page.text
    assert any("broken" in r.getMessage() and r.exc_info for r in caplog.records)


def test_sales_show_every_currency_sold_not_rials_only(client, users, crm_app):
    from crmcore.testing import make_customer, record_purchase

    cid = make_customer(crm_app, "Sam Lee")
    record_purchase(crm_app, cid, "1,500,000")
    record_purchase(crm_app, cid, "75.50", currency="USD")
    login(client, "manager")
    figures = client.get("/api/dashboard").json()["figures"]
    sales = {
        f["path"]: f["value"]
        for f in figures
        if f["report"] == "sales.by_period"
        and f["from"]
        and f["from"] == max(g["from"] for g in figures if g["report"] == "sales.by_period")
    }
    assert sales["totals.by_currency.USD.net"] == "75.50"
    assert sales["totals.by_currency.IRR.net"] == "1500000"
    assert sales["totals.by_currency.USD.purchases"] == 1
    page = client.get("/").text
    assert "۷۵٫۵۰ دلار" in page and "۱٬۵۰۰٬۰۰۰ ریال" in page
    assert "فروش این ماه (دلار)" in page
