"""Server-side HTML: the Jinja2 environment (auto-escaped everywhere), its filters for dates, digits and money
in the user's language, plugin templates named ``"package:path.html"``, and the generic profile panel."""
from __future__ import annotations

import importlib.resources
import re
from typing import Any

from jinja2 import BaseLoader, ChoiceLoader, Environment, FileSystemLoader, TemplateNotFound, pass_context
from markupsafe import Markup

from .i18n import digits, show_date, show_money, show_time, translate

TEMPLATES = importlib.resources.files("crmcore.web") / "templates"


class PackageTemplateLoader(BaseLoader):
    """Loads ``"crmcore_loyalty:web/panel.html"`` from the installed package ``crmcore_loyalty``."""

    def get_source(self, environment, template):
        package, sep, path = template.partition(":")
        if not sep or not package.replace("_", "").replace(".", "").isalnum() or ".." in path.split("/"):
            raise TemplateNotFound(template)
        try:
            resource = importlib.resources.files(package).joinpath(path)
            source = resource.read_text(encoding="utf-8")
        except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError, TypeError):
            raise TemplateNotFound(template) from None
        return source, f"{package}:{path}", lambda: True


def _lang(ctx) -> str:
    return ctx.get("lang", "fa")


def _tz(ctx) -> str:
    return ctx.get("tz", "Asia/Tehran")


_AMOUNT = re.compile(r"^-?[1-9][0-9]{3,}(\.[0-9]+)?$")


def humanise(key: Any) -> str:
    return str(key).replace("_", " ").strip().capitalize()


def make_environment() -> Environment:
    env = Environment(loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), PackageTemplateLoader()]),
                      autoescape=True, trim_blocks=True, lstrip_blocks=True, auto_reload=False)

    @pass_context
    def t(ctx, text: str) -> str:
        return translate(text, _lang(ctx))

    @pass_context
    def jdate(ctx, value: Any) -> str:
        return show_date(value, _lang(ctx), _tz(ctx))

    @pass_context
    def jdatetime(ctx, value: Any) -> str:
        return show_date(value, _lang(ctx), _tz(ctx), with_time=True)

    @pass_context
    def hhmm(ctx, value: Any) -> str:
        return show_time(value, _lang(ctx), _tz(ctx))

    @pass_context
    def num(ctx, value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:,}"
        return digits(value, _lang(ctx))

    @pass_context
    def money(ctx, amount: Any, currency: str | None = None) -> str:
        return show_money(amount, currency, _lang(ctx))

    @pass_context
    def value(ctx, v: Any) -> str:
        """A scalar from a plugin's data, shown in the user's language (dates, digits, yes/no)."""
        lang = _lang(ctx)
        if v is None or v == "":
            return "—"
        if isinstance(v, bool):
            return translate("yes" if v else "no", lang)
        if isinstance(v, int):
            return digits(f"{v:,}", lang)
        text = str(v)
        if len(text) >= 10 and text[4:5] == "-" and text[7:8] == "-":
            shown = show_date(text, lang, _tz(ctx), with_time=len(text) > 10)
            if shown != digits(text, lang):
                return shown
        if _AMOUNT.match(text):  # an exact amount as reports and plugins send them ("5000000"): grouped
            whole, dot, fraction = text.partition(".")
            return digits(f"{int(whole):,}{dot}{fraction}", lang)
        return digits(text, lang) if text.replace(".", "", 1).replace("-", "", 1).isdigit() else text

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
        return digits(text, _lang(ctx))

    env.globals["t"] = t
    env.globals["columns"] = table_columns
    @pass_context
    def label(ctx, key: Any) -> str:
        """A data key as a heading: ``open_tickets`` → "Open tickets" (Persian when the table knows it)."""
        return translate(humanise(key), _lang(ctx))

    env.filters.update(phone=phone, jdate=jdate, jdatetime=jdatetime, hhmm=hhmm, num=num, money=money, value=value,
                       humanise=label)
    env.tests["mapping"] = lambda v: isinstance(v, dict)
    env.tests["sequence_of_mappings"] = lambda v: isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)
    env.tests["scalar_list"] = lambda v: isinstance(v, list) and all(not isinstance(x, (dict, list)) for x in v)
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
