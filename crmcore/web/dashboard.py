"""The dashboard at ``/``: widgets (:class:`crmcore.ui.Panel`) from the kernel (sales, new
customers, retention) and from plugins (``crm_web_dashboard_widgets``). Every figure is read from
a report through :meth:`Dashboard.stat`, which runs the report exactly as ``crm reports run NAME
--from … --to … --json`` does and links the figure to that report's page, so a figure always
equals the report behind it."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request

from .. import ui
from ..domain.dates import format_date, jalali_month_bounds, jalali_month_key
from ..domain.money import Money
from ..reports import ReportParams, report_registry, run_report
from ..reports.kernel import RETENTION_BENCHMARKS
from .auth import Principal
from .components import failed, render_panel
from .deps import api_user, page_user, state
from .view import render

log = logging.getLogger("crmcore.web")


class Dashboard:
    """What a widget gets besides the unit of work and the user: today, this month in the reader's
    calendar, and figures read from reports (:meth:`stat`, :meth:`report`), each remembered in
    :attr:`figures` with the report's name, parameters and the path of the value in its JSON
    (``/api/dashboard`` lists them)."""

    def __init__(self, uow, user, *, calendar: str = "jalali", tz: str = "Asia/Tehran"):
        self.uow = uow
        self.user = user
        self.calendar = calendar
        self.tz = tz
        self.today: date = uow.now().astimezone(ZoneInfo(tz)).date()
        self.figures: list[dict[str, Any]] = []
        self._results: dict[tuple, dict[str, Any]] = {}
        self.plugin: str | None = None  # set while a plugin's widgets are built
        self._registry = report_registry(uow)

    # --- periods ----------------------------------------------------------------------------------
    def month(self, back: int = 0) -> tuple[date, date]:
        """First and last day of this month (``back`` months earlier), Jalali when the calendar is."""
        if self.calendar == "jalali":
            year, month = (int(x) for x in jalali_month_key(self.today).split("-"))
            year, month = divmod(year * 12 + month - 1 - back, 12)
            first, next_first = jalali_month_bounds(year, month + 1)
            return first, next_first - timedelta(days=1)
        year, month = divmod(self.today.year * 12 + self.today.month - 1 - back, 12)
        first = date(year, month + 1, 1)
        nxt = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
        return first, nxt - timedelta(days=1)

    @property
    def month_period(self) -> str:
        return "jalali_month" if self.calendar == "jalali" else "month"

    # --- reports and figures ----------------------------------------------------------------------
    def params(
        self,
        start: date | None = None,
        end: date | None = None,
        period: str = "month",
        options: dict[str, str] | None = None,
    ) -> ReportParams:
        return ReportParams(
            start=start,
            end=end,
            calendar=self.calendar,
            period=period,
            timezone=self.tz,
            options=dict(options or {}),
        )

    def report(
        self,
        name: str,
        *,
        start: date | None = None,
        end: date | None = None,
        period: str = "month",
        options: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        """The report's JSON (``crm reports run NAME … --json``), run once per page for the same
        arguments."""
        key = (name, start, end, period, tuple(sorted((options or {}).items())))
        if key not in self._results:
            self._results[key] = run_report(
                self.uow, name, self.params(start, end, period, options), registry=self._registry
            )
        return self._results[key]

    def href(
        self,
        name: str,
        *,
        start: date | None = None,
        end: date | None = None,
        period: str = "month",
        options: dict[str, str] | None = None,
    ) -> str:
        """The report's page with the same parameters (dates in the reader's calendar)."""
        pairs = [
            ("from", format_date(start, self.calendar)) if start else None,
            ("to", format_date(end, self.calendar)) if end else None,
            ("period", period),
            ("calendar", self.calendar),
        ]
        pairs += [("option", f"{k}={v}") for k, v in sorted((options or {}).items())]
        return f"/reports/{name}?" + urlencode([p for p in pairs if p])

    def value(
        self,
        name: str,
        path: str,
        *,
        start: date | None = None,
        end: date | None = None,
        period: str = "month",
        options: dict[str, str] | None = None,
        default: Any = 0,
    ) -> Any:
        """The value at ``path`` (``totals.overdue``, ``totals.by_currency.IRR.net``) of the
        report's JSON; ``default`` when the report has no such entry (no sales in the month: no
        IRR row)."""
        node: Any = self.report(name, start=start, end=end, period=period, options=options)
        for part in path.split("."):
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return default
        return default if node is None else node

    def stat(
        self,
        label: ui.Text,
        name: str,
        path: str,
        *,
        kind: str = "number",
        currency: str | None = None,
        minor: bool = False,
        start: date | None = None,
        end: date | None = None,
        period: str = "month",
        options: dict[str, str] | None = None,
        hint: ui.Text | None = None,
        tone: str = "neutral",
        default: Any = 0,
    ) -> ui.Stat:
        """A :class:`crmcore.ui.Stat` showing one value of a report and linking to that report.
        Money: the report's decimal amount in ``currency``, or its count of minor units with
        ``minor=True``."""
        raw = self.value(
            name, path, start=start, end=end, period=period, options=options, default=default
        )
        shown: Any = raw
        if kind == "money":
            shown = (
                Money(int(raw), currency or "IRR")
                if minor
                else Money.of(str(raw), currency or "IRR")
            )
        elif kind in ("number", "percent") and isinstance(raw, str):
            shown = Decimal(raw)
        self.figures.append(
            {
                "plugin": self.plugin,
                "report": name,
                "path": path,
                "value": raw,
                "kind": kind,
                "currency": currency if kind == "money" else None,
                "minor": minor,
                "from": start.isoformat() if start else None,
                "to": end.isoformat() if end else None,
                "period": period,
                "calendar": self.calendar,
                "options": dict(options or {}),
                "label": ui.text_of(label, "en"),
            }
        )
        return ui.Stat(
            label,
            shown,
            kind=kind,
            hint=hint,
            tone=tone,
            href=self.href(name, start=start, end=end, period=period, options=options),
        )


def fmt_currency(code: str) -> str:
    """A currency's Persian name (``ریال``), or its code."""
    from ..formatting import CURRENCY_NAMES_FA

    return CURRENCY_NAMES_FA.get(code, code)


