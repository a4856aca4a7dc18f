"""The pipeline's pages on ``crm web`` (``/p/pipeline/…``): a deal's page (edit, move, win, lose,
reopen, log an activity, its stage history), the lead inbox and a lead's page (convert, disqualify),
the forecast and the targets per rep and Jalali month.

Every form posts to the service function the CLI calls; a refusal shows the CLI's own one-line
message beside the field it names, with the typed values kept, answered 422 (the kernel rolls back
a page answering an error: nothing is stored)."""

from __future__ import annotations

from datetime import date
from typing import Any, Callable

from crmcore.api import CRMError, Customer, Money, ui

from . import service

P = "/p/pipeline"
TEMPLATE = "crmcore_pipeline:templates/page.html"
L = ui.Label

STATUS = {
    "open": (L("Open", "باز"), "info"),
    "won": (L("Won", "برنده"), "success"),
    "lost": (L("Lost", "بازنده"), "danger"),
    "new": (L("New", "جدید"), "info"),
    "converted": (L("Converted", "تبدیل‌شده"), "success"),
    "disqualified": (L("Disqualified", "ردشده"), "neutral"),
}
KINDS = {
    "note": L("Note", "یادداشت"),
    "call": L("Call", "تماس"),
    "meeting": L("Meeting", "جلسه"),
    "email": L("Email", "ایمیل"),
    "message": L("Message", "پیام"),
    "visit": L("Visit", "بازدید"),
}


def status_badge(status: str) -> ui.Badge:
    label, tone = STATUS.get(status, (status, "neutral"))
    return ui.Badge(label, tone)


def named(name: str | None, name_en: str | None, lang: str) -> str:
    return (name_en or name or "") if lang == "en" else (name or name_en or "")


class Form:
    """A form of the page: where it posts, its fields (``ui.ActionField``) and its button."""

    def __init__(
        self,
        key: str,
        title: ui.Label,
        path: str,
        fields: list[ui.ActionField],
        button: ui.Label,
        *,
        tone: str = "neutral",
        access: str = "write",
        confirm: ui.Label | None = None,
    ):
        self.key, self.title, self.path, self.fields = key, title, path, fields
        self.button, self.tone, self.access, self.confirm = button, tone, access, confirm

    def keep(self, values: dict[str, str]) -> "Form":
        """The form with what the user typed (shown again after a refusal)."""
        self.fields = [
            ui.ActionField(
                f.name, f.label, f.kind, values.get(f.name, f.value), f.options, f.required
            )
            for f in self.fields
        ]
        return self


def page(
    ctx,
    heading: str | ui.Label,
    items: list,
    *,
    forms: list[Form] = (),
    error: CRMError | None = None,
    failed: str | None = None,
    status: int = 200,
    nav: list[ui.Link] = (),
    badges: list = (),
    cards: list[list] | None = None,
):
    """A page: ``items`` in one wide card (tables), or ``cards`` side by side where there is
    room (a deal's fields, its history), then the forms."""
    lang = ctx.lang
    title = ui.text_of(heading, lang)
    response = ctx.render(
        TEMPLATE,
        title=title,
        heading=heading,
        items=items,
        forms=forms,
        cards=cards or [],
        nav=nav,
        badges=badges,
        plugin="pipeline",
        may=lambda level: ctx.user.can(level, "pipeline"),
        error=error,
        failed=failed,
        # a refusal from a form this page no longer offers (the deal closed)
        loose=error if error and failed not in {f.key for f in forms} else None,
    )
    response.status_code = status
    return response


def attempt(ctx, form_key: str, action: Callable[[Any], str], again: Callable[..., Any]):
    """Run ``action(uow)`` (a service call) for a posted form: on success go to the page it
    returns; on a refusal draw the page again (``again(error=…, failed=…)``), answered 422."""
    from fastapi.responses import RedirectResponse

    try:
        target = action(ctx.uow)
    except CRMError as exc:
        ctx.uow.session.rollback()
        return again(error=exc, failed=form_key, values=ctx.body or {})
    return RedirectResponse(f"{target}?ok=saved", status_code=303)


def _text(values: dict, name: str) -> str | None:
    value = (values or {}).get(name)
    return value.strip() if isinstance(value, str) and value.strip() else None


