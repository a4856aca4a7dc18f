"""One way for a read command to print its result: the command computes one value and hands it to
:func:`output`, which prints it as JSON (``--json``, from :data:`json_option`) or for people, every
value through the one :class:`crmcore.formatting.Formatter` (the app's calendar, zone, digits and
money unit). Plugins reach it as ``crmcore.api.output`` / ``crmcore.api.json_option``.

Text for people is rendered with rich at the terminal's width, or at 80 columns when stdout is not a
terminal (a pipe, a file, cron mail): a table whose columns do not fit becomes one label/value block
per row instead of cells cut to a letter. A list that was cut says so in one line."""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.text import Text

from .. import ui
from ..formatting import EMPTY, Formatter, read_moment
from .context import echo_json, get_app

#: the ``--json`` flag every read command has; the command receives it as ``as_json``
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print the result as JSON instead of text."
)

#: the width text is laid out for when stdout is not a terminal
PIPE_WIDTH = 80


def text_width() -> int:
    """The terminal's width, or :data:`PIPE_WIDTH` when stdout is not a terminal (``COLUMNS``
    narrower than that wins, so a test or a narrow pager gets what it asks for)."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    try:
        asked = int(os.environ.get("COLUMNS", PIPE_WIDTH))
    except ValueError:
        asked = PIPE_WIDTH
    return max(20, min(asked, PIPE_WIDTH))


def render(*items: RenderableType | str, width: int | None = None) -> str:
    """rich renderables laid out at :func:`text_width` as plain text (colour only on a terminal)."""
    tty = sys.stdout.isatty()
    console = Console(
        file=io.StringIO(),
        width=width or text_width(),
        force_terminal=tty,
        color_system="auto" if tty else None,
        highlight=False,
        emoji=False,
    )
    for item in items:
        console.print(item, markup=False) if isinstance(item, str) else console.print(item)
    text = console.file.getvalue()
    # rich pads every line of a table to its width: trailing blanks only get in a pipe's way
    return text if tty else "\n".join(line.rstrip() for line in text.split("\n"))


def formatter(app=None) -> Formatter:
    """The CLI reader's formatter: the app's calendar and zone, ``CRM_LANG``'s language."""
    return Formatter.for_app(app or get_app())


def plain(value: Any, fmt: Formatter) -> str:
    """Any value as one line of text for people: ISO moments in the reader's calendar and zone,
    numbers grouped, nested mappings as ``key: value`` pairs, lists joined; never a Python repr."""
    if isinstance(value, Mapping):
        if not value:
            return EMPTY
        return fmt.join(f"{_label(k)}: {plain(v, fmt)}" for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return fmt.join(plain(v, fmt) for v in value) if value else EMPTY
    if isinstance(value, (ui.Label, ui.Badge, ui.Link)):
        from .panels import shown

        return shown(value, fmt).plain
    if isinstance(value, str) and read_moment(value) is not None:
        return fmt.loose(value)
    return fmt.value(value)


def _label(key: Any) -> str:
    return str(key).replace("_", " ")


def _column(spec) -> ui.Column:
    if isinstance(spec, ui.Column):
        return spec
    if isinstance(spec, str):
        return ui.Column(spec, _label(spec))
    return ui.Column(*spec)


def table(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence | None = None,
    fmt: Formatter | None = None,
    *,
    title: str | None = None,
    empty: str | None = None,
) -> RenderableType:
    """``rows`` under ``columns`` (``ui.Column``, ``(key, label[, kind])`` or a key; all keys of
    the first row when not given) as a table that fits :func:`text_width`, else blocks."""
    from .panels import table_renderable

    fmt = fmt or formatter()
    rows = list(rows)
    cols = [_column(c) for c in (columns or (list(rows[0]) if rows else []))]
    # text columns hold any value (nested ones too): shown through plain(); typed columns are
    # formatted by the table as their kind says
    cells = [
        {c.key: plain(r.get(c.key), fmt) if c.kind == "text" else r.get(c.key) for c in cols}
        for r in rows
    ]
    return table_renderable(
        ui.Table(columns=cols, rows=cells, title=title, empty=empty), fmt, text_width()
    )


def fields(
    data: Mapping[str, Any], fmt: Formatter | None = None, *, labels: Mapping | None = None
) -> RenderableType:
    """A mapping as ``label  value`` lines (labels from ``labels`` or the keys)."""
    from .panels import _pairs

    fmt = fmt or formatter()
    labels = labels or {}
    return _pairs([(labels.get(k) or _label(k), Text(plain(v, fmt))) for k, v in data.items()])


def cut_line(shown: int, total: int | None, fmt: Formatter, flag: str = "--limit") -> str | None:
    """``showing 50 of 312; --limit 0 for all`` when a list was cut, else ``None``."""
    if total is None or total <= shown:
        return None
    if fmt.persian:
        return f"{fmt.number(shown)} از {fmt.number(total)} نشان داده شد؛ همه با {flag} 0"
    return f"showing {fmt.number(shown)} of {fmt.number(total)}; {flag} 0 for all"


def output(
    result: Any,
    as_json: bool,
    *,
    text: Callable[[Any, Formatter], Any] | None = None,
    columns: Sequence | None = None,
    rows: Callable[[Any], Iterable[Mapping[str, Any]]] | None = None,
    title: str | None = None,
    empty: str | None = None,
    total: int | None = None,
    limit_flag: str = "--limit",
    fmt: Formatter | None = None,
) -> None:
    """Print a read command's ``result``: JSON with ``--json``, else for people.

    For people: ``text(result, fmt)`` when given (a string, a renderable or a list of them); else
    a list of mappings (or ``rows(result)``) as a table under ``columns``; else a mapping as
    label/value lines; else the value. ``total``: how many there are when ``result`` holds only the
    first ones (a line then says so and names ``limit_flag``). ``empty``: the line for no rows."""
    if as_json:
        echo_json(result)
        return
    fmt = fmt or formatter()
    parts: list[RenderableType | str] = []
    listed = list(rows(result)) if rows else result
    shown_count: int | None = None
    if text is not None:
        produced = text(result, fmt)
        if isinstance(produced, (list, tuple)):
            parts.extend(p for p in produced if p is not None)
        elif produced is not None:
            parts.append(produced)
    elif isinstance(listed, (list, tuple)) and (
        columns or not listed or isinstance(listed[0], Mapping)
    ):
        if not listed and empty:
            parts.append(empty)
        else:
            parts.append(table(listed, columns, fmt, title=title, empty=empty))
        shown_count = len(listed)
    elif isinstance(listed, Mapping):
        if title:
            parts.append(Text(title, style="bold"))
        parts.append(fields(listed, fmt))
    else:
        parts.append(plain(listed, fmt))
    if shown_count is None and isinstance(listed, (list, tuple)):
        shown_count = len(listed)
    if shown_count is not None:
        more = cut_line(shown_count, total, fmt, limit_flag)
        if more:
            parts.append(more)
    click.echo(render(*parts), nl=False)
