"""Server-side HTML: the Jinja2 environment (auto-escaped everywhere), its filters for dates, digits and money
in the user's language (all through the page's :class:`crmcore.formatting.Formatter`), plugin
templates named ``"package:path.html"``, and the generic profile panel."""

from __future__ import annotations

import importlib.resources
from decimal import Decimal
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    TemplateNotFound,
    pass_context,
)
from markupsafe import Markup

from ..domain.money import Money
from ..formatting import EMPTY, Formatter, read_moment
from .i18n import translate

TEMPLATES = importlib.resources.files("crmcore.web") / "templates"


class PackageTemplateLoader(BaseLoader):
    """Loads ``"crmcore_loyalty:web/panel.html"`` from the installed package ``crmcore_loyalty``."""

    def get_source(self, environment, template):
        package, sep, path = template.partition(":")
        if (
            not sep
            or not package.replace("_", "").replace(".", "").isalnum()
            or ".." in path.split("/")
        ):
            raise TemplateNotFound(template)
        try:
            resource = importlib.resources.files(package).joinpath(path)
            source = resource.read_text(encoding="utf-8")
        except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, TypeError):
            raise TemplateNotFound(template) from None
        return source, f"{package}:{path}", lambda: True


def _lang(ctx) -> str:
    return ctx.get("lang", "fa")


def formatter_of(ctx) -> Formatter:
    """The page's :class:`Formatter` (``fmt``, set by :func:`crmcore.web.view.render`), else one
    for the page's language and zone."""
    fmt = ctx.get("fmt")
    if isinstance(fmt, Formatter):
        return fmt
    return Formatter.for_language(_lang(ctx), tz=ctx.get("tz") or None)


def humanise(key: Any) -> str:
    return str(key).replace("_", " ").strip().capitalize()


def make_environment() -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), PackageTemplateLoader()]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )

    @pass_context
    def t(ctx, text: str) -> str:
        return translate(text, _lang(ctx))

    @pass_context
    def jdate(ctx, value: Any) -> str:
        """A day in the reader's calendar (also of a datetime or an ISO string); other text
        unchanged."""
        if value not in (None, "") and read_moment(value) is None:
            return formatter_of(ctx).digits(value)
        return formatter_of(ctx).date(value)

    @pass_context
    def jdatetime(ctx, value: Any) -> str:
        if value not in (None, "") and read_moment(value) is None:
            return formatter_of(ctx).digits(value)
        return formatter_of(ctx).moment(value)

    @pass_context
    def hhmm(ctx, value: Any) -> str:
        return formatter_of(ctx).time(value)

    @pass_context
    def num(ctx, value: Any) -> str:
        fmt = formatter_of(ctx)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            return fmt.number(value)
        return fmt.digits(value)

    @pass_context
    def money(ctx, amount: Any, currency: str | None = None) -> str:
        """``Money`` as the reader reads it; or an amount in the major unit of ``currency`` (IRR
        when not given), as reports send them. Text that is not an amount is shown as it is."""
        fmt = formatter_of(ctx)
        if amount is None or amount == "":
            return EMPTY
        if not isinstance(amount, Money):
            try:
                amount = Money.of(str(amount), currency or "IRR")
            except Exception:  # noqa: BLE001 - show what was stored rather than fail the page
                return fmt.digits(f"{amount} {currency or ''}".strip())
        return fmt.money(amount)

    @pass_context
    def value(ctx, v: Any) -> str:
        """A scalar from a plugin's or a report's data, shown in the user's language (dates, digits,
        yes/no, grouped amounts): :meth:`Formatter.loose`."""
        return formatter_of(ctx).loose(v)

    @pass_context
    def phone(ctx, e164: Any) -> str:
        """Iranian numbers as Iranians write them (0912 123 4567), others in E.164; digits of the language."""
        text = str(e164 or "")
        if text.startswith("+98"):
            from ..domain.phones import Phone

            try:
                text = Phone(text).national()
            except Exception:  # noqa: BLE001 - show the stored form
                pass
        return formatter_of(ctx).digits(text)

    @pass_context
    def label(ctx, key: Any) -> str:
        """A data key as a heading: ``open_tickets`` → "Open tickets" (Persian when the table knows it)."""
        return translate(humanise(key), _lang(ctx))

    @pass_context
    def fmt_value(ctx, v: Any, kind: str = "auto", places: int | None = None) -> str:
        """``v`` formatted as ``kind`` (:meth:`Formatter.format`); raises for a value it cannot
        show."""
        return formatter_of(ctx).format(v, kind, places=places)

    @pass_context
    def parsed_phone(ctx, raw: Any) -> dict[str, Any]:
        """The kernel's reading of a typed phone number, shown beside the field
        (``forms.phone_preview``)."""
        from .forms import phone_preview

        return phone_preview(raw if isinstance(raw, str) else "", _lang(ctx))

    env.globals["t"] = t
    env.globals["parsed_phone"] = parsed_phone
    env.globals["columns"] = table_columns
    env.filters.update(
        phone=phone,
        jdate=jdate,
        jdatetime=jdatetime,
        hhmm=hhmm,
        num=num,
        money=money,
        value=value,
        humanise=label,
        fmt=fmt_value,
    )
    env.tests["mapping"] = lambda v: isinstance(v, dict)
    env.tests["pair"] = lambda v: (
        isinstance(v, (list, tuple))
        and len(v) == 2
        and not any(isinstance(x, (dict, list)) for x in v)
    )
    env.tests["sequence_of_mappings"] = lambda v: (
        isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
    )
    env.tests["scalar_list"] = lambda v: (
        isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v)
    )
    from .components import install

    install(env)
    return env


def table_columns(rows: list[dict[str, Any]], limit: int = 6) -> list[str]:
    """The keys of a list of records, in first-seen order (for the generic panel's tables)."""
    seen: dict[str, None] = {}
    for row in rows:
        for k in row:
            seen.setdefault(k, None)
    return list(seen)[:limit]


def markup(html: str) -> Markup:
    return Markup(html)