# --- deal -----------------------------------------------------------------------------------------
def deal_page(
    ctx, *, error: CRMError | None = None, failed: str | None = None, values: dict | None = None
):
    uow, lang = ctx.uow, ctx.lang
    deal = service.get_deal(uow, ctx.path_params["deal_id"])
    customer = uow.session.get(Customer, deal.customer_id)
    from .sales import purchase_of

    purchase = purchase_of(uow, deal)
    money = deal.money
    weighted = (
        Money(service.weighted_minor(money.minor * deal.effective_probability), money.currency)
        if money
        else None
    )
    fields = [
        ui.Field(
            L("Customer", "مشتری"), ui.Link(customer.display_name, f"/customers/{customer.id}")
        ),
        ui.Field(L("Stage", "مرحله"), named(deal.stage.name, deal.stage.name_en, lang)),
        ui.Field(L("Owner", "مسئول"), deal.owner.name if deal.owner else None),
        ui.Field(L("Amount", "مبلغ"), money, kind="money"),
        ui.Field(L("Probability", "احتمال"), deal.effective_probability, kind="percent"),
        ui.Field(L("Weighted amount", "مبلغ وزنی"), weighted, kind="money"),
        ui.Field(L("Expected close", "تاریخ بسته‌شدن"), deal.expected_close, kind="date"),
        ui.Field(L("Next activity", "اقدام بعدی"), deal.next_activity),
        ui.Field(L("Next activity on", "تاریخ اقدام بعدی"), deal.next_activity_on, kind="date"),
        ui.Field(
            L("Source", "منبع"),
            named(deal.source.name, deal.source.name_en, lang) if deal.source else None,
        ),
        ui.Field(L("Opened", "ایجاد"), deal.created_at, kind="moment"),
    ]
    if deal.lead_id:
        fields.append(
            ui.Field(L("Lead", "سرنخ"), ui.Link(f"#{deal.lead_id}", f"{P}/leads/{deal.lead_id}"))
        )
    if deal.status != "open":
        fields += [
            ui.Field(L("Closed", "بسته‌شده"), deal.closed_at, kind="moment"),
            ui.Field(
                L("Reason", "دلیل"),
                named(deal.close_reason.name, deal.close_reason.name_en, lang)
                if deal.close_reason
                else None,
            ),
            ui.Field(L("Note", "یادداشت"), deal.close_note),
        ]
    if purchase is not None:
        fields.append(
            ui.Field(
                L("Recorded as purchase", "ثبت به‌عنوان خرید"),
                ui.Link(f"#{purchase.id}", f"/customers/{customer.id}"),
            )
        )
    history = [
        ui.TimelineEntry(
            h.at,
            (
                f"{named(h.from_stage.name, h.from_stage.name_en, lang)} ← "
                if lang == "fa"
                else f"{named(h.from_stage.name, h.from_stage.name_en, lang)} → "
            )
            + named(h.to_stage.name, h.to_stage.name_en, lang)
            if h.from_stage
            else named(h.to_stage.name, h.to_stage.name_en, lang),
            detail=" · ".join(x for x in (h.actor, h.note) if x),
            tone={"won": "success", "lost": "danger"}.get(h.to_stage.kind, "neutral"),
        )
        for h in reversed(service.deal_history(uow, deal))
    ]
    activities = ui.Table(
        columns=[
            ui.Column("at", L("When", "زمان"), "moment"),
            ui.Column("kind", L("Kind", "نوع"), "badge"),
            ui.Column("note", L("Note", "یادداشت")),
            ui.Column("actor", L("By", "توسط")),
        ],
        rows=[
            {
                "at": a.at,
                "kind": ui.Badge(KINDS.get(a.kind, a.kind)),
                "note": a.note,
                "actor": a.actor,
            }
            for a in reversed(service.deal_activities(uow, deal))
        ],
        title=L("Activities", "فعالیت‌ها"),
        empty=L("No activity logged yet.", "هنوز فعالیتی ثبت نشده."),
    )
    cards = [
        [ui.FieldList(fields)],
        [ui.Section(L("Stage history", "تاریخچهٔ مراحل"), history), activities],
    ]
    forms = deal_forms(uow, deal, lang)
    if failed and values is not None:
        forms = [f.keep(values) if f.key == failed else f for f in forms]
    return page(
        ctx,
        deal.title,
        [],
        cards=cards,
        forms=forms,
        error=error,
        failed=failed,
        status=422 if error else 200,
        badges=[status_badge(deal.status)],
        nav=[ui.Link(L("Board", "برد فروش"), "/boards/pipeline/deals")],
    )


