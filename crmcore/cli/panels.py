"""The CLI side of the UI contract (:mod:`crmcore.ui`): plugin panels as text with rich, every value
through
the same :class:`crmcore.formatting.Formatter` as the web. Tables fold long cells instead of cutting
them, so
they stay readable at 80 columns, also when stdout is not a terminal. Actions are web forms and are
not
shown here. A panel that cannot be rendered prints one line naming its plugin; the error is
logged."""

from __future__ import annotations

import logging
import re
from typing import Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from .. import ui
from ..formatting import EMPTY, Formatter
from ..services.profile import PluginPanel, ProfileSection, warn_deprecated

log = logging.getLogger("crmcore.cli")
NUMERIC = ("number", "money", "percent")
#: a cell that is a figure (grouped digits, Latin or Persian, with an optional sign, decimals, unit
#: or %)
_FIGURE = re.compile(r"^(-?[0-9۰-۹][0-9۰-۹,٬]*([.٫][0-9۰-۹]+)?(%|٪| \S+)?|—)$")
TONE_STYLES = {
    "neutral": "",
    "info": "cyan",
    "success": "green",
    "warning": "yellow",
    "danger": "red",
}


def _text(value: ui.Text | None, fmt: Formatter) -> str:
    """A plugin's text in the reader's language, with the language's digits."""
    text = ui.text_of(value, fmt.lang)
    return fmt.digits(text) if fmt.persian else text


def shown(value: Any, fmt: Formatter, kind: str = "auto", places: int | None = None) -> Text:
    """One value as styled text: badges in brackets with their tone, links by their text, progress
    as %."""
    if isinstance(value, ui.Badge):
        return Text(f"[{_text(value.text, fmt)}]", style=TONE_STYLES[value.tone])
    if isinstance(value, ui.Link):
        return Text(_text(value.text, fmt))
    if isinstance(value, ui.Progress):
        return Text(fmt.percent(round(value.fraction * 100)))
    if isinstance(value, ui.Label):
        return Text(_text(value, fmt))
    if isinstance(value, (list, tuple)):
        if not value:
            return Text(EMPTY)
        return Text(fmt.join(shown(v, fmt, kind, places).plain for v in value))
    return Text(fmt.format(value, kind, places=places))


def _pairs(rows: list[tuple[str, Text]]) -> Table:
    grid = Table(show_header=False, box=None, padding=(0, 2, 0, 0), expand=False)
    grid.add_column(style="dim", no_wrap=True, max_width=30)
    grid.add_column(overflow="fold")
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def table_renderable(table: ui.Table, fmt: Formatter, width: int) -> RenderableType:
    """Columns when they fit in ``width``; else each row as its own block of label/value lines (a
    table
    squeezed into 80 columns would cut every cell to a few letters)."""
    parts: list[RenderableType] = []
    if table.title:
        parts.append(Text(_text(table.title, fmt), style="bold"))
    if not table.rows:
        parts.append(Text(_text(table.empty, fmt) if table.empty else EMPTY, style="dim"))
        return Group(*parts)
    labels = [_text(c.label, fmt) for c in table.columns]
    cells = [
        [
            shown(
                row.get(c.key),
                fmt,
                c.kind if c.kind not in ("badge", "link", "progress") else "auto",
                c.places,
            )
            for c in table.columns
        ]
        for row in table.rows
    ]
    natural = sum(
        max([cell_len(label)] + [cell_len(r[i].plain) for r in cells]) + 2
        for i, label in enumerate(labels)
    )
    if natural <= width:
        out = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))
        for i, (c, label) in enumerate(zip(table.columns, labels)):
            numeric = c.kind in NUMERIC or (
                all(_FIGURE.match(r[i].plain) for r in cells)
                and any(r[i].plain != EMPTY for r in cells)
            )
            out.add_column(label, justify="right" if numeric else "left", no_wrap=True)
        for row in cells:
            out.add_row(*row)
        parts.append(out)
    else:
        for n, row in enumerate(cells):
            if n:
                parts.append(Text("·" * 3, style="dim"))
            parts.append(
                _pairs(
                    [(label, value) for label, value in zip(labels, row) if value.plain != EMPTY]
                )
            )
    if table.total is not None and table.total > len(table.rows):
        more = (
            f"{fmt.number(len(table.rows))} از {fmt.number(table.total)}"
            if fmt.persian
            else f"{fmt.number(len(table.rows))} of {fmt.number(table.total)}"
        )
        parts.append(Text(more, style="dim"))
    return Group(*parts)


def _progresses(items: list[ui.Progress], fmt: Formatter) -> RenderableType:
    width = 16
    grid = Table(show_header=False, box=None, padding=(0, 1, 0, 0))
    grid.add_column(overflow="fold")
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True)
    hints = []
    for p in items:
        filled = round(p.fraction * width)
        bar = Text("█" * filled, style="green")
        bar.append("░" * (width - filled), style="dim")
        grid.add_row(
            _text(p.label, fmt),
            bar,
            f"{fmt.format(p.value, p.kind)} / {fmt.format(p.goal, p.kind)}",
        )
        if p.hint:
            hints.append(Text(_text(p.hint, fmt), style="dim"))
    return Group(grid, *hints)


