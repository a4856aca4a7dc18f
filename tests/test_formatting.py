"""The one formatting layer: calendars, digits, zones, money in major units (0/2/3 decimals, toman),
numbers, percentages, the empty placeholder, and the errors for values that cannot be shown."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from crmcore.api import EMPTY, Formatter, FormattingError, Money, ValidationError

FA = Formatter.for_language("fa")
EN = Formatter.for_language("en")
MOMENT = datetime(2024, 10, 6, 11, 0, tzinfo=timezone.utc)  # 14:30 in Tehran, 15 Mehr 1403


def test_language_chooses_calendar_and_digits():
    assert FA.calendar == "jalali" and EN.calendar == "gregorian"
    assert FA.moment(MOMENT) == "۱۴۰۳/۰۷/۱۵ ۱۴:۳۰"
    assert EN.moment(MOMENT) == "2024-10-06 14:30"
    assert FA.date(date(2024, 10, 6)) == "۱۴۰۳/۰۷/۱۵"
    assert EN.date(date(2024, 10, 6)) == "2024-10-06"


def test_calendar_and_language_are_independent():
    assert Formatter("en", "jalali", "Asia/Tehran").date(date(2024, 10, 6)) == "1403-07-15"
    assert Formatter("fa", "gregorian", "Asia/Tehran").date(date(2024, 10, 6)) == "۲۰۲۴/۱۰/۰۶"
    assert Formatter("en", "jalali").date(date(2024, 10, 6), long=True) == "15 Mehr 1403"
    assert FA.date(date(2024, 10, 6), long=True) == "۱۵ مهر ۱۴۰۳"
    assert EN.date(date(2024, 10, 6), long=True) == "6 October 2024"


def test_moments_are_put_in_the_readers_zone_before_the_day_is_taken():
    late = datetime(2024, 10, 6, 21, 0, tzinfo=timezone.utc)  # already the 7th in Tehran (00:30)
    assert EN.date(late) == "2024-10-07"
    assert Formatter("en", "gregorian", "UTC").date(late) == "2024-10-06"
    assert Formatter("en", "gregorian", "UTC").moment(MOMENT) == "2024-10-06 11:00"
    assert EN.moment(datetime(2024, 10, 6, 11, 0)) == "2024-10-06 14:30"  # naive from SQLite = UTC
    assert EN.time(MOMENT) == "14:30" and FA.time(MOMENT) == "۱۴:۳۰"
    assert EN.moment("2024-10-06T11:00:00+00:00") == "2024-10-06 14:30"  # ISO strings are read


def test_leap_esfand_and_new_year():
    assert FA.date(date(2025, 3, 20)) == "۱۴۰۳/۱۲/۳۰"
    assert FA.date(date(2025, 3, 21)) == "۱۴۰۴/۰۱/۰۱"


@pytest.mark.parametrize(
    "money, en, fa",
    [
        (Money(7550, "USD"), "75.50 USD", "۷۵٫۵۰ دلار"),
        (Money(7500, "USD"), "75.00 USD", "۷۵٫۰۰ دلار"),
        (Money(-125, "EUR"), "-1.25 EUR", "-۱٫۲۵ یورو"),
        (Money(12_500_000, "IRR"), "12,500,000 IRR", "۱۲٬۵۰۰٬۰۰۰ ریال"),
        (Money(1_234_567, "KWD"), "1,234.567 KWD", "۱٬۲۳۴٫۵۶۷ KWD"),
        (Money(1000, "JPY"), "1,000 JPY", "۱٬۰۰۰ JPY"),
    ],
)
def test_money_in_the_major_unit_with_the_currencys_decimals(money, en, fa):
    assert EN.money(money) == en
    assert FA.money(money) == fa


def test_irr_in_toman_per_the_business_setting():
    toman_fa, toman_en = FA.with_unit("toman"), EN.with_unit("toman")
    assert toman_fa.money(Money(12_500_000, "IRR")) == "۱٬۲۵۰٬۰۰۰ تومان"
    assert toman_en.money(Money(12_500_000, "IRR")) == "1,250,000 toman"
    assert toman_en.money(Money(12_345, "IRR")) == "1,234.5 toman"  # a rial short of a whole toman
    assert toman_en.money(Money(7550, "USD")) == "75.50 USD"  # other currencies are not affected
    assert toman_en.money_unit_name("IRR") == "toman" and EN.money_unit_name("IRR") == "IRR"
    assert toman_en.money(Money(12_500_000, "IRR"), unit=False) == "1,250,000"


def test_one_grouping_style_per_language():
    assert EN.number(1_029_000_000) == "1,029,000,000"
    assert FA.number(1_029_000_000) == "۱٬۰۲۹٬۰۰۰٬۰۰۰"
    assert "," not in FA.number(1_029_000_000) and "٬" not in EN.number(1_029_000_000)
    assert EN.number(Decimal("-1234.50")) == "-1,234.50"
    assert EN.number(Decimal("2.345"), places=1) == "2.3"
    assert FA.number(Decimal("1234.5")) == "۱٬۲۳۴٫۵"


def test_percentages():
    assert EN.percent(63) == "63%" and FA.percent(63) == "۶۳٪"
    assert EN.percent(Decimal("81.25"), places=1) == "81.2%"
    assert FA.percent(Decimal("12.5"), places=1) == "۱۲٫۵٪"


def test_one_empty_placeholder_for_everything():
    for f in (FA, EN):
        assert {
            f.value(None),
            f.value(""),
            f.money(None),
            f.date(None),
            f.moment(None),
            f.number(None),
            f.percent(None),
            f.time(None),
        } == {EMPTY}
    assert EMPTY == "—"


def test_value_dispatches_on_type():
    assert FA.value(True) == "بله" and EN.value(False) == "no"
    assert FA.value(1250) == "۱٬۲۵۰" and EN.value(Decimal("2.5")) == "2.5"
    assert FA.value(Money(10, "IRR")) == "۱۰ ریال"
    assert FA.value(MOMENT) == "۱۴۰۳/۰۷/۱۵ ۱۴:۳۰" and FA.value(date(2024, 10, 6)) == "۱۴۰۳/۰۷/۱۵"
    assert FA.value("قرمز 3") == "قرمز ۳" and EN.value("red 3") == "red 3"


def test_values_that_cannot_be_shown_as_asked_raise():
    with pytest.raises(FormattingError):
        EN.format("12", "money")  # amounts are Money, never a bare number of unknown unit
    with pytest.raises(FormattingError):
        EN.format("tomorrow", "date")
    with pytest.raises(FormattingError):
        EN.format("many", "number")
    with pytest.raises(FormattingError):
        EN.format(Money(1, "XYZ"), "money")
    with pytest.raises(FormattingError):
        EN.format(1, "colour")
    assert EN.format("2024-10-06", "date") == "2024-10-06"
    assert EN.format(Decimal("0.5"), "percent") == "0%"  # percent points, rounded to whole ones


def test_bad_settings_are_refused():
    with pytest.raises(ValidationError):
        Formatter("de")
    with pytest.raises(ValidationError):
        Formatter("fa", "julian")
    with pytest.raises(ValidationError):
        Formatter("fa", "jalali", "Mars/Olympus")
    with pytest.raises(ValidationError):
        Formatter("fa", "jalali", "UTC", "dinar")


def test_the_business_money_unit_is_read_from_the_settings(crm_app):
    from crmcore.api import formatter_for, set_setting

    with crm_app.unit_of_work() as uow:
        assert formatter_for(uow, "fa").money_unit == "rial"
        set_setting(uow, "kernel", "money_unit", "toman")
    with crm_app.unit_of_work(readonly=True) as uow:
        f = formatter_for(uow, "fa")
        assert f.money(Money(12_500_000, "IRR")) == "۱٬۲۵۰٬۰۰۰ تومان"
        assert f.calendar == "jalali" and f.tz == crm_app.timezone


def test_cli_language(monkeypatch):
    from crmcore.api import cli_language

    for var in ("CRM_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        monkeypatch.delenv(var, raising=False)
    assert cli_language() == "en"
    monkeypatch.setenv("LANG", "fa_IR.UTF-8")
    assert cli_language() == "fa"
    monkeypatch.setenv("CRM_LANG", "en")
    assert cli_language() == "en"


def test_report_period_keys_keep_their_calendar():
    assert FA.value("1403-07") == "۱۴۰۳/۰۷" and FA.value("1403-07-15") == "۱۴۰۳/۰۷/۱۵"
    assert EN.value("1403-07-15") == "1403-07-15"  # already Jalali: never read as a Gregorian day
    assert FA.period("2024") == "۲۰۲۴" and FA.period(None) == EMPTY


def test_addresses_keep_latin_digits_on_a_persian_page():
    from crmcore.formatting import Formatter

    fa = Formatter.for_language("fa")
    text = "کد 574Q-4YNK: https://shop.ir/forms/lead?ref=574Q4YNK یا sara.1370@shop.ir"
    assert fa.digits(text) == (
        "کد ۵۷۴Q-۴YNK: https://shop.ir/forms/lead?ref=574Q4YNK یا sara.1370@shop.ir"
    )
    assert Formatter.for_language("en").digits(text) == text