def _options(pairs, lang: str, *, blank: ui.Label | None = None) -> list[tuple[str, str]]:
    out = [("", ui.text_of(blank, lang))] if blank else []
    return out + [(code, named(name, name_en, lang)) for code, name, name_en in pairs]


def deal_forms(uow, deal, lang: str) -> list[Form]:
    path = f"/deals/{deal.id}"
    if deal.status != "open":
        stages = [(s.code, s.name, s.name_en) for s in deal.pipeline.stages if s.kind == "open"]
        return [
            Form(
                "reopen",
                L("Reopen", "بازگشایی"),
                f"{path}/reopen",
                [
                    ui.ActionField(
                        "stage",
                        L("Into stage", "به مرحلهٔ"),
                        "select",
                        options=_options(
                            stages,
                            lang,
                            blank=L("the stage it was closed from", "مرحله‌ای که از آن بسته شد"),
                        ),
                    ),
                    ui.ActionField("note", L("Note", "یادداشت")),
                ],
                L("Reopen", "بازگشایی"),
            )
        ]
    stages = [
        (s.code, s.name, s.name_en)
        for s in deal.pipeline.stages
        if s.kind == "open" and s.id != deal.stage_id
    ]
    reasons = service.list_reasons(uow)
    won = [(r.code, r.name, r.name_en) for r in reasons if r.kind == "won" and r.active]
    lost = [(r.code, r.name, r.name_en) for r in reasons if r.kind == "lost" and r.active]
    reps = [(r.username, r.name, None) for r in service.list_reps(uow) if r.active]
    amount = str(deal.money.amount) if deal.money else None
    return [
        Form(
            "move",
            L("Move to another stage", "انتقال به مرحلهٔ دیگر"),
            f"{path}/move",
            [
                ui.ActionField(
                    "stage", L("Stage", "مرحله"), "select", options=_options(stages, lang)
                ),
                ui.ActionField("note", L("Note", "یادداشت")),
            ],
            L("Move", "انتقال"),
        ),
        Form(
            "win",
            L("Won", "برنده شد"),
            f"{path}/win",
            [
                ui.ActionField("amount", L("Won amount", "مبلغ نهایی"), "money", value=amount),
                ui.ActionField(
                    "reason",
                    L("Reason", "دلیل"),
                    "select",
                    options=_options(won, lang, blank=L("—", "—")),
                ),
                ui.ActionField("note", L("Note", "یادداشت")),
            ],
            L("Mark as won", "ثبت برد"),
            tone="success",
        ),
        Form(
            "lose",
            L("Lost", "از دست رفت"),
            f"{path}/lose",
            [
                ui.ActionField(
                    "reason",
                    L("Reason", "دلیل"),
                    "select",
                    options=_options(lost, lang, blank=L("choose a reason", "دلیل را انتخاب کنید")),
                ),
                ui.ActionField("note", L("Note", "یادداشت")),
            ],
            L("Mark as lost", "ثبت باخت"),
            tone="danger",
        ),
        Form(
            "log",
            L("Log an activity", "ثبت فعالیت"),
            f"{path}/log",
            [
                ui.ActionField(
                    "kind",
                    L("Kind", "نوع"),
                    "select",
                    options=[(k, ui.text_of(v, lang)) for k, v in KINDS.items()],
                ),
                ui.ActionField("note", L("Note", "یادداشت"), "textarea"),
                ui.ActionField(
                    "next_activity", L("Next activity", "اقدام بعدی"), value=deal.next_activity
                ),
                ui.ActionField(
                    "next_activity_on",
                    L("Next activity on", "تاریخ اقدام بعدی"),
                    "date",
                    value=_day(deal.next_activity_on, lang),
                ),
            ],
            L("Log", "ثبت"),
        ),
        Form(
            "edit",
            L("Edit", "ویرایش"),
            f"{path}/edit",
            [
                ui.ActionField("title", L("Title", "عنوان"), value=deal.title, required=True),
                ui.ActionField("amount", L("Amount", "مبلغ"), "money", value=amount),
                ui.ActionField(
                    "expected_close",
                    L("Expected close", "تاریخ بسته‌شدن"),
                    "date",
                    value=_day(deal.expected_close, lang),
                ),
                ui.ActionField(
                    "probability",
                    L("Probability (%)", "احتمال (٪)"),
                    "number",
                    value=deal.probability,
                ),
                ui.ActionField(
                    "owner",
                    L("Owner", "مسئول"),
                    "select",
                    value=deal.owner.username if deal.owner else "",
                    options=_options(reps, lang, blank=L("—", "—")),
                ),
            ],
            L("Save", "ذخیره"),
        ),
    ]