def change_hint(now: Any, before: Any, label: ui.Label) -> ui.Label | None:
    """ "+12% on last month" from two figures (nothing when there is nothing to compare with)."""
    now, before = Decimal(str(now or 0)), Decimal(str(before or 0))
    if not before:
        return None
    pct = ((now - before) * 100 / before).quantize(Decimal(1))
    sign = "+" if pct > 0 else ""
    from ..domain.text import to_persian_digits

    return ui.Label(
        f"{sign}{pct}% {label.en}", f"{to_persian_digits(f'{sign}{pct}')}٪ {label.fa or label.en}"
    )


# --- the kernel's own widgets ---------------------------------------------------------------------
def kernel_widgets(d: Dashboard) -> list[ui.Panel]:
    user = d.user
    panels: list[ui.Panel] = []
    first, last = d.month()
    prev_first, prev_last = d.month(1)
    new_now = d.stat(
        ui.Label("New customers this month", "مشتریان جدید این ماه"),
        "customers.summary",
        "totals.customers",
        start=first,
        end=last,
        period=d.month_period,
    )
    new_then = d.stat(
        ui.Label("Last month", "ماه گذشته"),
        "customers.summary",
        "totals.customers",
        start=prev_first,
        end=prev_last,
        period=d.month_period,
    )
    new_before = new_then.value
    panels.append(
        ui.Panel(
            key="customers",
            title=ui.Label("Customers", "مشتریان"),
            order=20,
            items=[
                ui.Stat(
                    new_now.label,
                    new_now.value,
                    kind="number",
                    href=new_now.href,
                    hint=change_hint(
                        new_now.value, new_before, ui.Label("on last month", "نسبت به ماه گذشته")
                    ),
                ),
                new_then,
                ui.Link(ui.Label("All customers", "همه مشتریان"), "/customers"),
            ],
        )
    )
    if not user.can("manage"):
        return panels
    # every currency sold in this month or the last (rials always, so an empty month shows 0)
    currencies = {"IRR"}
    for a, b in ((first, last), (prev_first, prev_last)):
        found = d.value(
            "sales.by_period",
            "totals.by_currency",
            start=a,
            end=b,
            period=d.month_period,
            default={},
        )
        currencies.update(found if isinstance(found, dict) else {})
    items: list = []
    for currency in sorted(currencies, key=lambda c: (c != "IRR", c)):
        net = f"totals.by_currency.{currency}.net"
        suffix = len(currencies) > 1
        sales_now = d.stat(
            ui.Label(
                f"Sales this month ({currency})" if suffix else "Sales this month",
                f"فروش این ماه ({fmt_currency(currency)})" if suffix else "فروش این ماه",
            ),
            "sales.by_period",
            net,
            kind="money",
            currency=currency,
            start=first,
            end=last,
            period=d.month_period,
        )
        sales_then = d.stat(
            ui.Label("Last month", "ماه گذشته"),
            "sales.by_period",
            net,
            kind="money",
            currency=currency,
            start=prev_first,
            end=prev_last,
            period=d.month_period,
        )
        purchases = d.stat(
            ui.Label("Purchases this month", "تعداد خرید این ماه"),
            "sales.by_period",
            f"totals.by_currency.{currency}.purchases",
            start=first,
            end=last,
            period=d.month_period,
        )
        items += [
            ui.Stat(
                sales_now.label,
                sales_now.value,
                kind="money",
                href=sales_now.href,
                hint=change_hint(
                    sales_now.value.amount,
                    sales_then.value.amount,
                    ui.Label("on last month", "نسبت به ماه گذشته"),
                ),
            ),
            sales_then,
            purchases,
        ]
    panels.append(ui.Panel(key="sales", title=ui.Label("Sales", "فروش"), order=10, items=items))
    rate = d.stat(
        ui.Label("Retention, last 12 months", "نگهداشت مشتری، ۱۲ ماه اخیر"),
        "customers.retention",
        "totals.retention_pct",
        kind="percent",
        default=None,
    )
    base = d.value("customers.retention", "totals.customers_before")
    again = d.value("customers.retention", "totals.bought_again")
    bars: list[tuple[ui.Text, Any]] = []
    if rate.value is not None:  # without last year's buyers there is no rate to set beside them
        bars.append((ui.Label("This business", "این کسب‌وکار"), rate.value))
    names = {
        "retail": ("Retail", "خرده‌فروشی"),
        "it_services": ("IT services", "فناوری اطلاعات"),
        "professional_services": ("Professional services", "خدمات حرفه‌ای"),
    }
    bars += [(ui.Label(*names[k]), v) for k, v in RETENTION_BENCHMARKS.items()]
    panels.append(
        ui.Panel(
            key="retention",
            title=ui.Label("Retention", "نگهداشت مشتری"),
            order=30,
            items=[
                ui.Stat(
                    rate.label,
                    rate.value,
                    kind="percent",
                    href=rate.href,
                    hint=(
                        ui.Label(
                            f"{again:,} of {base:,} of last year's buyers bought again",
                            f"{_fa_int(again)} از {_fa_int(base)} خریدار سال قبل دوباره خریدند",
                        )
                        if base
                        else ui.Label(
                            "Not enough history yet: nobody bought in the year before",
                            "هنوز سابقه کافی نیست: در سال قبل از آن خریدی ثبت نشده",
                        )
                    ),
                ),
                ui.Chart(
                    bars,
                    kind="percent",
                    title=ui.Label("Against the industry figures", "در برابر ارقام صنعت"),
                ),
            ],
        )
    )
    return panels


