"""The pages of everyday work: customer search, the customer 360° page, reports with charts and CSV, calls,
the audit log. Reads open read-only units of work; every change is one unit acting as the user."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from .. import ui
from ..domain.money import DEFAULT_CURRENCY
from ..errors import CRMError, Forbidden
from ..reports.display import label_of, totals_lines
from ..services import customer_view
from ..services.access import check_customer, customer_allowed
from ..services.customers import add_customer, customer_to_dict, get_customer, update_customer
from ..services.interactions import record_interaction
from ..storage.models import AuditEntry, Interaction
from .auth import Principal
from .charts import bar_chart, numeric_columns
from .components import renders
from .deps import WebError, form_text, page_user, state
from .i18n import translate
from .panels import gather_panels, render_panels
from .reports_view import report_titles, run_named, to_csv
from .view import redirect, render

CUSTOMER_FIELDS = (
    "name",
    "phone",
    "email",
    "tags",
    "city",
    "address",
    "birthday",
    "external_id",
    "owner",
)


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    # --- customers (the list is in customer_list.py) -----------------------------------------------
    @r.get("/customers/new")
    def new_customer(
        request: Request, phone: str = "", user: Principal = Depends(page_user("write"))
    ):
        return render(
            request,
            "customer_form.html",
            user,
            title="New customer",
            form={"phone": phone[:40]},
            error=None,
        )

    @r.post("/customers/new")
    async def create_customer(request: Request, user: Principal = Depends(page_user("write"))):
        form = await request.form()
        values = {k: form_text(form, k) for k in CUSTOMER_FIELDS}

        def store() -> int:
            with state(request).unit(user) as uow:
                return add_customer(
                    uow,
                    name=values["name"],
                    phones=[values["phone"]] if values["phone"] else [],
                    emails=[values["email"]] if values["email"] else [],
                    tags=[t for t in values["tags"].replace("،", ",").split(",") if t.strip()],
                    city=values["city"],
                    address=values["address"],
                    birthday=values["birthday"] or None,
                    external_id=values["external_id"],
                    owner=values["owner"],
                ).id

        try:
            cid = await run_in_threadpool(store)
        except CRMError as exc:
            return render(
                request,
                "customer_form.html",
                user,
                status=422,
                title="New customer",
                form=values,
                error=str(exc),
            )
        return redirect(f"/customers/{cid}", "saved")

    @r.get("/customers/{customer_id:int}")
    def customer_page(request: Request, customer_id: int, user: Principal = Depends(page_user())):
        return _customer_page(request, user, customer_id)

    @r.post("/customers/{customer_id:int}/edit")
    async def edit_customer(
        request: Request, customer_id: int, user: Principal = Depends(page_user("write"))
    ):
        form = await request.form()
        fields: dict[str, Any] = {
            k: form_text(form, k) for k in ("city", "address", "owner", "birthday")
        }
        name = form_text(form, "name")

        def store() -> None:
            with state(request).unit(user) as uow:
                update_customer(
                    uow,
                    customer_id,
                    name=name or None,
                    add_phones=[p for p in [form_text(form, "add_phone")] if p],
                    add_emails=[e for e in [form_text(form, "add_email")] if e],
                    add_tags=[t for t in [form_text(form, "add_tag")] if t],
                    **fields,
                )

        try:
            await run_in_threadpool(store)
        except Forbidden:
            raise
        except CRMError as exc:
            return _customer_page(request, user, customer_id, error=str(exc), status=422)
        return redirect(f"/customers/{customer_id}", "saved")

    @r.post("/customers/{customer_id:int}/note")
    async def add_note(
        request: Request, customer_id: int, user: Principal = Depends(page_user("write"))
    ):
        form = await request.form()
        text = form_text(form, "text", limit=4000)

        def store() -> None:
            if not text:
                raise CRMError("write the note first", field="text")
            with state(request).unit(user) as uow:
                customer = get_customer(uow.session, customer_id)
                check_customer(uow, customer, "write")
                note = record_interaction(
                    uow, customer, kind="note", channel="web", payload={"text": text}
                )
                uow.audit(
                    "record", "interaction", note.id, {"kind": "note"}, customer_id=customer.id
                )

        try:
            await run_in_threadpool(store)
        except Forbidden:
            raise
        except CRMError as exc:
            return _customer_page(request, user, customer_id, error=str(exc), status=422)
        return redirect(f"/customers/{customer_id}", "saved")

    @r.post("/customers/{customer_id:int}/sale")
    async def record_sale(
        request: Request, customer_id: int, user: Principal = Depends(page_user("write"))
    ):
        form = await request.form()
        values = {k: form_text(form, k, limit=100) for k in ("amount", "currency", "receipt")}
        unit = state(request).formatter("en").money_unit

        def store() -> None:
            with state(request).unit(user) as uow:
                customer = get_customer(uow.session, customer_id)
                check_customer(uow, customer, "write")
                currency = values["currency"] or DEFAULT_CURRENCY
                sale = record_interaction(
                    uow,
                    customer,
                    kind="purchase",
                    channel="web",
                    amount=values["amount"],
                    currency=currency,
                    unit=unit if currency == "IRR" else None,
                    external_id=values["receipt"] or None,
                )
                uow.audit(
                    "record", "interaction", sale.id, {"kind": "purchase"}, customer_id=customer.id
                )

        try:
            await run_in_threadpool(store)
        except Forbidden:
            raise
        except CRMError as exc:
            return _customer_page(
                request, user, customer_id, error=str(exc), status=422, sale=values
            )
        return redirect(f"/customers/{customer_id}", "saved")

    # --- reports --------------------------------------------------------------------------------
    @r.get("/reports")
    def reports(request: Request, user: Principal = Depends(page_user())):
        registry = report_titles(state(request), user)
        return render(
            request, "reports.html", user, title="Reports", reports=list(registry.values())
        )

    @r.get("/reports/{name}.csv")
    def report_csv(request: Request, name: str, user: Principal = Depends(page_user())):
        result = _run(request, user, name)
        filename = name.replace("/", "_").replace('"', "")
        return Response(
            to_csv(result),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
        )

    @r.get("/reports/{name}")
    def report(request: Request, name: str, user: Principal = Depends(page_user())):
        web = state(request)
        registry = report_titles(web, user)
        if name not in registry:
            raise WebError(404, "Page not found.")
        q = request.query_params
        try:
            result = _run(request, user, name)
            error = None
        except CRMError as exc:
            result, error = None, str(exc)
        chart = bar_chart(result["columns"], result["rows"], q.get("chart")) if result else None
        numeric = numeric_columns(result["columns"], result["rows"]) if result else []
        lang = web.language(request, user)
        fmt = web.formatter(lang)
        totals = [
            (label_of(path, lambda text: translate(text, lang)), shown)
            for path, shown in totals_lines(result["totals"] if result else None, fmt)
        ]
        return render(
            request,
            "report.html",
            user,
            status=422 if error else 200,
            title="Report",
            fmt=fmt,
            totals=totals,
            report=registry[name],
            result=result,
            error=error,
            chart=chart,
            numeric=numeric,
            params={
                "from": q.get("from", "")[:20],
                "to": q.get("to", "")[:20],
                "period": q.get("period", "month"),
                "calendar": q.get("calendar") or ("jalali" if lang == "fa" else "gregorian"),
            },
            csv_query=request.url.query,
            options=[o for o in q.getlist("option")[:20] if o],
        )

    # --- calls and audit ------------------------------------------------------------------------
    @r.get("/calls")
    def calls(request: Request, user: Principal = Depends(page_user())):
        from .events import recent_pops

        with state(request).unit(user, readonly=True) as uow:
            pops = recent_pops(uow, user, limit=20)
        return render(request, "calls.html", user, title="Calls", pops=pops)

    @r.get("/audit")
    def audit(
        request: Request,
        actor: str = "",
        customer: int | None = None,
        user: Principal = Depends(page_user("manage")),
    ):
        with state(request).unit(user, readonly=True) as uow:
            q = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(200)
            if actor:
                q = q.where(AuditEntry.actor == actor[:100])
            if customer is not None:
                q = q.where(AuditEntry.customer_id == customer)
            entries = list(uow.session.scalars(q))
        return render(
            request,
            "audit.html",
            user,
            title="Audit log",
            entries=entries,
            actor=actor[:100],
            customer=customer,
        )

    return r


def _run(request: Request, user: Principal, name: str) -> dict[str, Any]:
    q = request.query_params
    lang = state(request).language(request, user)
    period = q.get("period") or "month"
    calendar = q.get("calendar") or ("jalali" if lang == "fa" else "gregorian")
    return run_named(
        state(request),
        user,
        name,
        q.get("from") or None,
        q.get("to") or None,
        period,
        calendar,
        [o for o in q.getlist("option")[:20] if o],
    )


def _before(request: Request) -> datetime | None:
    """The timeline page's ``?before=`` (an ISO moment; one without a zone is UTC)."""
    raw = request.query_params.get("before", "")[:40]
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise WebError(422, f"{raw!r} is not a moment (ISO 8601)", field="before") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _customer_page(
    request: Request,
    user: Principal,
    customer_id: int,
    *,
    error: str | None = None,
    status: int = 200,
    sale: dict[str, str] | None = None,
):
    web = state(request)
    lang = web.language(request, user)
    before = _before(request)
    only = request.query_params.get("only", "")[:60] or None
    may_read = lambda plugin: user.can("read", plugin)  # noqa: E731
    with web.unit(user, readonly=True) as uow:
        customer = get_customer(uow.session, customer_id)
        check_customer(uow, customer, "read")
        data = customer_to_dict(customer, with_sections=False)
        may_write = user.can("write") and customer_allowed(uow, customer, "write")
        panels = gather_panels(uow, customer, may_read)
        facts = customer_view.summary(uow, customer, may_read)
        page = customer_view.timeline(uow, customer, before=before, only=only, may_read=may_read)
        quick = customer_view.actions(uow, customer, may_read) if may_write else []
        currencies = customer_currencies(uow, customer.id) if may_write else []
    if customer.id != customer_id:
        return redirect(f"/customers/{customer.id}")
    fmt = web.formatter(lang)
    variables = {"fmt": fmt, "tz": web.crm.timezone, "csrf": user.csrf, "customer": data}
    shown = render_panels(
        web,
        panels,
        lang=lang,
        may=lambda plugin, access: user.can(access, plugin),
        variables=variables,
    )
    failed = [c.plugin for c in facts if c.error] + page.failed
    head: list = []
    for c in facts:  # each plugin's facts are checked on their own, then shown together
        if (
            c.items
            and renders(web.templates, c.plugin, c.items, lang=lang, variables=variables)
            is not None
        ):
            head += c.items
        elif c.items:
            failed.append(c.plugin)
    stats = [i for i in head if not isinstance(i, ui.Badge)]
    badges = [i for i in head if isinstance(i, ui.Badge)]
    by_plugin: dict[str, list] = {}
    for plugin, entry in page.entries:
        by_plugin.setdefault(plugin, []).append(entry)
    bad = {
        p
        for p, items in by_plugin.items()
        if renders(web.templates, p, items, lang=lang, variables=variables) is None
    }
    entries = [e for p, e in page.entries if p not in bad]
    failed += sorted(bad)
    actions = []
    for c in quick:
        html = renders(
            web.templates,
            c.plugin,
            c.items,
            lang=lang,
            variables=variables,
            may=lambda access, plugin=c.plugin: user.can(access, plugin),
            template="_ui_quick.html",
        )
        if html is None or c.error:
            failed.append(c.plugin)
        elif c.items:
            actions.append(html)
    titles = {p.plugin: p.title for p in shown if not p.error}
    shown_sources = set(page.sources) | ({only} if only else set())
    sources = [(p, titles.get(p, p)) for p in sorted(shown_sources) if p != customer_view.KERNEL]
    phone_actions = [
        {
            "href": f"/p/{plugin}{a.path}",
            "key": a.key,
            "label": a.label_fa if lang == "fa" and a.label_fa else a.label,
        }
        for plugin, a in web.contributions.phone_actions
        if user.can(a.access, plugin) and (a.available is None or a.available(web.crm))
    ]
    return render(
        request,
        "customer.html",
        user,
        status=status,
        title="Customer",
        c=data,
        panels=shown,
        error=error,
        can_write=may_write,
        fmt=fmt,
        head_stats=stats,
        head_badges=badges,
        timeline=entries,
        sources=sources,
        only=only,
        before=before,
        older=page.before,
        failed=sorted(set(failed)),
        actions=actions,
        currencies=currencies,
        sale=sale or {},
        money_unit=fmt.money_unit_name("IRR"),
        phone_actions=phone_actions,
    )


def customer_currencies(uow, customer_id: int) -> list[str]:
    """The currencies a sale may be recorded in: the default first, then those the customer has
    bought in."""
    used = uow.session.scalars(
        select(Interaction.currency)
        .distinct()
        .where(Interaction.customer_id == customer_id, Interaction.currency.is_not(None))
    )
    return [DEFAULT_CURRENCY, *sorted(c for c in used if c != DEFAULT_CURRENCY)]
