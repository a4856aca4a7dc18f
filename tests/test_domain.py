from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmcore.api import (
    Money,
    ValidationError,
    format_date,
    format_money,
    normalize,
    parse_date,
    parse_datetime,
    parse_email,
    parse_money,
    parse_phone,
    search_tokens,
)


@pytest.mark.parametrize(
    "raw",
    [
        "09121234567",
        "9121234567",
        "00989121234567",
        "+989121234567",
        "+98 912 123 4567",
        "0912-123-4567",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "٠٩١٢١٢٣٤٥٦٧",
        "(0912) 123 4567",
        "۰۰۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷",
    ],
)
def test_every_iranian_mobile_format_gives_one_e164(raw):
    phone = parse_phone(raw)
    assert phone.e164 == "+989121234567" and phone.kind == "mobile"


def test_landlines_with_area_codes_and_foreign_numbers():
    assert parse_phone("021 8888 8888").e164 == "+982188888888"
    assert parse_phone("021 8888 8888").kind == "landline"
    assert parse_phone("031-3222-1234").e164 == "+983132221234"
    assert parse_phone("+1 650 253 0000").e164 == "+16502530000"


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("12345", "not a valid phone number"),
        ("0912abc4567", "not a phone number"),
        ("", "required"),
        ("912", "too short"),
        ("6502530000", "read as IR numbers"),
    ],
)
def test_bad_phones_say_why(raw, reason):
    with pytest.raises(ValidationError, match=reason) as err:
        parse_phone(raw)
    assert err.value.field == "phone"


def test_text_normalisation_folds_persian_variants():
    assert normalize("علي‌رضا  كريمي") == normalize("علی رضا کریمی") == "علی رضا کریمی"
    assert normalize("فاطمة") == normalize("فاطمه")
    assert normalize("مُحَمَّد") == "محمد"
    assert normalize("۱۲۳ ٤٥٦") == "123 456"
    assert normalize("  ALI   Karimi ") == "ali karimi"
    assert normalize("آرش") == normalize("ارش")
    assert {"علیرضا", "علی", "رضا"} <= search_tokens("علی‌رضا")


@given(st.text())
def test_normalise_is_idempotent(text):
    once = normalize(text)
    assert normalize(once) == once


def test_emails_are_lower_cased_and_checked():
    assert parse_email(" Ali.Rezaei@Example.IR ").address == "ali.rezaei@example.ir"
    for bad in ["ali@", "ali@example", "@x.ir", "a b@x.ir", "ali@@x.ir"]:
        with pytest.raises(ValidationError, match="not a valid email"):
            parse_email(bad)


def test_money_is_exact_and_respects_currency_decimals():
    assert parse_money("1,250,000") == Money(1_250_000, "IRR")
    assert parse_money("۱٬۲۵۰٬۰۰۰") == Money(1_250_000, "IRR")
    assert parse_money("125000", "TOMAN") == Money(1_250_000, "IRR")
    assert parse_money("12.50", "USD") == Money(1250, "USD")
    assert Money(1250, "USD").amount == Decimal("12.50")
    with pytest.raises(ValidationError, match="more decimals than USD allows"):
        parse_money("12.345", "USD")
    with pytest.raises(ValidationError, match="more decimals than IRR allows"):
        parse_money("100.5", "IRR")
    with pytest.raises(ValidationError, match="unknown currency"):
        parse_money("1", "XYZ")
    with pytest.raises(ValidationError, match="not a float"):
        parse_money(1.5, "USD")
    assert format_money(Money(12_500_000, "IRR"), unit="toman") == "1,250,000 toman"
    assert (
        format_money(Money(12_500_000, "IRR"), unit="toman", persian_digits=True)
        == "۱٬۲۵۰٬۰۰۰ تومان"
    )


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(["IRR", "USD", "KWD"]))
def test_money_round_trips_through_its_text(minor, currency):
    m = Money(minor, currency)
    assert parse_money(str(m.amount), currency) == m


def test_dates_in_both_calendars():
    assert parse_date("1403/07/15") == date(2024, 10, 6)
    assert parse_date("۱۴۰۳-۰۷-۱۵") == date(2024, 10, 6)
    assert parse_date("2024-10-06") == date(2024, 10, 6)
    assert parse_date("1403/12/30") == date(2025, 3, 20)  # 1403 is a leap year
    with pytest.raises(ValidationError, match="not a date in the Jalali calendar"):
        parse_date("1404/12/30")
    with pytest.raises(ValidationError, match="not a date in the Jalali calendar"):
        parse_date("1403/12/31")
    with pytest.raises(ValidationError, match="not a date in the Gregorian calendar"):
        parse_date("2023-02-29")
    assert format_date(date(2024, 10, 6), "jalali") == "1403-07-15"


def test_datetimes_are_read_in_the_local_zone_and_stored_in_utc():
    assert parse_datetime("1403-07-15 14:30") == datetime(2024, 10, 6, 11, 0, tzinfo=timezone.utc)
    assert parse_datetime("2024-10-06T14:30:00Z") == datetime(
        2024, 10, 6, 14, 30, tzinfo=timezone.utc
    )
    assert parse_datetime("2024-10-06T14:30+03:30") == datetime(
        2024, 10, 6, 11, 0, tzinfo=timezone.utc
    )
    assert parse_datetime("2024-10-06", tz="UTC") == datetime(2024, 10, 6, tzinfo=timezone.utc)
    with pytest.raises(ValidationError, match="impossible time"):
        parse_datetime("2024-10-06 25:00")
