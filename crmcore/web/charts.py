"""Bar charts of report results, computed on the server and drawn as inline SVG (no script, no CDN).

A report's first column labels the bars; the chart shows one numeric column (the first one whose values are
all numbers, or the one asked for). Values stay exact (Decimal) until they become bar lengths.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

MAX_BARS = 40


@attrs.frozen
class Bar:
    label: str
    value: Decimal
    y: int
    width: float  # in percent of the plotting area
    negative: bool


@attrs.frozen
class Chart:
    column: str
    bars: list[Bar]
    height: int
    row_height: int
    truncated: int  # bars left out beyond MAX_BARS


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def numeric_columns(columns: list[str], rows: list[list[Any]]) -> list[str]:
    found = []
    for i, name in enumerate(columns[1:], start=1):
        values = [r[i] for r in rows if i < len(r) and r[i] not in (None, "")]
        if values and all(_number(v) is not None for v in values):
            found.append(name)
    return found


def bar_chart(
    columns: list[str], rows: list[list[Any]], column: str | None = None, row_height: int = 26
) -> Chart | None:
    """The chart of ``column`` (default: the first numeric column), or ``None`` when nothing is numeric."""
    candidates = numeric_columns(columns, rows)
    if not candidates:
        return None
    if column not in candidates:
        column = candidates[0]
    index = columns.index(column)
    values = [
        (str(r[0]) if r else "", _number(r[index]) or Decimal(0)) for r in rows if index < len(r)
    ]
    truncated = max(0, len(values) - MAX_BARS)
    values = values[:MAX_BARS]
    largest = max((abs(v) for _, v in values), default=Decimal(0)) or Decimal(1)
    bars = [
        Bar(
            label=label,
            value=v,
            y=i * row_height,
            width=float(abs(v) / largest * 100),
            negative=v < 0,
        )
        for i, (label, v) in enumerate(values)
    ]
    return Chart(
        column=column,
        bars=bars,
        height=max(row_height, len(bars) * row_height),
        row_height=row_height,
        truncated=truncated,
    )