def _fa_int(n: int) -> str:
    from ..domain.text import to_persian_digits

    return to_persian_digits(f"{n:,}".replace(",", "٬"))


def build_widgets(uow, user, *, calendar: str, tz: str) -> tuple[Dashboard, list[tuple[str, Any]]]:
    """The kernel's widgets and those of the plugins the user may read, as ``(plugin, panel or
    None)``: ``None`` when the plugin's hook failed (logged with its name; the page shows which)."""
    d = Dashboard(uow, user, calendar=calendar, tz=tz)
    out: list[tuple[str, Any]] = []
    d.plugin = "crmcore"
    try:
        out += [("crmcore", p) for p in kernel_widgets(d)]
    except Exception:  # noqa: BLE001 - the plugins' widgets are still worth showing
        log.exception("the kernel's dashboard widgets failed")
        out.append(("crmcore", None))
    for impl in uow.plugins.hook.crm_web_dashboard_widgets.get_hookimpls():
        plugin = impl.plugin_name
        if not user.can("read", plugin):
            continue
        d.plugin = plugin
        kwargs = {"uow": uow, "user": user, "dashboard": d}
        try:
            with uow.session.begin_nested():
                panels = list(impl.function(*[kwargs[a] for a in impl.argnames]) or ())
        except Exception:  # noqa: BLE001 - one plugin's failure costs its widgets only
            log.exception("the dashboard widgets of plugin %r failed", plugin)
            out.append((plugin, None))
            continue
        out += [(plugin, p) for p in panels]
    d.plugin = None
    out.sort(key=lambda item: (getattr(item[1], "order", 10**6), getattr(item[1], "key", item[0])))
    return d, out


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def gather(request: Request, user: Principal, lang: str):
        web = state(request)
        calendar = "jalali" if lang == "fa" else "gregorian"
        with web.unit(user, readonly=True) as uow:
            return build_widgets(uow, user, calendar=calendar, tz=web.crm.timezone)

    @r.get("/")
    def home(request: Request, user: Principal = Depends(page_user())):
        web = state(request)
        lang = web.language(request, user)
        d, widgets = gather(request, user, lang)
        fmt = web.formatter(lang)
        shown = []
        for plugin, panel in widgets:
            if panel is None:
                shown.append(failed(plugin, lang))
                continue
            shown.append(
                render_panel(
                    web.templates,
                    plugin,
                    panel,
                    lang=lang,
                    variables={"fmt": fmt, "tz": web.crm.timezone, "csrf": user.csrf},
                    may=lambda access, plugin=plugin: user.can(access, plugin),
                )
            )
        return render(
            request,
            "dashboard.html",
            user,
            title="Dashboard",
            widgets=shown,
            today=d.today,
            fmt=fmt,
        )

    @r.get("/api/dashboard")
    def dashboard_json(request: Request, user: Principal = Depends(api_user())):
        """The dashboard's figures, each with the report, parameters and JSON path it was read from."""
        lang = state(request).language(request, user)
        d, widgets = gather(request, user, lang)
        return {
            "today": d.today.isoformat(),
            "calendar": d.calendar,
            "widgets": [
                {"plugin": p, "key": getattr(w, "key", None), "failed": w is None}
                for p, w in widgets
            ],
            "figures": d.figures,
        }

    return r