def _chart(chart: ui.Chart, fmt: Formatter) -> RenderableType:
    from decimal import Decimal

    from ..domain.money import Money

    values = [v.amount if isinstance(v, Money) else Decimal(str(v)) for _, v in chart.bars]
    largest = max((abs(v) for v in values), default=Decimal(0)) or Decimal(1)
    grid = Table(show_header=False, box=None, padding=(0, 1, 0, 0))
    grid.add_column(no_wrap=True, max_width=24)
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right", no_wrap=True)
    for (label, value), number in zip(chart.bars, values):
        grid.add_row(
            _text(label, fmt),
            "█" * max(1, round(abs(number) / largest * 24)),
            fmt.format(value, chart.kind),
        )
    return Group(Text(_text(chart.title, fmt), style="bold"), grid) if chart.title else grid


def renderables(items, fmt: Formatter, width: int = 76) -> list[RenderableType]:
    """Components as rich renderables (runs of stats and of timeline entries are gathered)."""
    out: list[RenderableType] = []
    for kind, item in ui.groups(items):
        if kind == "stats":
            line = Text()
            for n, stat in enumerate(item):
                if n:
                    line.append("   ")
                line.append(_text(stat.label, fmt) + " ", style="dim")
                line.append_text(_stat(stat, fmt))
            out.append(line)
        elif kind == "fields":
            out.append(
                _pairs(
                    [
                        (_text(f.label, fmt), shown(f.value, fmt, f.kind, f.places))
                        for f in item.fields
                    ]
                )
            )
        elif kind == "table":
            out.append(table_renderable(item, fmt, width))
        elif kind == "progresses":
            out.append(_progresses(item, fmt))
        elif kind == "timeline":
            grid = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
            grid.add_column(no_wrap=True)
            grid.add_column(overflow="fold")
            for e in item:
                line = Text()
                if e.kind:
                    line.append(f"[{_text(e.kind, fmt)}] ", style=TONE_STYLES[e.tone])
                line.append(_text(e.title, fmt))
                if e.value is not None:
                    line.append("  ").append_text(shown(e.value, fmt, e.value_kind, None))
                if e.detail:
                    line.append(" — " + _text(e.detail, fmt), style="dim")
                grid.add_row(fmt.moment(e.at), line)
            out.append(grid)
        elif kind == "badges":
            out.append(Text(" ").join(shown(b, fmt) for b in item))
        elif kind == "chart":
            out.append(_chart(item, fmt))
        elif kind == "section":
            inner = renderables(item.items, fmt, width)
            if item.title:
                inner.insert(0, Text(_text(item.title, fmt), style="bold"))
            out.append(Group(*inner))
        # actions are forms of the web interface: nothing to show in text
    return out


def _stat(s: ui.Stat, fmt: Formatter) -> Text:
    value = shown(s.value, fmt, s.kind, s.places)
    value.stylize("bold " + TONE_STYLES[s.tone])
    if s.hint:
        value.append(f"  ({_text(s.hint, fmt)})", style="dim")
    return value


def panel_renderable(
    p: PluginPanel, fmt: Formatter, width: int = 80, *, strict: bool = False
) -> RenderableType:
    """One plugin's panel with its title; or one line naming the plugin whose panel failed
    (``strict``:
    raises instead, for tests)."""
    failed = Text(
        f"بخش افزونهٔ «{p.plugin}» نمایش داده نشد."
        if fmt.persian
        else f"The panel of plugin {p.plugin} could not be shown.",
        style="red",
    )
    if p.section is None:
        return Group(Text(p.plugin, style="bold underline"), failed)
    try:
        section = p.section
        if isinstance(section, ProfileSection):
            warn_deprecated(section, p.plugin)
            title = section.title_fa if fmt.persian and section.title_fa else section.title
            body: list[RenderableType] = [_legacy(section.data, fmt)]
        elif isinstance(section, ui.Panel):
            title = _text(section.title, fmt)
            body = renderables(section.items, fmt, width - 2)
        else:
            raise TypeError(
                f"crm_customer_profile returned {type(section).__name__}, not a crmcore.ui.Panel"
            )
        # render now, so a value that cannot be formatted fails here, inside the panel's own try
        Console(file=_Null(), width=width).print(*body)
        return Group(
            Text(title, style="bold underline"), Padding(Group(*body), (0, 0, 0, 2), expand=False)
        )
    except Exception:  # noqa: BLE001 - one plugin's bad panel must not cost the profile
        if strict:
            raise
        log.exception("the panel of plugin %r could not be rendered", p.plugin)
        return Group(Text(p.plugin, style="bold underline"), failed)


def _legacy(data: Any, fmt: Formatter) -> RenderableType:
    """A deprecated dict section: its keys humanised, nested values on their own lines."""
    rows = []
    for key, value in (data or {}).items():
        label = str(key).replace("_", " ").capitalize()
        if isinstance(value, dict):
            rows.append((label, _legacy(value, fmt)))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            rows.append((label, Group(*[_legacy(v, fmt) for v in value])))
        else:
            rows.append((label, shown(value, fmt)))
    return _pairs(rows)


class _Null:
    def write(self, _text: str) -> int:
        return 0

    def flush(self) -> None:
        pass
