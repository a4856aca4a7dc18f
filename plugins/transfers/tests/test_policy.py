"""The [transfers] section: validated when the program file is loaded, errors naming the key."""

from decimal import Decimal

import pytest
from crmcore_transfers.policy import Limit, validate_section
from transfers_helpers import PROGRAM

from crmcore.api import ValidationError


def test_defaults_are_an_instant_transfer_to_anyone_without_fee_or_limits():
    policy = validate_section({})
    assert (
        policy.recipients,
        policy.min_points,
        policy.max_points,
        policy.fee_for(1000),
        policy.acceptance,
        policy.expiry_days,
        policy.limits,
    ) == (("any",), 1, None, 0, "instant", None, ())


def test_a_full_section():
    policy = validate_section(
        {
            "recipients": ["approved", "family", "family"],
            "fee": "1.5%",
            "min_points": 10,
            "max_points": 100,
            "expiry_days": 30,
            "acceptance": "required",
            "limits": [
                {"period": "jalali_month", "max_count": 2},
                {"period": "week", "direction": "received", "max_points": 50},
            ],
        }
    )
    assert policy.recipients == ("approved", "family")
    assert policy.fee_percent == Decimal("1.5") and policy.fee_for(100) == 2
    assert policy.limits == (
        Limit("jalali_month", "sent", 2, None),
        Limit("week", "received", None, 50),
    )


@pytest.mark.parametrize(
    "raw, field, message",
    [
        ({"recipients": "friends"}, "recipients", "'friends' is not one of any, family, approved"),
        ({"recipients": []}, "recipients", "or a list of them"),
        ({"min_points": 0}, "min_points", "must be at least 1"),
        ({"min_points": 100, "max_points": 50}, "max_points", "below min_points"),
        ({"fee": 1.5}, "fee", "whole points (10) or a percent in quotes"),
        ({"fee": "120%"}, "fee", "below 100"),
        ({"fee": "abc"}, "fee", "is not a fee"),
        ({"fee": -3}, "fee", "cannot be negative"),
        ({"acceptance": "maybe"}, "acceptance", "not one of instant, required"),
        ({"expiry_days": 0}, "expiry_days", "at least 1"),
        ({"calendar": "hijri"}, "calendar", "not one of jalali, gregorian"),
        ({"limits": {"period": "week"}}, "limits", "[[transfers.limits]]"),
        ({"limits": [{"max_count": 1}]}, "limits[0].period", "is required"),
        (
            {"limits": [{"period": "day", "max_count": 1}]},
            "limits[0].period",
            "not one of week, month",
        ),
        ({"limits": [{"period": "week"}]}, "limits[0]", "needs max_count, max_points or both"),
        (
            {"limits": [{"period": "week", "max_count": 1, "cap": 2}]},
            "limits[0].cap",
            "unknown key",
        ),
        (
            {"limits": [{"period": "week", "max_count": 1}, {"period": "week", "max_points": 9}]},
            "limits[1]",
            "two limits",
        ),
        ({"colour": "blue"}, "colour", "unknown key 'colour'"),
    ],
)
def test_bad_sections_name_the_key(raw, field, message):
    with pytest.raises(ValidationError) as err:
        validate_section(raw)
    assert err.value.field == field and message in err.value.message


def test_loading_a_program_with_a_bad_section_is_refused_by_loyalty_with_the_full_key(
    crm_cli, tmp_path
):
    path = tmp_path / "bad.toml"
    path.write_text(
        PROGRAM.format(
            calendar="jalali",
            expiry="never",
            transfers='[[transfers.limits]]\nperiod = "fortnight"\nmax_count = 1',
        ),
        "utf-8",
    )
    result = crm_cli("loyalty", "program", "load", str(path))
    assert result.exit_code == 1
    assert "field transfers.limits[0].period: 'fortnight' is not one of" in result.stderr
    assert crm_cli("transfers", "policy").exit_code == 1  # nothing was loaded
