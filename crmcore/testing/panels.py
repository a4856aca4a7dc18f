"""Render one plugin's customer-profile panel the way the kernel shows it, for plugins' tests: as
the HTML
of the 360° page (Persian or English) and as the text of ``crm customers show``. Both raise when the
panel
cannot be rendered (an unknown component, a value that cannot be formatted), instead of showing the
"could not be shown" notice a user would see."""

from __future__ import annotations

import io
import re


def _panel(uow, customer_id: int, plugin: str):
    from ..services.customers import get_customer
    from ..services.profile import gather_panels

    customer = get_customer(uow.session, customer_id)
    [found] = [p for p in gather_panels(uow, customer, lambda name: name == plugin)] or [None]
    if found is None:
        raise AssertionError(f"plugin {plugin!r} gave no panel for customer {customer_id}")
    if found.section is None:
        raise AssertionError(f"the profile hook of plugin {plugin!r} failed: {found.error}")
    return found


def panel_html(
    app, customer_id: int, plugin: str, *, lang: str = "fa", access: str = "admin"
) -> str:
    """The panel's title and body as the customer page renders them in ``lang`` (``fa``: Jalali
    dates,
    Persian digits and labels), for a user whose level for the plugin is ``access``."""
    from ..formatting import formatter_for
    from ..web.components import render_panel
    from ..web.contrib import LEVELS
    from ..web.render import make_environment

    with app.unit_of_work(readonly=True) as uow:
        found = _panel(uow, customer_id, plugin)
        fmt = formatter_for(uow, lang)
    shown = render_panel(
        make_environment(),
        plugin,
        found.section,
        lang=lang,
        strict=True,
        variables={"fmt": fmt, "tz": fmt.tz, "csrf": "test-csrf"},
        may=lambda wanted: LEVELS.index(access) >= LEVELS.index(wanted),
    )
    return f"<h2>{shown.title}</h2>\n{shown.html}"


def panel_text(app, customer_id: int, plugin: str, *, lang: str = "en", width: int = 80) -> str:
    """The panel as ``crm customers show`` prints it (``lang``, the app's calendar and zone),
    ``width``
    columns wide, without colours."""
    from rich.console import Console

    from ..cli.panels import panel_renderable
    from ..formatting import Formatter, money_unit_of

    with app.unit_of_work(readonly=True) as uow:
        found = _panel(uow, customer_id, plugin)
        fmt = Formatter.for_app(app, lang=lang, money_unit=money_unit_of(uow))
    out = io.StringIO()
    Console(file=out, width=width, color_system=None).print(
        panel_renderable(found, fmt, width, strict=True)
    )
    return out.getvalue()


_LABELS = re.compile(
    r'<(h2|h3|dt|th)\b[^>]*>(.*?)</\1>|<span class="(?:ui-stat-label|ui-badge[^"]*)">(.*?)</span>',
    re.S,
)
_PERSIAN = re.compile(r"[\u0600-\u06ff]")


def persian_panel_problems(html: str) -> list[str]:
    """What is wrong with a panel's HTML on a Persian page: a heading, label, column or badge
    without Persian
    text (a raw key or English), Latin digits in the shown text, or a date written with ``-``."""
    problems = []
    for match in _LABELS.finditer(html):
        text = re.sub(r"<[^>]*>", "", match.group(2) or match.group(3) or "").strip()
        if text and not _PERSIAN.search(text):
            problems.append(f"label without Persian: {text!r}")
    shown = re.sub(r"<[^>]*>", " ", html)
    for digits in re.findall(r"[0-9]+", shown):
        problems.append(f"Latin digits: {digits!r}")
    if re.search(r"[۰-۹]{4}-[۰-۹]{2}", shown):
        problems.append("a date written with '-' (it breaks apart in right-to-left text)")
    return problems


def assert_persian_panel(html: str) -> None:
    """Fail with every problem :func:`persian_panel_problems` finds."""
    problems = persian_panel_problems(html)
    assert not problems, "the panel on a Persian page:\n" + "\n".join(problems)