def _day(value: date | None, lang: str) -> str | None:
    if value is None:
        return None
    from crmcore.api import format_date, to_persian_digits

    if lang != "fa":
        return format_date(value, "gregorian")
    return to_persian_digits(format_date(value, "jalali").replace("-", "/"))


def _deal_action(run: Callable[[Any, int, dict], Any], form: str):
    def endpoint(ctx):
        deal_id = ctx.path_params["deal_id"]
        values = ctx.body or {}

        def action(uow):
            run(uow, deal_id, values)
            return f"{P}/deals/{deal_id}"

        return attempt(ctx, form, action, lambda **kw: deal_page(ctx, **kw))

    return endpoint


def _edit(uow, deal_id, v):
    changes = {
        "title": v.get("title") or "",
        "amount": _text(v, "amount"),
        "expected_close": _text(v, "expected_close"),
        "probability": _text(v, "probability"),
        "owner": _text(v, "owner"),
    }
    service.update_deal(uow, deal_id, **changes)


def _win(uow, deal_id, v):
    service.win_deal(
        uow, deal_id, amount=_text(v, "amount"), reason=_text(v, "reason"), note=_text(v, "note")
    )


def _lose(uow, deal_id, v):
    service.lose_deal(uow, deal_id, reason=_text(v, "reason"), note=_text(v, "note"))


def _move(uow, deal_id, v):
    from crmcore.api import ValidationError

    if not _text(v, "stage"):
        raise ValidationError("name the stage to move the deal to", field="stage")
    service.move_deal(uow, deal_id, _text(v, "stage"), note=_text(v, "note"))


def _reopen(uow, deal_id, v):
    service.reopen_deal(uow, deal_id, stage=_text(v, "stage"), note=_text(v, "note"))


def _log(uow, deal_id, v):
    service.log_activity(
        uow,
        deal_id,
        kind=_text(v, "kind") or "note",
        note=_text(v, "note"),
        next_activity=_text(v, "next_activity"),
        next_activity_on=_text(v, "next_activity_on"),
    )


# --- a new deal from the customer's 360° page ----------------------------------------------------
def new_deal_fields(values: dict | None = None) -> list[ui.ActionField]:
    v = values or {}
    return [
        ui.ActionField("title", L("Title", "عنوان"), value=v.get("title"), required=True),
        ui.ActionField("amount", L("Amount", "مبلغ"), "money", value=v.get("amount")),
        ui.ActionField(
            "expected_close",
            L("Expected close", "تاریخ بسته‌شدن"),
            "date",
            value=v.get("expected_close"),
        ),
    ]


def customer_actions(uow, customer) -> list[ui.Action]:
    """The 360° page's "new deal" (``crm_customer_actions``)."""
    return [
        ui.Action(
            L("New deal", "معاملهٔ جدید"),
            f"/customers/{customer.id}/deals",
            fields=new_deal_fields(),
            access="write",
        )
    ]


