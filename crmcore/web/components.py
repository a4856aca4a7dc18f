"""The web side of the UI contract (:mod:`crmcore.ui`): the Jinja globals and tests the component
templates
(``_components.html``) use, and :func:`render_panel`, which renders one plugin's panel on its own so
that a
component of an unknown kind or a value that cannot be formatted costs that panel only: the page
shows
which plugin failed and the error is logged with the plugin's name."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any, Callable

import attrs
from jinja2 import Environment, pass_context
from markupsafe import Markup

from .. import ui
from ..domain.money import Money
from ..services.profile import ProfileSection, warn_deprecated
from ..ui import ComponentError, groups
from .charts import bar_chart
from .i18n import translate

log = logging.getLogger("crmcore.web")

NUMERIC = ("number", "money", "percent")


@attrs.frozen
class ChartView:
    bars: list[dict[str, Any]]
    height: int
    row_height: int
    truncated: int


def chart_view(chart: ui.Chart, fmt) -> ChartView:
    """The geometry of the kernel's SVG bar chart (:func:`crmcore.web.charts.bar_chart`) with the
    bars'
    labels and values formatted for the reader."""
    lang = fmt.lang
    numbers: list[Decimal] = []
    for _, value in chart.bars:
        if isinstance(value, Money):
            numbers.append(value.amount)
        else:
            numbers.append(Decimal(str(value)) if not isinstance(value, Decimal) else value)
    geometry = bar_chart(["label", "value"], [[i, n] for i, n in enumerate(numbers)], "value")
    bars = []
    for bar in geometry.bars if geometry else []:
        label, value = chart.bars[int(bar.label)]
        bars.append(
            {
                "label": ui.text_of(label, lang),
                "value": fmt.format(value, chart.kind),
                "y": bar.y,
                "width": bar.width,
                "negative": bar.negative,
            }
        )
    return ChartView(
        bars,
        geometry.height if geometry else 0,
        geometry.row_height if geometry else 0,
        geometry.truncated if geometry else 0,
    )


def install(env: Environment) -> None:
    """Give the environment what ``_components.html`` uses."""

    @pass_context
    def ui_text(ctx, value) -> str:
        """A plugin's text in the page's language, with the language's digits."""
        from .render import formatter_of

        fmt = formatter_of(ctx)
        return (
            fmt.digits(ui.text_of(value, fmt.lang)) if fmt.persian else ui.text_of(value, fmt.lang)
        )

    @pass_context
    def ui_chart(ctx, chart: ui.Chart) -> ChartView:
        from .render import formatter_of

        return chart_view(chart, formatter_of(ctx))

    @pass_context
    def ui_may(ctx, access: str) -> bool:
        may = ctx.get("may")
        return bool(may(access)) if callable(may) else False

    env.globals.update(
        ui_groups=groups, ui_text=ui_text, ui_chart=ui_chart, ui_may=ui_may, ui_numeric=NUMERIC
    )
    env.tests.update(
        ui_badge=lambda v: isinstance(v, ui.Badge),
        ui_link=lambda v: isinstance(v, ui.Link),
        ui_progress=lambda v: isinstance(v, ui.Progress),
        ui_label=lambda v: isinstance(v, ui.Label),
        ui_list=lambda v: isinstance(v, (list, tuple)),
    )


@attrs.frozen
class ShownPanel:
    """A plugin's panel as HTML, or the error that kept it from showing."""

    plugin: str
    key: str
    title: str
    html: Markup | None
    error: bool = False


def title_of(contribution, lang: str) -> str:
    if isinstance(contribution, ProfileSection):
        return (
            contribution.title_fa if lang == "fa" and contribution.title_fa else contribution.title
        )
    return ui.text_of(contribution.title, lang)


def failed(plugin: str, lang: str) -> ShownPanel:
    message = translate("The panel of plugin {plugin} could not be shown.", lang).format(
        plugin=plugin
    )
    return ShownPanel(
        plugin,
        plugin,
        plugin,
        Markup('<p class="error" role="alert">{}</p>').format(message),
        error=True,
    )


def render_panel(
    env: Environment,
    plugin: str,
    contribution,
    *,
    lang: str,
    variables: dict[str, Any],
    may: Callable[[str], bool],
    panel_templates: dict[str, Any] | None = None,
    strict: bool = False,
) -> ShownPanel:
    """One plugin's :class:`crmcore.ui.Panel` (or deprecated :class:`ProfileSection`) as HTML.
    Anything that
    goes wrong renders as :func:`failed` and is logged with the plugin's name (``strict``: raises,
    for
    tests)."""
    try:
        legacy = isinstance(contribution, ProfileSection)
        if legacy:
            warn_deprecated(contribution, plugin)
        elif not isinstance(contribution, ui.Panel):
            raise ComponentError(
                f"crm_customer_profile returned {type(contribution).__name__}, "
                "not a crmcore.ui.Panel"
            )
        html = env.get_template("_ui_panel.html").render(
            variables,
            lang=lang,
            plugin=plugin,
            panel=None if legacy else contribution,
            legacy=contribution if legacy else None,
            may=may,
            panel_templates=panel_templates or {},
        )
        return ShownPanel(plugin, contribution.key, title_of(contribution, lang), Markup(html))
    except Exception:  # noqa: BLE001 - one plugin's bad panel must not cost the page
        if strict:
            raise
        log.exception("the panel of plugin %r could not be rendered", plugin)
        return failed(plugin, lang)


def renders(
    env: Environment,
    plugin: str,
    items,
    *,
    lang: str,
    variables: dict[str, Any],
    may: Callable[[str], bool] = lambda access: False,
    template: str = "_ui_items.html",
) -> Markup | None:
    """``items`` of one plugin (components of :mod:`crmcore.ui`) as HTML, or ``None`` when they
    cannot be shown (logged with the plugin's name): the customer page checks each plugin's part
    of its header and timeline this way before showing them together (its quick actions with
    ``template="_ui_quick.html"``: each a folded form)."""
    try:
        return Markup(
            env.get_template(template).render(
                variables, lang=lang, plugin=plugin, components=list(items), may=may
            )
        )
    except Exception:  # noqa: BLE001 - one plugin's bad values must not cost the page
        log.exception("the components of plugin %r could not be rendered", plugin)
        return None
