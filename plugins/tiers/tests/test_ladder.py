"""The [[tiers]] section: a valid ladder, and bad ladders refused with the tier and key named, nothing stored."""

from decimal import Decimal

import pytest
from crmcore_tiers.ladder import validate_section
from tiers_helpers import LADDER, PROGRAM, RED, load_program

from crmcore.api import ValidationError

SILVER = {
    "name": "silver",
    "rank": 1,
    "metric": "points",
    "threshold": 300,
    "window": "rolling 365 days",
}
GOLD = {
    "name": "gold",
    "rank": 2,
    "metric": "points",
    "threshold": 1000,
    "window": "rolling 365 days",
}


def ladder(*tiers):
    return validate_section([{"name": "red", "rank": 0}, *tiers])


def refused(*tiers) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        ladder(*tiers)
    return info.value


def test_a_valid_ladder():
    lad = ladder(
        {**GOLD, "multiplier": "2", "perks": ["lounge"], "or_spend": "50000000"},
        {**SILVER, "multiplier": "1.5", "grace_days": 30, "title_fa": "نقره‌ای"},
    )
    assert [t.name for t in lad.tiers] == [
        "red",
        "silver",
        "gold",
    ]  # ordered by rank, not file order
    assert lad.base.name == "red" and lad.top.name == "gold"
    assert lad.get("silver").multiplier == Decimal("1.5") and lad.get("silver").grace_days == 30
    assert [(c.metric, c.threshold) for c in lad.get("gold").criteria] == [
        ("points", 1000),
        ("spend", Decimal("50000000")),
    ]
    assert lad.get("gold").window.describe() == "rolling 365 days"


@pytest.mark.parametrize(
    "window, kind",
    [
        ("calendar year", "calendar_year"),
        ("jalali year", "jalali_year"),
        ("jalali_year", "jalali_year"),
        ("rolling 90 days", "rolling"),
    ],
)
def test_window_kinds(window, kind):
    assert ladder({**SILVER, "window": window}).get("silver").window.kind == kind


@pytest.mark.parametrize("gold_threshold, word", [(300, "equals"), (200, "is below")])
def test_overlapping_or_decreasing_thresholds(gold_threshold, word):
    err = refused(SILVER, {**GOLD, "threshold": gold_threshold})
    assert err.field == "gold.threshold"
    assert word in err.message and "'silver'" in err.message and "rise with rank" in err.message


def test_alternatives_must_rise_too():
    err = refused({**SILVER, "or_purchases": 10}, {**GOLD, "or_purchases": 8})
    assert err.field == "gold.or_purchases"


def test_different_windows_are_not_compared():
    lad = ladder(SILVER, {**GOLD, "threshold": 200, "window": "rolling 30 days"})
    assert lad.get("gold").criteria[0].threshold == 200


@pytest.mark.parametrize(
    "tier, field, words",
    [
        (
            {"rank": 1, "metric": "points", "threshold": 3, "window": "rolling 3 days"},
            "#2.name",
            "needs a name",
        ),
        ({**SILVER, "name": "  "}, "#2.name", "needs a name"),
        ({**SILVER, "name": "نقره"}, "#2.name", "title_fa"),
        ({**SILVER, "rank": 0}, "silver.rank", "same rank"),
        ({**SILVER, "rank": "1"}, "silver.rank", "whole-number rank"),
        ({**SILVER, "metric": "visits"}, "silver.metric", "not a metric"),
        ({k: v for k, v in SILVER.items() if k != "window"}, "silver.window", "is required"),
        ({**SILVER, "window": "monthly"}, "silver.window", "not a window"),
        ({**SILVER, "threshold": 0}, "silver.threshold", "positive"),
        ({**SILVER, "threshold": 2.5}, "silver.threshold", "whole number"),
        ({**SILVER, "or_spend": "-5"}, "silver.or_spend", "positive amount"),
        ({**SILVER, "or_points": 5}, "silver.or_points", "repeats"),
        ({**SILVER, "multiplier": 1.5}, "silver.multiplier", "as text"),
        ({**SILVER, "discount_percent": 120}, "silver.discount_percent", "at most 100"),
        ({**SILVER, "rollover": True}, "silver.rollover", "year"),
        ({**SILVER, "colour": "grey"}, "silver.colour", "unknown key"),
    ],
)
def test_bad_tiers(tier, field, words):
    err = refused(tier)
    assert err.field == field and words in err.message


def test_the_base_tier_has_no_threshold():
    with pytest.raises(ValidationError) as info:
        validate_section([{"name": "red", "rank": 0, "threshold": 10}, SILVER])
    assert info.value.field == "red.threshold" and "every member starts" in info.value.message


def test_a_ladder_needs_a_tier_above_the_base():
    with pytest.raises(ValidationError, match="at least one tier above"):
        validate_section([{"name": "red", "rank": 0}])


def test_loading_a_bad_ladder_is_refused_and_nothing_is_stored(crm_app, crm_cli, tmp_path):
    assert (
        load_program(
            crm_cli, tmp_path, PROGRAM + LADDER.format(silver_extra="", gold_extra="")
        ).exit_code
        == 0
    )
    bad = PROGRAM + LADDER.format(silver_extra="", gold_extra="").replace(
        "threshold = 1000", "threshold = 250"
    )
    result = load_program(crm_cli, tmp_path, bad)
    assert result.exit_code == 1
    assert "tiers.gold.threshold" in result.stderr and "rise with rank" in result.stderr
    versions = crm_cli("loyalty", "program", "versions", "--json").json()
    assert len(versions) == 1


def test_a_tier_without_a_name_is_refused_by_load(crm_app, crm_cli, tmp_path):
    result = load_program(
        crm_cli,
        tmp_path,
        PROGRAM + RED + '[[tiers]]\nrank = 1\nmetric = "points"\n'
        'threshold = 5\nwindow = "rolling 30 days"\n',
    )
    assert (
        result.exit_code == 1
        and "tiers.#2.name" in result.stderr
        and "needs a name" in result.stderr
    )


@pytest.mark.crm_plugins("loyalty")
def test_a_ladder_without_the_tiers_plugin_is_an_unknown_section(crm_app, crm_cli, tmp_path):
    result = load_program(
        crm_cli, tmp_path, PROGRAM + LADDER.format(silver_extra="", gold_extra="")
    )
    assert result.exit_code == 1 and "unknown section [tiers]" in result.stderr


@pytest.mark.crm_plugins()
def test_enabling_tiers_without_loyalty_is_refused(crm_app, crm_cli):
    result = crm_cli("plugins", "enable", "tiers")
    assert result.exit_code == 1
    assert "loyalty" in result.stderr
    listed = {p["name"]: p for p in crm_cli("plugins", "list", "--json").json()}
    assert not listed["tiers"]["enabled"]