def new_deal_endpoint(ctx):
    """Open a deal for the customer of the path (:func:`.deals.create_deal`, as ``crm pipeline
    deals add``), then back to the customer's page; a refusal shows the form again with the
    reason beside its field."""
    from fastapi.responses import RedirectResponse

    from crmcore.api import check_customer, get_customer

    values = ctx.body or {}
    customer = get_customer(ctx.uow.session, ctx.path_params["customer_id"])
    check_customer(ctx.uow, customer, "write")
    try:
        with ctx.uow.session.begin_nested():
            service.create_deal(
                ctx.uow,
                customer=customer,
                title=values.get("title") or "",
                amount=_text(values, "amount"),
                expected_close=_text(values, "expected_close"),
                source=None,
            )
    except CRMError as exc:
        form = Form(
            "new",
            L("New deal", "معاملهٔ جدید"),
            f"/customers/{customer.id}/deals",
            new_deal_fields(values),
            L("Open the deal", "ثبت معامله"),
        )
        name = customer.display_name
        back = [ui.Link(name, f"/customers/{customer.id}")]
        return page(
            ctx,
            L(f"New deal for {name}", f"معاملهٔ جدید برای {name}"),
            [],
            forms=[form],
            error=exc,
            failed="new",
            status=422,
            nav=back,
        )
    return RedirectResponse(f"/customers/{customer.id}?ok=saved#timeline", status_code=303)


# --- leads ----------------------------------------------------------------------------------------
LEAD_FILTERS = (
    ("new", L("New", "جدید")),
    ("converted", L("Converted", "تبدیل‌شده")),
    ("disqualified", L("Disqualified", "ردشده")),
    ("all", L("All", "همه")),
)


def leads_page(ctx):
    uow, lang = ctx.uow, ctx.lang
    status = ctx.query.get("status") or "new"
    leads = service.list_leads(uow, status=status)
    rows = [
        {
            "id": ui.Link(f"#{lead.id}", f"{P}/leads/{lead.id}"),
            "title": ui.Link(lead.title, f"{P}/leads/{lead.id}"),
            "contact": lead.contact_name or lead.company or lead.email,
            "phone": _phone(lead.phone, lang),
            "source": named(lead.source.name, lead.source.name_en, lang),
            "owner": lead.owner.name if lead.owner else None,
            "created": lead.created_at,
            "status": status_badge(lead.status),
        }
        for lead in reversed(leads)
    ]
    table = ui.Table(
        columns=[
            ui.Column("id", "#", "link"),
            ui.Column("title", L("Lead", "سرنخ"), "link"),
            ui.Column("contact", L("Contact", "تماس‌گیرنده")),
            ui.Column("phone", L("Phone", "تلفن")),
            ui.Column("source", L("Source", "منبع")),
            ui.Column("owner", L("Owner", "مسئول")),
            ui.Column("created", L("Received", "دریافت"), "moment"),
            ui.Column("status", L("Status", "وضعیت"), "badge"),
        ],
        rows=rows,
        empty=L("No leads here.", "سرنخی اینجا نیست."),
    )
    nav = [
        ui.Link(label, f"{P}/leads?status={key}") for key, label in LEAD_FILTERS if key != status
    ]
    return page(
        ctx,
        L("Sales leads", "سرنخ‌های فروش"),
        [table],
        nav=nav,
        badges=[ui.Badge(dict(LEAD_FILTERS).get(status, status), "info")],
    )


