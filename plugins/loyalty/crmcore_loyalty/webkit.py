"""Pages of the club's plugins (loyalty, tiers, transfers) on the kernel's UI contract: blocks of
:mod:`crmcore.ui` components and forms whose refusals show the service's one-line reason beside the
field it names, with nothing stored (the service call runs in a savepoint that is rolled back).

Tiers and transfers use it through :mod:`crmcore_loyalty.api` (they require loyalty)."""

from __future__ import annotations

from typing import Any, Callable

import attrs

from crmcore.api import Conflict, CRMError, Forbidden, NotFound, ui

TEMPLATE = "crmcore_loyalty:templates/page.html"
#: how a refusal answers: the status the kernel gives the same error on its own pages
STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409}


@attrs.define
class Input:
    """One field of a :class:`Form`; ``error`` is the refusal shown beside it."""

    name: str
    label: ui.Label | str
    kind: str = "text"  # text, number, money, tel, search, select, textarea, hidden, date
    value: Any = ""
    options: list[tuple[str, Any]] = attrs.field(factory=list)
    required: bool = False
    hint: ui.Label | str | None = None
    error: str | None = None
    #: other field names a service gives for this input (a voucher ``code`` is its ``voucher``)
    also: tuple[str, ...] = ()


@attrs.define
class Form:
    """A form posting (or getting) to ``action`` (a full local path such as ``/p/loyalty/...``)."""

    action: str
    inputs: list[Input]
    submit: ui.Label | str
    method: str = "post"
    title: ui.Label | str | None = None
    error: str | None = None
    tone: str = "neutral"
    note: ui.Label | str | None = None
    key: str = ""

    def refuse(self, exc: CRMError) -> None:
        """Show ``exc`` beside the input it names (or above the form)."""
        message = exc.message if getattr(exc, "field", None) else str(exc)
        for field in self.inputs:
            if (field.name == exc.field or exc.field in field.also) and field.kind != "hidden":
                field.error = message
                return
        self.error = message

    def fill(self, values: dict[str, Any] | None) -> "Form":
        """Keep what the user typed (after a refusal)."""
        for field in self.inputs:
            if values and field.name in values and field.kind != "hidden":
                field.value = values[field.name]
        return self


@attrs.define
class Block:
    """A card of the page: a title, components, forms."""

    title: ui.Label | str | None = None
    items: list[Any] = attrs.field(factory=list)
    forms: list[Form] = attrs.field(factory=list)
    wide: bool = False
    #: a code people type or read out (a voucher): shown as written, Latin digits, left to right
    code: str | None = None
    code_label: ui.Label | str | None = None


def attempt(uow, action: Callable[[], Any]) -> tuple[Any, CRMError | None]:
    """Run a service call in a savepoint: its result, or the refusal it raised with its writes
    undone."""
    try:
        with uow.session.begin_nested():
            return action(), None
    except CRMError as exc:
        if isinstance(exc, Forbidden):
            raise
        return None, exc


def page(
    ctx,
    title: ui.Label,
    blocks: list[Block],
    *,
    status: int = 200,
    lead: ui.Label | str | None = None,
    fmt=None,
):
    """The page: ``title`` in the reader's language, then ``blocks`` as cards."""
    heading = ui.text_of(title, ctx.lang)
    variables: dict[str, Any] = {
        "heading": heading,
        "blocks": blocks,
        "lead": lead,
        "plugin": ctx.plugin,
        "may": lambda level: ctx.user.can(level, ctx.plugin),
    }
    if fmt is not None:
        variables["fmt"] = fmt
    response = ctx.render(TEMPLATE, title=heading, **variables)
    response.status_code = status
    return response


def refused_status(exc: CRMError) -> int:
    return STATUS.get(type(exc), 422)


def form_value(ctx, name: str, limit: int = 2000) -> str:
    value = (ctx.body or {}).get(name) if isinstance(ctx.body, dict) else None
    return value.strip()[:limit] if isinstance(value, str) else ""


def body_value(ctx, name: str) -> Any:
    """A field of a JSON body (API routes)."""
    return ctx.body.get(name) if isinstance(ctx.body, dict) else None
