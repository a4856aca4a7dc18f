"""A report's totals for people: the nested ``totals`` dict of a result (``{"by_currency": {"IRR":
{"amount": "1042210000", ...}}, "period": "month"}``) as labelled lines, each value through the
reader's
:class:`crmcore.formatting.Formatter`, for the CLI's text mode and the web's report page alike.

Amounts in totals are exact decimal strings in the currency's major unit; they are shown as money
when the
currency is known from their place (under ``by_currency.<code>``) or from a ``currency`` beside
them.
Keys ending in ``_pct`` are percentages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ..domain.money import CURRENCY_EXPONENTS, Money
from ..formatting import EMPTY, Formatter

#: totals keys whose string values are amounts of money
MONEY_KEYS = {
    "amount",
    "weighted_amount",
    "refunded",
    "net",
    "target",
    "won",
    "won_amount",
    "liability",
    "revenue",
    "spend",
    "value",
}
#: keys that only say how the report was run (already shown by the page or the command line)
HIDDEN = {"calendar", "currency"}


def humanise(key: str) -> str:
    return str(key).replace("_", " ").strip().capitalize()


def totals_lines(totals: dict[str, Any] | None, fmt: Formatter) -> list[tuple[list[str], str]]:
    """``[(path of keys, shown value)]`` of every leaf of ``totals``: ``(["by_currency", "IRR",
    "amount"],
    "1,042,210,000 IRR")``. The caller turns the keys into labels (translated on the web)."""
    out: list[tuple[list[str], str]] = []
    if not totals:
        return out
    _walk(totals, [], None, fmt, out)
    return out


def _walk(
    node: dict[str, Any], path: list[str], currency: str | None, fmt: Formatter, out: list
) -> None:
    here = node.get("currency") if isinstance(node.get("currency"), str) else currency
    for key, value in node.items():
        key = str(key)
        if key in HIDDEN and not isinstance(value, dict):
            continue
        where = path + [key]
        if isinstance(value, dict):
            inner = key if key in CURRENCY_EXPONENTS else here
            if value:
                _walk(value, where, inner, fmt, out)
            continue
        out.append((where, _shown(key, value, here, fmt)))


def _shown(key: str, value: Any, currency: str | None, fmt: Formatter) -> str:
    if value is None or value == "":
        return EMPTY
    if key.endswith("_pct") and isinstance(value, (str, int, Decimal)):
        try:
            return fmt.percent(Decimal(str(value)), places=1 if "." in str(value) else 0)
        except ArithmeticError:
            return fmt.loose(value)
    if currency and key in MONEY_KEYS and isinstance(value, str):
        try:
            return fmt.money(Money.of(value, currency))
        except Exception:  # noqa: BLE001 - an odd amount is still worth showing as it is
            return fmt.loose(value)
    if isinstance(value, list):
        return fmt.join(fmt.loose(v) for v in value) or EMPTY
    return fmt.loose(value)


def label_of(path: list[str], translate=lambda text: text) -> str:
    """``["by_currency", "IRR", "amount"]`` → ``IRR · Amount`` (``by_*`` grouping keys left out)."""
    parts = [
        p if p in CURRENCY_EXPONENTS else translate(humanise(p))
        for p in path
        if not p.startswith("by_")
    ]
    return " · ".join(parts) or translate(humanise(path[-1]))
