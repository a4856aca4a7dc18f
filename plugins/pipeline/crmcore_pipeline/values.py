"""Reading the values people type for the pipeline: codes, probabilities, amounts, dates, periods."""

from __future__ import annotations

import re
from datetime import date

from crmcore.api import (
    Money,
    ValidationError,
    check_text,
    jalali_month_bounds,
    jalali_year_bounds,
    parse_date,
    parse_money,
    to_ascii_digits,
)

_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_PERIOD = re.compile(r"^(\d{4})(?:[-/.](\d{1,2}))?$")


def parse_code(raw: str | None, *, field: str = "code") -> str:
    """A short identifier: a letter, then letters, digits, ``_`` or ``-`` (at most 40), lower-cased."""
    text = (raw or "").strip().lower()
    if not _CODE.match(text):
        raise ValidationError(
            f"{raw!r} is not a code (a letter, then letters, digits, '_' or '-'; at most 40)",
            field=field,
        )
    return text


def parse_name(raw: str | None, *, field: str = "name", limit: int = 200) -> str:
    text = " ".join(check_text(raw or "", field).split())
    if not text:
        raise ValidationError(f"a {field.replace('_', ' ')} is required", field=field)
    if len(text) > limit:
        raise ValidationError(
            f"the {field.replace('_', ' ')} is longer than {limit} characters", field=field
        )
    return text


def optional_text(raw: str | None, *, field: str, limit: int | None = None) -> str | None:
    text = check_text((raw or "").strip(), field)
    if not text:
        return None
    if limit and len(text) > limit:
        raise ValidationError(
            f"the {field.replace('_', ' ')} is longer than {limit} characters", field=field
        )
    return text


def parse_probability(raw: str | int | None, *, field: str = "probability") -> int:
    """A whole percent 0–100 (``35``, ``۳۵``, ``35%``)."""
    if isinstance(raw, bool) or isinstance(raw, float):
        raise ValidationError(
            f"the probability must be a whole percent from 0 to 100, not {raw!r}", field=field
        )
    text = to_ascii_digits(str(raw if raw is not None else "")).strip().rstrip("%٪").strip()
    if not re.fullmatch(r"-?\d+", text):
        raise ValidationError(
            f"the probability must be a whole percent from 0 to 100, not {raw!r}", field=field
        )
    value = int(text)
    if not 0 <= value <= 100:
        raise ValidationError(
            f"the probability must be between 0 and 100, not {value}", field=field
        )
    return value


def parse_amount(
    raw: str | int | None, currency: str | None, *, field: str = "amount"
) -> Money | None:
    """An exact, non-negative amount in ``currency`` (IRR by default); ``None`` or ``""`` means no amount."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    money = parse_money(raw, currency or "IRR", field=field)
    if money.minor < 0:
        raise ValidationError(f"the amount cannot be negative ({raw!r})", field=field)
    return money


def parse_optional_date(raw: str | date | None, *, field: str) -> date | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    return parse_date(raw, field=field)


def parse_period(raw: str, *, field: str = "period") -> tuple[str, date, date]:
    """A target period: ``1403-07`` (Jalali month), ``1403`` (Jalali year), ``2025-03`` or ``2025``
    (Gregorian). Returns ``(label, first day, first day after)``."""
    text = to_ascii_digits(str(raw or "")).strip()
    m = _PERIOD.match(text)
    if not m:
        raise ValidationError(
            f"{raw!r} is not a period (YYYY-MM or YYYY, Jalali like 1403-07 or Gregorian)",
            field=field,
        )
    year, month = int(m.group(1)), m.group(2)
    jalali = year < 1700
    if month is None:
        if jalali:
            start, end = jalali_year_bounds(year)
        else:
            start, end = date(year, 1, 1), date(year + 1, 1, 1)
        return f"{year:04d}", start, end
    mo = int(month)
    if not 1 <= mo <= 12:
        raise ValidationError(f"{raw!r} has no month {mo} (1–12)", field=field)
    if jalali:
        start, end = jalali_month_bounds(year, mo)
    else:
        start = date(year, mo, 1)
        end = date(year + 1, 1, 1) if mo == 12 else date(year, mo + 1, 1)
    return f"{year:04d}-{mo:02d}", start, end
