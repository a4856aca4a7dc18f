"""Readable amounts: "180 points more to Gold" / "۱۸۰ امتیاز دیگر تا طلایی". Money goes through the
one formatting layer, in the currency's major unit (``640.00 USD``, ``۶۴۰٫۰۰ دلار``) and, for rials,
the business's rial/toman choice (``unit``)."""

from __future__ import annotations

from crmcore.api import Formatter, Money


def _money(lang: str, value: int, currency: str, unit: str) -> str:
    return Formatter.for_language(lang, money_unit=unit).money(Money(value, currency))


def amount_text(metric: str, value: int, currency: str, unit: str = "rial") -> str:
    if metric == "spend":
        if currency == "IRR" and unit == "rial":
            return f"{value:,} rials"
        return _money("en", value, currency, unit)
    if metric == "purchases":
        return f"{value:,} purchase{'' if value == 1 else 's'}"
    return f"{value:,} point{'' if value == 1 else 's'}"


def amount_text_fa(metric: str, value: int, currency: str, unit: str = "rial") -> str:
    if metric == "spend":
        return f"{_money('fa', value, currency, unit)} خرید"
    number = Formatter.for_language("fa").number(value)
    return f"{number} {'خرید' if metric == 'purchases' else 'امتیاز'}"


def more_to(
    metric: str, needed: int, currency: str, title: str, title_fa: str | None, unit: str = "rial"
) -> tuple[str, str]:
    """("120,000 rials more to Gold", "۱۲۰٬۰۰۰ ریال خرید دیگر تا طلایی")."""
    en = f"{amount_text(metric, needed, currency, unit)} more to {title}"
    fa = f"{amount_text_fa(metric, needed, currency, unit)} دیگر تا {title_fa or title}"
    return en, fa


def criterion_text(metric: str, threshold: int, currency: str, unit: str = "rial") -> str:
    """``2,000 points``, ``60,000,000 rials spent``, ``7 purchases``."""
    return amount_text(metric, threshold, currency, unit) + (" spent" if metric == "spend" else "")
