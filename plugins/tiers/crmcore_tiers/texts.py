"""Readable amounts: "180 points more to Gold" / "۱۸۰ امتیاز دیگر تا طلایی"."""
from __future__ import annotations

from crmcore.api import Money, format_money, to_persian_digits


def amount_text(metric: str, value: int, currency: str) -> str:
    if metric == "spend":
        if currency == "IRR":
            return f"{value:,} rials"
        return format_money(Money(value, currency))
    if metric == "purchases":
        return f"{value:,} purchase{'' if value == 1 else 's'}"
    return f"{value:,} point{'' if value == 1 else 's'}"


def amount_text_fa(metric: str, value: int, currency: str) -> str:
    number = to_persian_digits(f"{value:,}").replace(",", "٬")
    if metric == "spend":
        return f"{number} {'ریال' if currency == 'IRR' else currency} خرید"
    return f"{number} {'خرید' if metric == 'purchases' else 'امتیاز'}"


def more_to(metric: str, needed: int, currency: str, title: str, title_fa: str | None) -> tuple[str, str]:
    """("120,000 rials more to Gold", "۱۲۰٬۰۰۰ ریال خرید دیگر تا طلایی")."""
    en = f"{amount_text(metric, needed, currency)} more to {title}"
    fa = f"{amount_text_fa(metric, needed, currency)} دیگر تا {title_fa or title}"
    return en, fa


def criterion_text(metric: str, threshold: int, currency: str) -> str:
    """``2,000 points``, ``60,000,000 rials spent``, ``7 purchases``."""
    return amount_text(metric, threshold, currency) + (" spent" if metric == "spend" else "")
