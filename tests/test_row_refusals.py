"""Values no row may carry, refused where they enter (the kernel's parsers and prepare_* functions),
so the CLI, the API and the imports refuse them alike: amounts beyond the BIGINT columns, control
characters in text, birthdays in the future or before 1900, interactions dated beyond the clock's
margin. What is shown on a terminal has its control characters escaped."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from crmcore.app import CRM
from crmcore.domain.dates import (
    check_birthday,
    check_moment,
    local_today,
    parse_date,
    parse_datetime,
)
from crmcore.domain.money import MAX_MINOR, parse_money
from crmcore.domain.text import check_text, escape_controls, printable
from crmcore.errors import ValidationError
from crmcore.services.customers import prepare_customer
from crmcore.services.interactions import prepare_interaction
from crmcore.storage.models import Customer, Interaction
from crmcore.testing import make_customer

NOW = datetime(2025, 3, 21, 9, 0, tzinfo=timezone.utc)  # crm_app's frozen clock (1 Farvardin 1404)


def refusal(fn, *args, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        fn(*args, **kwargs)
    return caught.value


# --- amounts --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw, currency, unit, minor",
    [
        ("9223372036854775807", "IRR", None, MAX_MINOR),
        ("92,233,720,368,547,758.07", "USD", None, MAX_MINOR),
        ("922337203685477580", "IRR", "toman", 9223372036854775800),
        ("-9223372036854775807", "IRR", None, -MAX_MINOR),
        ("۱٬۲۵۰٬۰۰۰", "IRR", None, 1_250_000),
    ],
)
def test_amounts_up_to_what_a_bigint_holds_are_read(raw, currency, unit, minor):
    assert parse_money(raw, currency, unit=unit).minor == minor


@pytest.mark.parametrize(
    "raw, currency, unit",
    [
        ("99999999999999999999", "IRR", None),
        ("9223372036854775808", "IRR", None),
        ("92233720368547758.08", "USD", None),
        ("922337203685477581", "IRR", "toman"),
        ("922337203685477581", "TOMAN", None),
        ("-9223372036854775808", "IRR", None),
        ("9" * 5000, "IRR", None),
    ],
)
def test_amounts_beyond_what_a_bigint_holds_are_refused_naming_the_field(raw, currency, unit):
    error = refusal(parse_money, raw, currency, unit=unit, field="per_amount")
    assert error.field == "per_amount"
    assert "out of range: the largest amount that can be stored is" in error.message
    assert len(str(error)) < 200  # a 5,000-digit amount is not echoed whole


def test_an_amount_with_more_digits_than_decimal_keeps_is_refused_not_rounded():
    error = refusal(parse_money, "1.0000000000000000000000000001", "IRR")
    assert "more decimals than IRR allows" in error.message


# --- text -----------------------------------------------------------------------------------------
PERSIAN_FORMAT = [
    "علی\u200cرضا",
    "پیش\u200dنمایش",
    "\u200fمریم\u200e",
    "\u061c۱۲۳",
    "\u2067شرکت\u2069",
    "نرم\u00adافزار",
    "خیابان ولیعصر\nکوچه ۳\tپلاک ۲",
]


@pytest.mark.parametrize("text", PERSIAN_FORMAT)
def test_persian_format_characters_and_line_breaks_are_text(text):
    assert check_text(text, "name") == text
    assert escape_controls(text) == text


@pytest.mark.parametrize(
    "char",
    ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\x9b", "\ud800"],
)
def test_control_characters_are_refused_naming_field_and_position(char):
    error = refusal(check_text, f"Ali{char}Reza", "city")
    assert error.field == "city"
    assert f"U+{ord(char):04X} (at character 4)" in error.message


def test_what_reaches_a_terminal_has_its_control_characters_escaped():
    assert printable("a\x1b[31mb\nc\u200cd") == "a\\x1b[31mb\\nc\u200cd"
    assert escape_controls("Code\n\x00") == "Code\n\\x00"  # a line break in a column name stays
    error = ValidationError("'\x1b]0;owned\x07' is not a phone number", field="phone\x1b").at_row(3)
    assert "\x1b" not in str(error) and "\x07" not in str(error)
    assert str(error) == "row 3, field phone\\x1b: '\\x1b]0;owned\\x07' is not a phone number"


@pytest.mark.parametrize("field", ["name", "external_id", "city", "address", "owner"])
def test_prepare_customer_refuses_control_characters_in_each_text_field(field):
    fields = {"name": "مریم", field: "مر\x00یم"}
    assert refusal(prepare_customer, **fields).field == field


def test_prepare_customer_refuses_control_characters_in_tags():
    assert refusal(prepare_customer, name="مریم", tags=["vip\x1b"]).field == "tag"


def test_prepare_interaction_refuses_control_characters_in_its_text_and_payload():
    base = dict(kind="purchase", amount="1000", now=NOW, tz="Asia/Tehran")
    assert refusal(prepare_interaction, channel="store\x00", **base).field == "channel"
    assert refusal(prepare_interaction, external_id="F\x00-1", **base).field == "external_id"
    bad = refusal(prepare_interaction, payload={"branch": "ونک\x00"}, **base)
    assert bad.field == "payload.branch"
    bad = refusal(prepare_interaction, payload={"lines": [{"sku": "\x1b"}]}, **base)
    assert bad.field == "payload.lines[0].sku"
    assert refusal(prepare_interaction, payload={"a\x00": 1}, **base).field == "payload"
    ok = prepare_interaction(
        payload={"شعبه": "ونک\u200cشمالی", "n": 3, "lines": [{"sku": "A-1"}]}, **base
    )
    assert ok.payload["شعبه"] == "ونک\u200cشمالی"


# --- dates ----------------------------------------------------------------------------------------
TODAY = local_today(NOW)  # 2025-03-21 in Tehran


@pytest.mark.parametrize("raw", ["2099-01-01", "1478/01/01", "2025-03-22", "1404-01-02"])
def test_a_birthday_in_the_future_is_refused_in_either_calendar(raw):
    error = refusal(check_birthday, parse_date(raw), TODAY)
    assert error.field == "birthday" and "is in the future" in error.message
    assert "Jalali" in error.message


@pytest.mark.parametrize("raw", ["1899-12-31", "1278-10-10", "1200-01-01"])
def test_a_birthday_before_1900_is_refused_in_either_calendar(raw):
    error = refusal(check_birthday, parse_date(raw), TODAY)
    assert "is before 1900-01-01 (Jalali 1278-10-11)" in error.message


@pytest.mark.parametrize(
    "raw", ["2025-03-21", "1404-01-01", "1900-01-01", "1278-10-11", "1370/05/12"]
)
def test_a_birthday_from_1900_to_today_is_kept(raw):
    assert check_birthday(parse_date(raw), TODAY) == parse_date(raw)


def test_today_is_the_local_day():
    evening = datetime(2025, 3, 20, 21, 0, tzinfo=timezone.utc)  # 00:30 the next day in Tehran
    assert local_today(evening) == date(2025, 3, 21)
    assert local_today(evening, "UTC") == date(2025, 3, 20)


@pytest.mark.parametrize(
    "raw, ok",
    [
        ("2025-03-22 09:00Z", True),  # exactly one day ahead
        ("2025-03-22 09:01Z", False),
        ("1404-01-02 12:30", True),  # local time in Tehran: 09:00 UTC
        ("1404-01-02 12:31", False),
        ("9999-12-31", False),
        ("1900-01-01", True),  # local midnight, before 1900 in UTC
        ("1899-12-31 23:59", False),
        ("1278-10-10", False),
    ],
)
def test_an_interaction_may_be_dated_from_1900_to_a_day_ahead(raw, ok):
    at = parse_datetime(raw, tz="Asia/Tehran")
    if ok:
        assert check_moment(at, NOW, tz="Asia/Tehran") == at
    else:
        assert refusal(check_moment, at, NOW, tz="Asia/Tehran").field == "occurred_at"


def test_the_margin_is_the_applications(monkeypatch, tmp_path):
    at = NOW + timedelta(hours=30)
    base = dict(kind="visit", occurred_at=at, now=NOW, tz="Asia/Tehran")
    assert "more than 1 day in the future" in refusal(prepare_interaction, **base).message
    assert prepare_interaction(margin=timedelta(hours=36), **base).occurred_at == at
    two_hours = refusal(prepare_interaction, margin=timedelta(hours=2), **base)
    assert "more than 2 hours" in two_hours.message
    monkeypatch.setenv("CRM_FUTURE_MARGIN_HOURS", "36")
    assert CRM(f"sqlite:///{tmp_path / 'a.db'}").future_margin == timedelta(hours=36)
    none = CRM(f"sqlite:///{tmp_path / 'a.db'}", future_margin=timedelta(0))
    assert none.future_margin == timedelta(0)
    monkeypatch.setenv("CRM_FUTURE_MARGIN_HOURS", "soon")
    with pytest.raises(ValidationError, match="CRM_FUTURE_MARGIN_HOURS"):
        CRM(f"sqlite:///{tmp_path / 'a.db'}")


def test_a_moment_past_the_last_datetime_is_refused_not_an_overflow():
    error = refusal(parse_datetime, "9999-12-31 23:00-05:00", field="occurred_at")
    assert error.field == "occurred_at" and "past the last moment" in error.message


# --- the single-record commands, on both databases ------------------------------------------------
def interactions(app) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count(Interaction.id)))


def customers(app) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count(Customer.id)))


@pytest.mark.parametrize(
    "args, field",
    [
        (["--amount", "99999999999999999999"], "amount"),
        (["--amount", "1000", "--at", "9999-12-31"], "occurred_at"),
        (["--amount", "1000", "--at", "1404-01-03"], "occurred_at"),
        (["--amount", "1000", "--at", "1850-01-01"], "occurred_at"),
        (["--amount", "1000", "--channel", "store\x1b[2J"], "channel"),
        (["--amount", "1000", "--payload", '{"note": "\\u0000"}'], "payload.note"),
    ],
)
def test_interactions_record_refuses_in_one_line_and_stores_nothing(crm_app, crm_cli, args, field):
    cid = make_customer(crm_app, "مریم رضایی", phones=["09121234567"])
    result = crm_cli("interactions", "record", str(cid), "--kind", "purchase", *args)
    assert result.exit_code == 1, result
    assert result.stderr.count("\n") == 1 and f"field {field}:" in result.stderr
    assert "Traceback" not in result.stderr and "\x1b" not in result.stderr
    assert interactions(crm_app) == 0
    assert (
        crm_cli(
            "interactions",
            "record",
            str(cid),
            "--kind",
            "purchase",
            "--amount",
            "9223372036854775807",
            "--at",
            "1404-01-02",
        ).exit_code
        == 0
    )
    assert interactions(crm_app) == 1


@pytest.mark.parametrize(
    "args, field",
    [
        (["--name", "مریم\x00رضایی"], "name"),
        (["--name", "مریم", "--city", "تهران\x1b[31m"], "city"),
        (["--name", "مریم", "--birthday", "2099-01-01"], "birthday"),
        (["--name", "مریم", "--birthday", "1404/01/02"], "birthday"),
        (["--name", "مریم", "--birthday", "1250/01/01"], "birthday"),
        (["--name", "مریم", "--tag", "vip\x07"], "tag"),
    ],
)
def test_customers_add_refuses_in_one_line_and_stores_nothing(crm_app, crm_cli, args, field):
    result = crm_cli("customers", "add", *args)
    assert result.exit_code == 1, result
    assert result.stderr.count("\n") == 1 and f"field {field}:" in result.stderr
    assert not {"\x1b", "\x00", "\x07"} & set(result.stderr)
    assert customers(crm_app) == 0


def test_customers_update_refuses_the_same_values(crm_app, crm_cli):
    cid = make_customer(crm_app, "مریم رضایی")
    for args, field in (
        (["--name", "مر\x00یم"], "name"),
        (["--address", "ونک\x1b"], "address"),
        (["--birthday", "2099-01-01"], "birthday"),
        (["--external-id", "C\x00"], "external_id"),
    ):
        result = crm_cli("customers", "update", str(cid), *args)
        assert result.exit_code == 1 and f"field {field}:" in result.stderr, (args, result)
    assert (
        crm_cli(
            "customers", "update", str(cid), "--birthday", "1404-01-01", "--address", "ونک\nپلاک ۲"
        ).exit_code
        == 0
    )


def test_persian_names_with_their_format_characters_are_stored(crm_app, crm_cli):
    name = "\u200fعلی\u200cرضا کریمی\u200e"
    result = crm_cli("customers", "add", "--name", name, "--json")
    assert result.exit_code == 0, result
    assert result.json()["name"] == name
