"""Pure parts of the web layer: levels and per-plugin grants, charts, safe redirects, dates and digits."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.api import Formatter, Money
from crmcore.web.auth import Principal
from crmcore.web.charts import bar_chart, numeric_columns
from crmcore.web.contrib import LEVELS, WebRoute
from crmcore.web.view import safe_next


def principal(role="agent", permissions=None, token_level=None):
    return Principal(
        1,
        "u",
        None,
        role,
        permissions or {},
        "token" if token_level else "session",
        token_level=token_level,
    )


def test_roles_grant_levels_and_plugin_grants_replace_them():
    agent = principal("agent", {"loyalty": "read", "tickets": "manage", "voip": "none"})
    assert agent.can("write") and not agent.can("manage")
    assert agent.can("read", "loyalty") and not agent.can("write", "loyalty")
    assert agent.can("manage", "tickets")
    assert not agent.can("read", "voip")
    viewer = principal("read-only")
    assert viewer.can("read") and not viewer.can("write")
    assert principal("admin").can("admin") and not principal("manager").can("admin")


@given(
    role=st.sampled_from(["admin", "manager", "agent", "read-only"]),
    grant=st.sampled_from(LEVELS[:-1]),
    token=st.sampled_from(LEVELS[1:]),
)
def test_a_token_never_does_more_than_its_level(role, grant, token):
    p = principal(role, {"club": grant}, token_level=token)
    for plugin in (None, "club", "other"):
        assert LEVELS.index(p.level_for(plugin)) <= LEVELS.index(token)


def test_charts_use_the_first_numeric_column_exactly():
    columns = ["period", "currency", "purchases", "net"]
    rows = [["1403-07", "IRR", 2, "1250000.50"], ["1403-08", "IRR", 1, "-500000"]]
    assert numeric_columns(columns, rows) == ["purchases", "net"]
    chart = bar_chart(columns, rows, "net")
    assert [(b.label, b.value, b.negative) for b in chart.bars] == [
        ("1403-07", Decimal("1250000.50"), False),
        ("1403-08", Decimal("-500000"), True),
    ]
    assert chart.bars[0].width == 100.0 and 39.9 < chart.bars[1].width < 40.0
    assert bar_chart(["kind"], [["a"]]) is None


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/customers/4?q=x", "/customers/4?q=x"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_only_local_paths_are_followed_after_login(target, expected):
    assert safe_next(target) == expected


def test_page_filters_show_dates_and_money_through_the_formatter():
    from crmcore.web.render import make_environment

    env = make_environment()

    def show(source, lang, **values):
        return env.from_string(source).render(lang=lang, tz="Asia/Tehran", **values)

    moment = datetime(2024, 10, 6, 21, 0, tzinfo=timezone.utc)  # after midnight in Tehran
    assert show("{{ m | jdate }}", "fa", m=moment) == "۱۴۰۳/۰۷/۱۶"
    assert show("{{ m | jdate }}", "en", m=moment) == "2024-10-07"
    assert show("{{ m | jdatetime }}", "en", m=moment) == "2024-10-07 00:30"
    assert show("{{ m | jdate }}", "en", m=date(2024, 10, 6)) == "2024-10-06"
    assert show("{{ m | jdate }}", "fa", m="not a date") == "not a date"
    assert show("{{ a | money('IRR') }}", "en", a="1250000") == "1,250,000 IRR"
    assert show("{{ a | money }}", "fa", a=Money(7550, "USD")) == "۷۵٫۵۰ دلار"
    assert show("{{ n | num }}", "fa", n=1029000000) == "۱٬۰۲۹٬۰۰۰٬۰۰۰"
    assert show("{{ v | value }}", "fa", v="5000000") == "۵٬۰۰۰٬۰۰۰"
    assert show("{{ v | value }}", "fa", v=None) == "—"
    toman = Formatter.for_language("fa", money_unit="toman")
    assert show("{{ a | money }}", "fa", a=Money(12_500_000, "IRR"), fmt=toman) == "۱٬۲۵۰٬۰۰۰ تومان"


def test_plugin_routes_are_checked_when_declared():
    with pytest.raises(ValueError, match="must start with '/'"):
        WebRoute("deals", lambda ctx: None)
    with pytest.raises(ValueError, match="access must be one of"):
        WebRoute("/deals", lambda ctx: None, access="everyone")