def lead_page(
    ctx, *, error: CRMError | None = None, failed: str | None = None, values: dict | None = None
):
    uow, lang = ctx.uow, ctx.lang
    lead = service.get_lead(uow, ctx.path_params["lead_id"])
    data = service.lead_to_dict(uow, lead)
    fields = [
        ui.Field(L("Contact", "تماس‌گیرنده"), lead.contact_name),
        ui.Field(L("Company", "شرکت"), lead.company),
        ui.Field(L("Phone", "تلفن"), _phone(lead.phone, lang)),
        ui.Field(L("Email", "ایمیل"), lead.email),
        ui.Field(L("Source", "منبع"), named(lead.source.name, lead.source.name_en, lang)),
        ui.Field(L("Owner", "مسئول"), lead.owner.name if lead.owner else None),
        ui.Field(L("Received", "دریافت"), lead.created_at, kind="moment"),
        ui.Field(L("Note", "یادداشت"), lead.note),
    ]
    if lead.customer_id:
        name = uow.session.get(Customer, lead.customer_id).display_name
        fields.insert(
            0, ui.Field(L("Customer", "مشتری"), ui.Link(name, f"/customers/{lead.customer_id}"))
        )
    if data["deal_id"]:
        fields.append(
            ui.Field(
                L("Deal", "معامله"), ui.Link(f"#{data['deal_id']}", f"{P}/deals/{data['deal_id']}")
            )
        )
    if lead.disqualify_reason:
        fields.append(ui.Field(L("Why disqualified", "دلیل رد"), lead.disqualify_reason))
    forms: list[Form] = []
    if lead.status == "new":
        forms = [
            Form(
                "convert",
                L("Qualify: open a deal", "تأیید: ایجاد معامله"),
                f"/leads/{lead.id}/convert",
                [
                    ui.ActionField("title", L("Deal title", "عنوان معامله"), value=lead.title),
                    ui.ActionField("amount", L("Amount", "مبلغ"), "money"),
                    ui.ActionField("expected_close", L("Expected close", "تاریخ بسته‌شدن"), "date"),
                ],
                L("Convert to a deal", "تبدیل به معامله"),
                tone="success",
            ),
            Form(
                "disqualify",
                L("Disqualify", "رد سرنخ"),
                f"/leads/{lead.id}/disqualify",
                [ui.ActionField("reason", L("Why", "دلیل"), "textarea")],
                L("Disqualify", "رد کردن"),
                tone="danger",
            ),
        ]
    if failed and values is not None:
        forms = [f.keep(values) if f.key == failed else f for f in forms]
    return page(
        ctx,
        lead.title,
        [],
        cards=[[ui.FieldList(fields)]],
        forms=forms,
        error=error,
        failed=failed,
        status=422 if error else 200,
        badges=[status_badge(lead.status)],
        nav=[ui.Link(L("All leads", "همهٔ سرنخ‌ها"), f"{P}/leads")],
    )


def _phone(e164: str | None, lang: str) -> str | None:
    if not e164:
        return None
    from crmcore.api import parse_phone, to_persian_digits

    text = parse_phone(e164).national() if e164.startswith("+98") else e164
    # isolated left to right: the groups of a number keep their order inside Persian text
    return "\u2066" + (to_persian_digits(text) if lang == "fa" else text) + "\u2069"


def convert_endpoint(ctx):
    lead_id = ctx.path_params["lead_id"]
    v = ctx.body or {}

    def action(uow):
        _lead, deal, _created = service.convert_lead(
            uow,
            lead_id,
            title=_text(v, "title"),
            amount=_text(v, "amount"),
            expected_close=_text(v, "expected_close"),
        )
        return f"{P}/deals/{deal.id}"

    return attempt(ctx, "convert", action, lambda **kw: lead_page(ctx, **kw))


def disqualify_endpoint(ctx):
    lead_id = ctx.path_params["lead_id"]
    v = ctx.body or {}

    def action(uow):
        service.disqualify_lead(uow, lead_id, reason=_text(v, "reason") or "")
        return f"{P}/leads/{lead_id}"

    return attempt(ctx, "disqualify", action, lambda **kw: lead_page(ctx, **kw))


# --- forecast and targets -------------------------------------------------------------------------
def _report(uow, name: str, **options: str) -> dict:
    from crmcore.api import ReportParams, run_report

    return run_report(
        uow,
        name,
        ReportParams(
            calendar="jalali",
            period="month",
            timezone=uow.app.timezone,
            options={k: v for k, v in options.items() if v},
        ),
    )


def forecast_rows(uow, rep: str | None = None) -> list[dict[str, Any]]:
    """Open deals per rep and Jalali month of expected close: deals, amount, weighted amount (the
    ``pipeline.forecast`` report run per rep)."""
    reps = [service.get_rep(uow, rep)] if rep else service.list_reps(uow)
    rows = []
    for r in reps:
        for period, cur, n, amount, weighted in _report(uow, "pipeline.forecast", owner=r.username)[
            "rows"
        ]:
            rows.append(
                {
                    "rep": r.username,
                    "rep_name": r.name,
                    "period": period,
                    "currency": cur,
                    "deals": n,
                    "amount": amount,
                    "weighted_amount": weighted,
                }
            )
    return rows


def target_rows(uow, rep: str | None = None) -> list[dict[str, Any]]:
    """Each rep's target per Jalali month (or year) against won deals (``pipeline.targets``)."""
    result = _report(uow, "pipeline.targets", rep=rep or "")
    return [dict(zip(result["columns"], row, strict=True)) for row in result["rows"]]


