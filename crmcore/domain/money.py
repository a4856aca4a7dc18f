"""Exact money: an integer count of the currency's minor unit plus an ISO 4217 code.

Rial has no minor unit; a toman is 10 rials and is a display unit only (``format_money(...,
unit="toman")``).
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact, InvalidOperation

import attrs

from ..errors import ValidationError
from .text import to_ascii_digits

#: ISO 4217 minor-unit exponents of the currencies a business here meets.
CURRENCY_EXPONENTS: dict[str, int] = {
    "IRR": 0,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "AED": 2,
    "TRY": 2,
    "CNY": 2,
    "RUB": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "SAR": 2,
    "QAR": 2,
    "AFN": 2,
    "INR": 2,
    "AMD": 2,
    "AZN": 2,
    "GEL": 2,
    "PKR": 2,
    "JPY": 0,
    "KRW": 0,
    "IQD": 3,
    "KWD": 3,
    "BHD": 3,
    "OMR": 3,
    "JOD": 3,
}
DEFAULT_CURRENCY = "IRR"
#: the largest amount, in minor units, that an amount column holds: every one is a BIGINT (signed 64
#: bits on SQLite and PostgreSQL); :func:`parse_money` refuses more, so no larger amount reaches the
#: database
MAX_MINOR = 2**63 - 1
_MAX_MINOR = Decimal(MAX_MINOR)  # compared with Decimals: twice as fast as the int
#: exact arithmetic for long amounts: a result that would need rounding (more digits than any
#: storable amount has) raises Inexact instead of being silently rounded to the default context's 28
#: digits
_EXACT = Context(prec=40, traps=[Inexact, InvalidOperation])


def currency_exponent(code: str, *, field: str = "currency") -> int:
    try:
        return CURRENCY_EXPONENTS[code]
    except KeyError:
        known = ", ".join(sorted(CURRENCY_EXPONENTS))
        raise ValidationError(f"unknown currency {code!r} (known: {known})", field=field) from None


@attrs.frozen(order=True)
class Money:
    """An exact amount: ``minor`` units of ``currency`` (rials for IRR, cents for USD)."""

    minor: int
    currency: str = DEFAULT_CURRENCY

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-currency_exponent(self.currency))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"

    def __add__(self, other: "Money") -> "Money":
        if other.currency != self.currency:
            raise ValidationError(
                f"cannot add {other.currency} to {self.currency}", field="currency"
            )
        return Money(self.minor + other.minor, self.currency)

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str = DEFAULT_CURRENCY) -> "Money":
        return parse_money(str(amount), currency)


_AMOUNT = re.compile(r"^-?\d+(\.\d+)?$")


def parse_money(
    raw: str | int | Decimal,
    currency: str = DEFAULT_CURRENCY,
    *,
    field: str = "amount",
    unit: str | None = None,
) -> Money:
    """Parse an amount typed by a person: Persian digits, thousands separators (1,250,000 or
    ۱٬۲۵۰٬۰۰۰).

    ``unit="toman"`` multiplies by 10 into rials. Refuses floats' noise: more decimals than the
    currency has, and amounts beyond :data:`MAX_MINOR` minor units either way (the database could
    not store them).
    """
    currency = (currency or DEFAULT_CURRENCY).strip().upper()
    if currency in ("IRT", "TOMAN"):
        currency, unit = "IRR", "toman"
    exp = currency_exponent(currency)
    if isinstance(raw, float):
        raise ValidationError(
            "amounts must be exact (a string, int or Decimal), not a float", field=field
        )
    text = (
        to_ascii_digits(str(raw))
        .strip()
        .replace("٬", "")
        .replace(",", "")
        .replace("_", "")
        .replace(" ", "")
    )
    text = text.replace("٫", ".")
    if not _AMOUNT.match(text):
        raise ValidationError(f"{raw!r} is not an amount", field=field)
    try:
        value = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the regex already guards
        raise ValidationError(f"{raw!r} is not an amount", field=field) from None
    if unit not in (None, "rial", "toman"):
        raise ValidationError(f"unknown unit {unit!r} (rial or toman)", field=field)
    try:  # into minor units (a toman is ten rials: one more power of ten); exact up to 26 digits
        scaled = value.scaleb(exp + (unit == "toman"), _EXACT if len(text) > 26 else None)
    except (Inexact, InvalidOperation):
        scaled = None
    if scaled is None or abs(scaled) > _MAX_MINOR:
        typed = str(raw)
        shown = repr(typed) if len(typed) <= 40 else f"{typed[:30]!r}… ({len(typed)} characters)"
        raise ValidationError(
            f"{shown} is out of range: the largest amount that can be stored is "
            f"{format_money(Money(MAX_MINOR, currency))}",
            field=field,
        )
    if scaled != scaled.to_integral_value():
        raise ValidationError(
            f"{raw!r} has more decimals than {currency} allows ({exp})", field=field
        )
    return Money(int(scaled), currency)


def format_money(money: Money, *, unit: str | None = None, persian_digits: bool = False) -> str:
    """Human form with thousands separators; IRR may be shown in toman (``unit="toman"``). The same
    as
    :meth:`crmcore.formatting.Formatter.money` of a Persian (``persian_digits``) or English
    reader."""
    from ..formatting import Formatter

    return Formatter("fa" if persian_digits else "en", money_unit=unit or "rial").money(money)
