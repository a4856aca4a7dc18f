"""The UI contract for plugins: typed components the kernel renders on the web (Jinja templates,
right to
left on Persian pages) and in the CLI (rich text), always through one
:class:`crmcore.formatting.Formatter`.

A plugin describes *what* to show, never how: values stay typed
(:class:`~crmcore.domain.money.Money`,
``Decimal``, ``int``, aware ``datetime`` in UTC, ``date``) and become text only when rendered, in
the
reader's language, calendar, digits, time zone and money unit. Texts a reader sees are
:class:`Label`
(English and Persian) or plain ``str`` (shown as given: a name, a subject typed by a user).

The hook ``crm_customer_profile`` returns a :class:`Panel`::

    from crmcore.api import ui, Money

    return ui.Panel(
        key="loyalty", title=ui.Label("Loyalty", "باشگاه مشتریان"), order=40,
        items=[ui.Stat(ui.Label("Balance", "مانده"), 1250, kind="number"),
               ui.Table(columns=[ui.Column("at", ui.Label("When", "زمان"), "moment"),
                                 ui.Column("points", ui.Label("Points", "امتیاز"), "number")],
                        rows=[{"at": entry.occurred_at, "points": entry.points}]),
               ui.Action(ui.Label("Redeem", "استفاده"), "/redeem", fields=[...])],
        data={"balance": 1250})  # the machine form for ``--json`` and the API (optional)

Components: :class:`Stat` (a KPI), :class:`FieldList` of :class:`Field`, :class:`Table` of typed
:class:`Column`, :class:`Progress` toward a goal, :class:`TimelineEntry`, :class:`Badge`,
:class:`Link`,
:class:`Action` (a button or small form posting to one of the plugin's page routes, with CSRF),
:class:`Chart` (the kernel's SVG bar chart), :class:`Section` (a titled group inside a panel) and
:class:`Panel` (one plugin's card: title, order, components).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping, Sequence, Union

import attrs

from .domain.money import Money

#: how a value is formatted (see :meth:`crmcore.formatting.Formatter.format`)
VALUE_KINDS = ("auto", "text", "number", "percent", "money", "date", "moment", "time")
#: what a table column holds: a value kind, or a badge, a link or a progress bar
COLUMN_KINDS = VALUE_KINDS + ("badge", "link", "progress")
TONES = ("neutral", "info", "success", "warning", "danger")
FIELD_KINDS = ("text", "textarea", "number", "money", "date", "select", "hidden")


@attrs.frozen
class Label:
    """A text in both languages: ``Label("Balance", "مانده")``. Without ``fa`` the English shows on
    Persian pages too (a test of each plugin checks it gives Persian)."""

    en: str
    fa: str | None = None

    def text(self, lang: str) -> str:
        return self.fa if lang == "fa" and self.fa else self.en


#: a text a reader sees: a :class:`Label`, or a ``str`` shown as given in both languages
Text = Union[Label, str]


def text_of(value: Text | None, lang: str) -> str:
    """The text of a :class:`Label` or ``str`` in ``lang`` (``""`` for ``None``)."""
    if value is None:
        return ""
    if isinstance(value, Label):
        return value.text(lang)
    return str(value)


def _one_of(allowed: tuple[str, ...]):
    def check(_instance, attribute, value):
        if value not in allowed:
            raise ValueError(f"{attribute.name} must be one of {', '.join(allowed)}, not {value!r}")

    return check


def _href(_instance, attribute, value):
    """Links stay inside the application or dial/mail (never ``javascript:`` or another site)."""
    if value is None:
        return
    if not isinstance(value, str) or not (
        (value.startswith("/") and not value.startswith("//"))
        or value.startswith(("tel:", "mailto:"))
    ):
        raise ValueError(f"{attribute.name} must be a local path, tel: or mailto:, not {value!r}")


def _text(_instance, attribute, value):
    if value is not None and not isinstance(value, (Label, str)):
        raise ValueError(f"{attribute.name} must be a Label or str, not {type(value).__name__}")


def _tuple(value) -> tuple:
    return tuple(value) if value is not None else ()


@attrs.frozen
class Badge:
    """A short status word in a coloured pill: ``Badge(Label("Gold", "طلایی"), tone="warning")``."""

    text: Text = attrs.field(validator=_text)
    tone: str = attrs.field(default="neutral", validator=_one_of(TONES))


@attrs.frozen
class Link:
    """A text linking to a page of the application (``/customers/12``, ``/p/tickets/tickets/3``)."""

    text: Text = attrs.field(validator=_text)
    href: str = attrs.field(validator=_href)


@attrs.frozen
class Stat:
    """A key figure (KPI) with its label: ``Stat(Label("Points", "امتیاز"), 1250, kind="number")``;
    ``hint`` a smaller line under it, ``href`` the list or report behind the figure."""

    label: Text = attrs.field(validator=_text)
    value: Any
    kind: str = attrs.field(default="auto", validator=_one_of(VALUE_KINDS))
    hint: Text | None = attrs.field(default=None, validator=_text)
    href: str | None = attrs.field(default=None, validator=_href)
    tone: str = attrs.field(default="neutral", validator=_one_of(TONES))
    places: int | None = None


@attrs.frozen
class Field:
    """A labelled value in a :class:`FieldList`. ``value`` may also be a :class:`Badge`, a
    :class:`Link`
    or a list of them."""

    label: Text = attrs.field(validator=_text)
    value: Any
    kind: str = attrs.field(default="auto", validator=_one_of(VALUE_KINDS))
    places: int | None = None


@attrs.frozen
class FieldList:
    """Labelled values, shown as a definition list (label beside value; stacked on a phone)."""

    fields: tuple[Field, ...] = attrs.field(converter=_tuple)


@attrs.frozen
class Column:
    """A table column: the row key it shows, its heading and what it holds (:data:`COLUMN_KINDS`).
    ``badge``/``link``/``progress`` columns hold :class:`Badge`/:class:`Link`/:class:`Progress`
    cells."""

    key: str
    label: Text = attrs.field(validator=_text)
    kind: str = attrs.field(default="text", validator=_one_of(COLUMN_KINDS))
    places: int | None = None


@attrs.frozen
class Table:
    """Rows (mappings of column key → value) under typed columns. ``total``: how many rows there are
    in
    all when ``rows`` shows only the first ones (the table then says so, with ``more_href`` to the
    rest);
    ``empty``: the text shown when there are no rows."""

    columns: tuple[Column, ...] = attrs.field(converter=_tuple)
    rows: tuple[Mapping[str, Any], ...] = attrs.field(converter=_tuple)
    title: Text | None = attrs.field(default=None, validator=_text)
    empty: Text | None = attrs.field(default=None, validator=_text)
    total: int | None = None
    more_href: str | None = attrs.field(default=None, validator=_href)


@attrs.frozen
class Progress:
    """Progress toward a goal: ``value`` of ``goal`` (numbers, or :class:`Money` of one currency),
    shown
    as a bar with both figures; ``hint`` says what reaching it means ("2,000,000 rials more to
    Gold")."""

    label: Text = attrs.field(validator=_text)
    value: Any
    goal: Any
    kind: str = attrs.field(default="number", validator=_one_of(("number", "money", "percent")))
    hint: Text | None = attrs.field(default=None, validator=_text)

    @property
    def fraction(self) -> float:
        """How far along, from 0 to 1."""
        value, goal = self.value, self.goal
        if isinstance(value, Money) or isinstance(goal, Money):
            if (
                not (isinstance(value, Money) and isinstance(goal, Money))
                or value.currency != goal.currency
            ):
                raise ValueError("progress in money needs value and goal in the same currency")
            value, goal = value.minor, goal.minor
        value, goal = Decimal(value), Decimal(goal)
        if goal <= 0:
            return 1.0
        return float(min(max(value / goal, Decimal(0)), Decimal(1)))


@attrs.frozen
class TimelineEntry:
    """Something that happened (or will) at ``at`` (aware UTC ``datetime``, or a ``date``): a title,
    an
    optional detail line, a kind word shown as a badge, a link, and a typed ``value`` shown beside
    the title (the amount of a purchase as :class:`Money`, points as a number: ``value_kind``)."""

    at: datetime | date
    title: Text = attrs.field(validator=_text)
    detail: Text | None = attrs.field(default=None, validator=_text)
    kind: Text | None = attrs.field(default=None, validator=_text)
    tone: str = attrs.field(default="neutral", validator=_one_of(TONES))
    href: str | None = attrs.field(default=None, validator=_href)
    value: Any = None
    value_kind: str = attrs.field(default="auto", validator=_one_of(VALUE_KINDS))


@attrs.frozen
class ActionField:
    """An input of an :class:`Action`'s form. ``options`` (for ``select``): pairs of value and
    text."""

    name: str
    label: Text = attrs.field(validator=_text)
    kind: str = attrs.field(default="text", validator=_one_of(FIELD_KINDS))
    value: Any = None
    options: tuple[tuple[str, Text], ...] = attrs.field(default=(), converter=_tuple)
    required: bool = False


@attrs.frozen
class Action:
    """A button, or a small form when it has ``fields``, that POSTs (with the user's CSRF token) to
    the
    plugin's page route ``path`` (``/deals/3/win`` → ``/p/<plugin>/deals/3/win``), declared by the
    plugin
    in ``crm_web_routes`` with ``methods=("POST",)``. Shown to users whose level for the plugin
    reaches
    ``access``; ``confirm`` asks before posting. The CLI lists actions by their label only."""

    label: Text = attrs.field(validator=_text)
    path: str = attrs.field(validator=_href)
    fields: tuple[ActionField, ...] = attrs.field(default=(), converter=_tuple)
    confirm: Text | None = attrs.field(default=None, validator=_text)
    tone: str = attrs.field(default="neutral", validator=_one_of(TONES))
    access: str = attrs.field(
        default="write", validator=_one_of(("read", "write", "manage", "admin"))
    )

    def target(self, plugin: str) -> str:
        return f"/p/{plugin}{self.path}"


@attrs.frozen
class Chart:
    """A horizontal bar chart (the kernel's inline SVG, no script): ``bars`` are pairs of label and
    value
    (numbers, or :class:`Money` of one currency with ``kind="money"``)."""

    bars: tuple[tuple[Text, Any], ...] = attrs.field(converter=_tuple)
    title: Text | None = attrs.field(default=None, validator=_text)
    kind: str = attrs.field(default="number", validator=_one_of(("number", "money", "percent")))


@attrs.frozen
class Section:
    """A titled group of components inside a panel."""

    title: Text | None = attrs.field(validator=_text)
    items: tuple[Any, ...] = attrs.field(converter=_tuple)


#: every component kind a panel may hold
COMPONENTS = (Stat, FieldList, Table, Progress, TimelineEntry, Badge, Link, Action, Chart, Section)
Component = Union[
    Stat, FieldList, Table, Progress, TimelineEntry, Badge, Link, Action, Chart, Section
]


class ComponentError(ValueError):
    """A panel holds something that is not a component of this module."""


KINDS: dict[type, str] = {
    Stat: "stat",
    FieldList: "fields",
    Table: "table",
    Progress: "progress",
    TimelineEntry: "timeline",
    Badge: "badge",
    Link: "link",
    Action: "action",
    Chart: "chart",
    Section: "section",
}
#: kinds shown together when they follow each other (a row of KPIs, one timeline, a row of buttons)
RUNS = {
    "stat": "stats",
    "timeline": "timeline",
    "badge": "badges",
    "link": "badges",
    "action": "actions",
    "progress": "progresses",
}


def kind_of(item: Any) -> str:
    """The kind of a component (``stat``, ``table``…); :class:`ComponentError` for anything else."""
    kind = KINDS.get(type(item))
    if kind is None:
        raise ComponentError(
            f"{type(item).__name__} is not a component of crmcore.ui "
            f"(known: {', '.join(sorted(KINDS.values()))})"
        )
    return kind


def groups(items) -> list[tuple[str, Any]]:
    """``items`` as ``(kind, item)`` for the renderers, with runs of stats, timeline entries, badges
    and
    actions gathered into one ``(run kind, [items])``. Raises :class:`ComponentError` for an unknown
    one."""
    out: list[tuple[str, Any]] = []
    for item in items:
        kind = kind_of(item)
        run = RUNS.get(kind)
        if run is not None:
            if out and out[-1][0] == run:
                out[-1][1].append(item)
            else:
                out.append((run, [item]))
        else:
            out.append((kind, item))
    return out


@attrs.frozen
class Panel:
    """One plugin's card on the customer's 360° page (and its part of ``crm customers show``).

    ``key`` names it (``--json`` shows it under ``sections.<key>``), ``title`` in both languages,
    ``order``
    places it among the others (lower first), ``items`` its components in order. ``data`` is the
    machine
    form for ``crm customers show --json`` and the API; without it that form is derived from the
    components (:func:`components_data`)."""

    key: str
    title: Text = attrs.field(validator=_text)
    items: tuple[Any, ...] = attrs.field(converter=_tuple)
    order: int = 100
    data: dict[str, Any] | None = None

    def json(self) -> dict[str, Any]:
        """The panel's machine form: ``data``, else :func:`components_data` of its items."""
        return self.data if self.data is not None else components_data(self.items)


def _plain(value: Any) -> Any:
    if isinstance(value, Money):
        return {"amount": str(value.amount), "currency": value.currency}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Label):
        return value.en
    if isinstance(value, (Badge, Link)):
        return _plain(value.text)
    if isinstance(value, Progress):
        return {"value": _plain(value.value), "goal": _plain(value.goal)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def components_data(items: Sequence[Any]) -> dict[str, Any]:
    """The JSON-ready form of components, for panels without ``data``: stats and fields by their
    English
    label, tables as lists of rows keyed by column key, timeline entries as a list, sections nested
    by
    title. Actions are left out (they are not data)."""
    out: dict[str, Any] = {}
    for item in items:
        if isinstance(item, (Stat, Field)):
            out[text_of(item.label, "en")] = _plain(item.value)
        elif isinstance(item, FieldList):
            out.update(components_data(item.fields))
        elif isinstance(item, Table):
            name = text_of(item.title, "en") or f"table_{len(out)}"
            out[name] = [{c.key: _plain(row.get(c.key)) for c in item.columns} for row in item.rows]
        elif isinstance(item, Progress):
            out[text_of(item.label, "en")] = _plain(item)
        elif isinstance(item, TimelineEntry):
            entry = {
                "at": _plain(item.at),
                "title": _plain(item.title),
                "detail": _plain(item.detail),
            }
            if item.value is not None:
                entry["value"] = _plain(item.value)
            out.setdefault("timeline", []).append(entry)
        elif isinstance(item, (Badge, Link)):
            out.setdefault("badges", []).append(_plain(item))
        elif isinstance(item, Chart):
            out[text_of(item.title, "en") or "chart"] = [
                [_plain(k), _plain(v)] for k, v in item.bars
            ]
        elif isinstance(item, Section):
            out[text_of(item.title, "en") or f"section_{len(out)}"] = components_data(item.items)
    return out