def _rep_nav(uow, path: str, rep: str | None) -> list[ui.Link]:
    links = [ui.Link(L("All reps", "همهٔ فروشندگان"), path)] if rep else []
    return links + [
        ui.Link(r.name, f"{path}?rep={r.username}")
        for r in service.list_reps(uow)
        if r.username != rep
    ]


def forecast_page(ctx):
    uow = ctx.uow
    rep = ctx.query.get("rep") or None
    rows = forecast_rows(uow, rep)
    table = ui.Table(
        columns=[
            ui.Column("rep", L("Rep", "فروشنده")),
            ui.Column("period", L("Month", "ماه")),
            ui.Column("deals", L("Open deals", "معاملات باز"), "number"),
            ui.Column("amount", L("Amount", "مبلغ"), "money"),
            ui.Column("weighted", L("Weighted", "وزنی"), "money"),
        ],
        rows=[
            {
                "rep": r["rep_name"],
                "period": _month(r["period"], ctx.lang),
                "deals": r["deals"],
                "amount": Money.of(r["amount"], r["currency"]),
                "weighted": Money.of(r["weighted_amount"], r["currency"]),
            }
            for r in rows
        ],
        empty=L(
            "No open deals with an amount and an expected close.",
            "معاملهٔ بازی با مبلغ و تاریخ بسته‌شدن نیست.",
        ),
    )
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["currency"]] = (
            totals.get(r["currency"], 0) + Money.of(r["weighted_amount"], r["currency"]).minor
        )
    stats = [
        ui.Stat(
            L("Weighted forecast", "پیش‌بینی وزنی")
            if cur == "IRR"
            else L(f"Weighted forecast ({cur})", f"پیش‌بینی وزنی ({cur})"),
            Money(minor, cur),
            kind="money",
        )
        for cur, minor in sorted(totals.items())
    ]
    months: dict[str, int] = {}
    for r in rows:
        if r["currency"] == "IRR":
            months[r["period"]] = (
                months.get(r["period"], 0) + Money.of(r["weighted_amount"], "IRR").minor
            )
    chart = ui.Chart(
        [(_month(m, ctx.lang), Money(v, "IRR")) for m, v in sorted(months.items())],
        title=L("Weighted forecast per month", "پیش‌بینی وزنی هر ماه"),
        kind="money",
    )
    items = stats + ([chart] if chart.bars else []) + [table]
    return page(
        ctx,
        L("Sales forecast", "پیش‌بینی فروش"),
        items,
        nav=_rep_nav(uow, f"{P}/forecast", rep)
        + [ui.Link(L("Targets", "اهداف فروش"), f"{P}/targets")],
    )


MONTHS_FA = (
    "فروردین",
    "اردیبهشت",
    "خرداد",
    "تیر",
    "مرداد",
    "شهریور",
    "مهر",
    "آبان",
    "آذر",
    "دی",
    "بهمن",
    "اسفند",
)
MONTHS_EN = (
    "Farvardin",
    "Ordibehesht",
    "Khordad",
    "Tir",
    "Mordad",
    "Shahrivar",
    "Mehr",
    "Aban",
    "Azar",
    "Dey",
    "Bahman",
    "Esfand",
)


def _month(label: str, lang: str) -> str:
    """``1404-02`` as ``اردیبهشت ۱۴۰۴`` / ``Ordibehesht 1404``; a year stays a year."""
    from crmcore.api import to_persian_digits

    year, _, month = label.partition("-")
    if not month.isdigit() or not 1 <= int(month) <= 12:
        return to_persian_digits(label) if lang == "fa" else label
    if lang == "fa":
        return f"{MONTHS_FA[int(month) - 1]} {to_persian_digits(year)}"
    return f"{MONTHS_EN[int(month) - 1]} {year}"


