"""The UI contract's value types: validation at construction, labels in both languages, progress,
and the
machine form derived from components."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from crmcore.api import Money, ui


def test_labels_in_both_languages():
    label = ui.Label("Balance", "مانده")
    assert label.text("fa") == "مانده" and label.text("en") == "Balance"
    assert ui.Label("Balance").text("fa") == "Balance"
    assert ui.text_of("علی", "en") == "علی" and ui.text_of(None, "fa") == ""


@pytest.mark.parametrize(
    "build",
    [
        lambda: ui.Stat("x", 1, kind="colour"),
        lambda: ui.Column("a", "A", kind="sparkline"),
        lambda: ui.Badge("x", tone="pink"),
        lambda: ui.Link("x", "javascript:alert(1)"),
        lambda: ui.Link("x", "https://evil.example/"),
        lambda: ui.Link("x", "//evil.example/"),
        lambda: ui.Action("Win", "deals/3/win"),
        lambda: ui.Stat(12, 1),
        lambda: ui.ActionField("n", "N", kind="file"),
    ],
)
def test_bad_components_are_refused_when_built(build):
    with pytest.raises(ValueError):
        build()


def test_progress_fraction():
    assert ui.Progress("p", 50, 200).fraction == 0.25
    assert ui.Progress("p", 500, 200).fraction == 1.0
    assert ui.Progress("p", -5, 200).fraction == 0.0
    assert ui.Progress("p", 1, 0).fraction == 1.0
    assert ui.Progress("p", Money(250, "IRR"), Money(1000, "IRR"), kind="money").fraction == 0.25
    with pytest.raises(ValueError):
        ui.Progress("p", Money(250, "IRR"), Money(1000, "USD"), kind="money").fraction


def test_action_target_is_under_the_plugins_pages():
    assert ui.Action("Win", "/deals/3/win").target("pipeline") == "/p/pipeline/deals/3/win"


def test_panel_json_is_its_data_or_derived_from_components():
    at = datetime(2024, 10, 6, 11, 0, tzinfo=timezone.utc)
    items = [
        ui.Stat(ui.Label("Points", "امتیاز"), 1250),
        ui.FieldList(
            [
                ui.Field(ui.Label("Spent", "خرید"), Money(7550, "USD")),
                ui.Field("Since", date(2024, 1, 2)),
            ]
        ),
        ui.Table(
            [ui.Column("at", "When", "moment"), ui.Column("n", "N", "number")],
            [{"at": at, "n": Decimal("2.5")}],
            title=ui.Label("Last", "آخرین"),
        ),
        ui.Action("Redeem", "/redeem"),
    ]
    derived = ui.Panel("club", ui.Label("Club", "باشگاه"), items).json()
    assert derived == {
        "Points": 1250,
        "Spent": {"amount": "75.50", "currency": "USD"},
        "Since": "2024-01-02",
        "Last": [{"at": "2024-10-06T11:00:00+00:00", "n": "2.5"}],
    }
    assert ui.Panel("club", "Club", items, data={"balance": 1250}).json() == {"balance": 1250}