def targets_page(
    ctx, *, error: CRMError | None = None, failed: str | None = None, values: dict | None = None
):
    uow, lang = ctx.uow, ctx.lang
    rep = ctx.query.get("rep") or None
    rows = target_rows(uow, rep)
    table = ui.Table(
        columns=[
            ui.Column("rep", L("Rep", "فروشنده")),
            ui.Column("period", L("Period", "دوره")),
            ui.Column("target", L("Target", "هدف"), "money"),
            ui.Column("won", L("Won", "برنده‌شده"), "money"),
            ui.Column("won_deals", L("Deals won", "معاملات برنده"), "number"),
            ui.Column("progress", L("Attainment", "تحقق"), "progress"),
            ui.Column("remaining", L("Remaining", "باقی‌مانده"), "money"),
        ],
        rows=[
            {
                "rep": r["rep_name"],
                "period": _month(r["period"], lang),
                "target": Money.of(r["target"], r["currency"]),
                "won": Money.of(r["won"], r["currency"]),
                "won_deals": r["won_deals"],
                "progress": ui.Progress(
                    L("Attainment", "تحقق"),
                    Money.of(r["won"], r["currency"]),
                    Money.of(r["target"], r["currency"]),
                    kind="money",
                ),
                "remaining": Money.of(r["remaining"], r["currency"]),
            }
            for r in rows
        ],
        empty=L("No targets set.", "هدفی تعیین نشده."),
    )
    reps = [(r.username, r.name, None) for r in service.list_reps(uow) if r.active]
    forms = [
        Form(
            "target",
            L("Set a target", "تعیین هدف"),
            "/targets",
            [
                ui.ActionField("rep", L("Rep", "فروشنده"), "select", options=_options(reps, lang)),
                ui.ActionField(
                    "period",
                    L("Jalali month (1404-02) or year", "ماه شمسی (۱۴۰۴-۰۲) یا سال"),
                    required=True,
                ),
                ui.ActionField("amount", L("Amount", "مبلغ"), "money", required=True),
            ],
            L("Save", "ذخیره"),
            access="manage",
        )
    ]
    if failed and values is not None:
        forms = [f.keep(values) for f in forms]
    return page(
        ctx,
        L("Sales targets", "اهداف فروش"),
        [table],
        forms=forms,
        error=error,
        failed=failed,
        status=422 if error else 200,
        nav=_rep_nav(uow, f"{P}/targets", rep)
        + [ui.Link(L("Forecast", "پیش‌بینی فروش"), f"{P}/forecast")],
    )


def set_target_endpoint(ctx):
    v = ctx.body or {}

    def action(uow):
        service.set_target(
            uow, _text(v, "rep") or "", _text(v, "period") or "", _text(v, "amount") or ""
        )
        return f"{P}/targets"

    return attempt(ctx, "target", action, lambda **kw: targets_page(ctx, **kw))


def routes():
    from crmcore.api import WebRoute

    post = {"kind": "page", "methods": ("POST",), "access": "write"}
    deal = "/deals/{deal_id:int}"
    lead = "/leads/{lead_id:int}"
    return [
        WebRoute(deal, deal_page, kind="page"),
        WebRoute(f"{deal}/edit", _deal_action(_edit, "edit"), **post),
        WebRoute(f"{deal}/move", _deal_action(_move, "move"), **post),
        WebRoute(f"{deal}/win", _deal_action(_win, "win"), **post),
        WebRoute(f"{deal}/lose", _deal_action(_lose, "lose"), **post),
        WebRoute(f"{deal}/reopen", _deal_action(_reopen, "reopen"), **post),
        WebRoute(f"{deal}/log", _deal_action(_log, "log"), **post),
        WebRoute("/customers/{customer_id:int}/deals", new_deal_endpoint, **post),
        WebRoute("/leads", leads_page, kind="page"),
        WebRoute(lead, lead_page, kind="page"),
        WebRoute(f"{lead}/convert", convert_endpoint, **post),
        WebRoute(f"{lead}/disqualify", disqualify_endpoint, **post),
        WebRoute("/forecast", forecast_page, kind="page"),
        WebRoute("/targets", targets_page, kind="page"),
        WebRoute("/targets", set_target_endpoint, kind="page", methods=("POST",), access="manage"),
    ]


def menu():
    from crmcore.api import MenuItem

    return [
        MenuItem("Sales leads", f"{P}/leads", "سرنخ‌های فروش"),
        MenuItem("Forecast", f"{P}/forecast", "پیش‌بینی فروش"),
        MenuItem("Targets", f"{P}/targets", "اهداف فروش"),
    ]
