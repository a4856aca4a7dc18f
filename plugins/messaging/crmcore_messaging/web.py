"""What messaging adds to ``crm web``: the template editor with a live preview for a chosen
customer, the campaign composer on a saved segment (recipients with and without consent counted
before sending), the delivery log, their API routes under ``/api/p/messaging/…``, and the customer
list's segment handed to a draft campaign.

Levels: reading the log and previewing needs ``read``; saving templates ``write``; sending a
campaign ``manage``. Every action calls the services the CLI calls (same refusals)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select

from crmcore.api import (
    CRMError,
    Customer,
    MenuItem,
    NotFound,
    SegmentAction,
    SegmentField,
    ValidationError,
    WebRoute,
    check_customer,
    customer_clause,
    get_customer,
    get_segment,
    list_segments,
    resolve_customer,
    ui,
)

from .campaigns import (
    audience_counts,
    campaign_stats,
    campaign_to_dict,
    count_campaign,
    create_campaign,
    get_campaign,
    run_campaign,
)
from .models import CATEGORIES, CHANNELS, LANGUAGES, STATUSES, Campaign, Message, Template
from .service import list_templates, preview_text, save_template, template_to_dict

L = ui.Label
PAGE = "crmcore_messaging:web/page.html"
STATUS_LABELS = {
    "queued": (L("queued", "در صف"), "info"),
    "sending": (L("sending", "در حال ارسال"), "info"),
    "sent": (L("sent", "ارسال شد"), "success"),
    "delivered": (L("delivered", "رسید"), "success"),
    "failed": (L("failed", "ناموفق"), "danger"),
    "blocked": (L("blocked", "مسدود"), "warning"),
    "skipped": (L("skipped", "رد شد"), "neutral"),
    "unknown": (L("unknown", "نامعلوم"), "warning"),
}
CHANNEL_LABELS = {"sms": L("SMS", "پیامک"), "email": L("Email", "ایمیل")}


# --- the segment action of the customer list ---------------------------------------------------
def _templates(uow) -> list[tuple[str, str]]:
    rows = uow.session.execute(
        select(Template.name, Template.channel)
        .where(Template.category == "promotional")
        .order_by(Template.name, Template.channel)
    )
    return [(name, name) for name in dict.fromkeys(name for name, _channel in rows)]


def _campaign(uow, clauses: list[str], values: dict[str, str]) -> str:
    campaign = create_campaign(
        uow,
        name=values["name"],
        template=values["template"],
        channel=values["channel"],
        where=clauses,
    )
    counts = count_campaign(uow, campaign)
    return (
        f"Campaign {campaign.name!r} saved as a draft for {counts['matching']:,} customers "
        f"({counts['would_send']:,} reachable now); run it with `crm messages campaigns run "
        f"{campaign.name}`."
    )


SEGMENT_ACTIONS = [
    SegmentAction(
        key="campaign",
        label="Send a campaign to this list",
        label_fa="ارسال کمپین به این فهرست",
        run=_campaign,
        fields=(
            SegmentField("name", "Campaign name", "نام کمپین"),
            SegmentField("template", "Template", "قالب پیام", options=_templates),
            SegmentField(
                "channel",
                "Channel",
                "کانال",
                options=lambda _uow: [("sms", "SMS"), ("email", "Email")],
            ),
        ),
    )
]


# --- shared -------------------------------------------------------------------------------------
def _text(data: dict[str, Any] | None, name: str, limit: int = 100_000) -> str:
    value = (data or {}).get(name)
    return value[:limit] if isinstance(value, str) else ""


def _choice(value: str, allowed: tuple[str, ...], field: str, default: str | None = None) -> str:
    value = value or (default or "")
    if value not in allowed:
        raise ValidationError(f"{value!r} is not one of {', '.join(allowed)}", field=field)
    return value


def _customer(uow, ref: str):
    """A customer the user may read, by id, phone or email (``None`` for an empty reference)."""
    if not ref.strip():
        return None
    try:
        customer = resolve_customer(uow.session, ref)
    except NotFound as exc:
        raise ValidationError(str(exc.message), field="customer") from None
    check_customer(uow, customer, "read")
    return customer


def _redirect(url: str):
    from starlette.responses import RedirectResponse

    return RedirectResponse(url, status_code=303)


def _page(ctx, tab: str, title: L, status: int = 200, **variables):
    lang = ctx.lang
    response = ctx.render(
        PAGE,
        title=title.text(lang),
        tab=tab,
        heading=title,
        tr=lambda en, fa: fa if lang == "fa" else en,
        may_write=ctx.user.can("write", "messaging"),
        may_manage=ctx.user.can("manage", "messaging"),
        **variables,
    )
    response.status_code = status
    return response


# --- one message to one customer, from the 360° page ------------------------------------------
def send_fields(uow, values: dict[str, str] | None = None) -> list[ui.ActionField]:
    import uuid

    v = values or {}
    names = list(dict.fromkeys(uow.session.scalars(select(Template.name).order_by(Template.name))))
    return [
        ui.ActionField(
            "template",
            L("Template", "قالب"),
            "select",
            value=v.get("template"),
            options=[(n, n) for n in names],
            required=True,
        ),
        ui.ActionField(
            "channel",
            L("Channel", "کانال"),
            "select",
            value=v.get("channel") or "sms",
            options=list(CHANNEL_LABELS.items()),
        ),
        ui.ActionField("key", "", "hidden", value=v.get("key") or uuid.uuid4().hex),
    ]


def customer_actions(uow, customer) -> list[ui.Action]:
    """The 360° page's "send a message" (``crm_customer_actions``): a template to this customer
    now, as ``crm messaging messages send``; offered once there is a template."""
    if uow.session.scalar(select(Template.id).limit(1)) is None:
        return []
    return [
        ui.Action(
            L("Send a message", "ارسال پیام"),
            f"/customers/{customer.id}/send",
            fields=send_fields(uow),
            access="write",
        )
    ]


def send_one(ctx):
    """Queue the template for the customer of the path (:func:`.outbox.queue_message`, strict:
    no consent, no recipient or the frequency cap refuse and store nothing, as the CLI), then back
    to the customer's page; a refusal shows the form again with the reason beside its field."""
    from .outbox import queue_message

    form = ctx.body or {}
    customer = get_customer(ctx.uow.session, ctx.path_params["customer_id"])
    check_customer(ctx.uow, customer, "write")
    key = _text(form, "key", 100).strip()
    try:
        with ctx.uow.session.begin_nested():
            if not key:
                raise ValidationError(
                    "the form is missing its key; open the page again", field="template"
                )
            queue_message(
                ctx.uow,
                customer,
                template=_text(form, "template", 100).strip(),
                channel=_choice(_text(form, "channel", 10), CHANNELS, "channel", "sms"),
                trigger="manual",
                key=f"manual:web-{key}",
                strict=True,
            )
    except CRMError as exc:
        ctx.uow.session.expire_all()
        fields = send_fields(ctx.uow, form)
        response = ctx.render(
            "crmcore_messaging:web/send.html",
            title=L("Send a message", "ارسال پیام").text(ctx.lang),
            heading=L("Send a message", "ارسال پیام"),
            customer=customer,
            fields=fields,
            error=exc.message,
            field=exc.field,
            button=L("Send", "ارسال"),
            plugin="messaging",
        )
        response.status_code = 422
        return response
    return _redirect(f"/customers/{customer.id}?ok=saved#timeline")


# --- templates ----------------------------------------------------------------------------------
def _template_form(ctx) -> dict[str, str]:
    q = ctx.query
    form = {
        "name": q.get("name", "")[:100],
        "channel": q.get("channel", "sms"),
        "language": q.get("language", "fa"),
        "category": "transactional",
        "subject": "",
        "body": "",
        "customer": q.get("customer", "")[:100],
    }
    if form["name"]:
        row = ctx.uow.session.scalar(
            select(Template).where(
                Template.name == form["name"],
                Template.channel == form["channel"],
                Template.language == form["language"],
            )
        )
        if row is not None:
            form.update(category=row.category, subject=row.subject or "", body=row.body)
    return form


def _preview_for(ctx, form: dict[str, str]) -> tuple[dict[str, Any] | None, CRMError | None]:
    if not form["body"].strip():
        return None, None
    try:
        channel = _choice(form["channel"], CHANNELS, "channel")
        return preview_text(
            ctx.uow,
            body=form["body"],
            subject=form["subject"] or None,
            channel=channel,
            customer=_customer(ctx.uow, form["customer"]),
        ), None
    except CRMError as exc:
        return None, exc


def _templates_page(
    ctx,
    form: dict[str, str],
    *,
    error: CRMError | None = None,
    saved: bool = False,
    status: int = 200,
):
    preview, preview_error = _preview_for(ctx, form)
    return _page(
        ctx,
        "templates",
        L("Message templates", "قالب‌های پیام"),
        status=status,
        templates=list_templates(ctx.uow),
        form=form,
        error=error,
        saved=saved,
        preview=preview,
        preview_error=preview_error,
        channels=CHANNELS,
        languages=LANGUAGES,
        categories=CATEGORIES,
        channel_labels=CHANNEL_LABELS,
    )


def templates_page(ctx):
    return _templates_page(ctx, _template_form(ctx), saved=ctx.query.get("ok") == "saved")


def templates_save(ctx):
    """Save the form's template (``do=save``) or only show its preview (``do=preview``)."""
    body = ctx.body or {}
    form = {
        k: _text(body, k)
        for k in ("name", "channel", "language", "category", "subject", "body", "customer")
    }
    if body.get("do") != "save":
        return _templates_page(ctx, form)
    try:
        with ctx.uow.session.begin_nested():
            row = save_template(
                ctx.uow,
                name=form["name"],
                channel=form["channel"],
                body=form["body"],
                language=form["language"] or "fa",
                subject=form["subject"] or None,
                category=form["category"] or "transactional",
                replace=True,
            )
    except CRMError as exc:
        return _templates_page(ctx, form, error=exc, status=422)
    return _redirect(
        f"/p/messaging/templates?name={quote(row.name)}&channel={row.channel}"
        f"&language={row.language}&ok=saved"
    )


def api_templates(ctx):
    return [template_to_dict(t) for t in list_templates(ctx.uow)]


def api_template_save(ctx):
    body = ctx.body if isinstance(ctx.body, dict) else {}
    row = save_template(
        ctx.uow,
        name=_text(body, "name"),
        channel=_text(body, "channel") or "sms",
        body=_text(body, "body"),
        language=_text(body, "language") or "fa",
        subject=_text(body, "subject") or None,
        category=_text(body, "category") or "transactional",
        replace=bool(body.get("replace")),
    )
    return template_to_dict(row)


def api_preview(ctx):
    """The text as the chosen customer would get it (the editor's live preview)."""
    q = ctx.query
    return preview_text(
        ctx.uow,
        body=q.get("body", "")[:100_000],
        subject=q.get("subject") or None,
        channel=_choice(q.get("channel", "sms"), CHANNELS, "channel"),
        customer=_customer(ctx.uow, q.get("customer", "")[:100]),
    )


# --- campaigns ----------------------------------------------------------------------------------
def _segment(ctx, raw: str):
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError(f"{raw!r} is not a segment number", field="segment")
    return get_segment(ctx.uow, int(raw))


def _campaign_rows(uow) -> list[dict[str, Any]]:
    rows = []
    for c in uow.session.scalars(
        select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()).limit(50)
    ):
        stats = campaign_stats(uow, c)
        rows.append(
            {
                "name": c.name,
                "channel": CHANNEL_LABELS.get(c.channel, c.channel),
                "template": c.template,
                "status": c.status,
                "started": c.started_at,
                "queued": sum(
                    stats.get(s, 0) for s in ("queued", "sending", "sent", "delivered", "unknown")
                ),
                "delivered": stats.get("delivered", 0),
                "blocked": stats.get("blocked", 0) + stats.get("skipped", 0),
                "failed": stats.get("failed", 0),
            }
        )
    return rows


def _campaigns_page(
    ctx,
    form: dict[str, str],
    *,
    error: CRMError | None = None,
    status: int = 200,
    sent: str | None = None,
):
    counts = segment = None
    try:
        segment = _segment(ctx, form["segment"])
        if segment is not None:
            counts = audience_counts(
                ctx.uow, list(segment.clauses), _choice(form["channel"], CHANNELS, "channel")
            )
    except CRMError as exc:
        if error is None:
            error, status = exc, 422
    templates = [
        (t.name, t.name)
        for t in list_templates(ctx.uow)
        if t.channel == form["channel"] and t.category == "promotional"
    ]
    done = None
    if sent:
        campaign = ctx.uow.session.scalar(select(Campaign).where(Campaign.name == sent))
        done = campaign_to_dict(campaign) if campaign is not None else None
    count_stats = (
        [
            ui.Stat(L("In the segment", "در این بخش"), counts["matching"], kind="number"),
            ui.Stat(
                L("With consent", "با رضایت"), counts["with_consent"], kind="number", tone="success"
            ),
            ui.Stat(
                L("Without consent", "بدون رضایت"),
                counts["no_consent"],
                kind="number",
                tone="danger" if counts["no_consent"] else "neutral",
            ),
            ui.Stat(
                L("Will be sent", "ارسال می‌شود"), counts["would_send"], kind="number", tone="info"
            ),
        ]
        if counts
        else []
    )
    return _page(
        ctx,
        "campaigns",
        L("Campaigns", "کمپین‌ها"),
        status=status,
        form=form,
        count_stats=count_stats,
        segments=list_segments(ctx.uow),
        segment=segment,
        counts=counts,
        error=error,
        templates=list(dict.fromkeys(templates)),
        channels=CHANNELS,
        channel_labels=CHANNEL_LABELS,
        campaigns=_campaign_rows(ctx.uow),
        done=done,
        status_labels=STATUS_LABELS,
    )


def _campaign_form(data: dict[str, Any]) -> dict[str, str]:
    return {
        "segment": _text(data, "segment", 20),
        "channel": _text(data, "channel", 10) or "sms",
        "template": _text(data, "template", 100),
        "name": _text(data, "name", 100),
    }


def campaigns_page(ctx):
    return _campaigns_page(ctx, _campaign_form(ctx.query), sent=ctx.query.get("sent"))


def send_campaign(uow, *, segment_id: Any, channel: str, template: str, name: str):
    """Create a campaign on a saved segment's clauses and queue its messages now."""
    if not str(segment_id or "").isdigit():
        raise ValidationError("choose a segment", field="segment")
    segment = get_segment(uow, int(segment_id))
    campaign = create_campaign(
        uow, name=name, template=template, channel=channel, where=list(segment.clauses)
    )
    totals = run_campaign(uow, campaign)
    return campaign, totals


def campaigns_send(ctx):
    form = _campaign_form(ctx.body or {})
    try:
        with ctx.uow.session.begin_nested():
            campaign, _totals = send_campaign(
                ctx.uow,
                segment_id=form["segment"],
                channel=form["channel"],
                template=form["template"],
                name=form["name"],
            )
    except CRMError as exc:
        return _campaigns_page(ctx, form, error=exc, status=422)
    return _redirect(f"/p/messaging/campaigns?sent={quote(campaign.name)}")


def api_segment_counts(ctx):
    """Recipients of a campaign on this segment: with and without consent, unreachable, capped."""
    segment = get_segment(ctx.uow, ctx.path_params["segment_id"])
    counts = audience_counts(
        ctx.uow,
        list(segment.clauses),
        _choice(ctx.query.get("channel", "sms"), CHANNELS, "channel"),
    )
    return {
        "segment": {"id": segment.id, "name": segment.name, "where": list(segment.clauses)},
        **counts,
    }


def api_campaign_send(ctx):
    body = ctx.body if isinstance(ctx.body, dict) else {}
    campaign, totals = send_campaign(
        ctx.uow,
        segment_id=body.get("segment"),
        channel=_text(body, "channel") or "sms",
        template=_text(body, "template"),
        name=_text(body, "name"),
    )
    return {**campaign_to_dict(campaign), "queued": totals}


def api_campaigns(ctx):
    return [
        campaign_to_dict(c, stats=campaign_stats(ctx.uow, c))
        for c in ctx.uow.session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(200))
    ]


# --- the delivery log ---------------------------------------------------------------------------
def _log_query(ctx):
    q = ctx.query
    stmt = select(Message)
    status, channel = q.get("status", ""), q.get("channel", "")
    if status:
        stmt = stmt.where(Message.status == _choice(status, STATUSES, "status"))
    if channel:
        stmt = stmt.where(Message.channel == _choice(channel, CHANNELS, "channel"))
    if q.get("campaign"):
        stmt = stmt.where(Message.campaign_id == get_campaign(ctx.uow, q["campaign"][:100]).id)
    readable = customer_clause(ctx.uow, "read")
    if readable is not None:  # the record rules: only messages of customers the user may read
        stmt = stmt.where(Message.customer_id.in_(select(Customer.id).where(readable)))
    return ctx.page(stmt, [(Message.created_at, True), (Message.id, True)])


def _message_dict(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "customer_id": m.customer_id,
        "channel": m.channel,
        "category": m.category,
        "recipient": m.recipient,
        "template": m.template,
        "trigger": m.trigger,
        "status": m.status,
        "error": m.error,
        "attempts": m.attempts,
        "body": m.body,
        "created_at": m.created_at.isoformat(),
        "sent_at": m.sent_at.isoformat() if m.sent_at else None,
        "delivered_at": m.delivered_at.isoformat() if m.delivered_at else None,
    }


def api_log(ctx):
    return [_message_dict(m) for m in _log_query(ctx)]


def log_page(ctx):
    try:
        rows, error = _log_query(ctx), None
    except CRMError as exc:
        rows, error = [], exc
    names = (
        dict(
            ctx.uow.session.execute(
                select(Customer.id, Customer.display_name).where(
                    Customer.id.in_({m.customer_id for m in rows})
                )
            ).all()
        )
        if rows
        else {}
    )
    table = ui.Table(
        columns=[
            ui.Column("at", L("When", "زمان"), "moment"),
            ui.Column("customer", L("Customer", "مشتری"), "link"),
            ui.Column("channel", L("Channel", "کانال")),
            ui.Column("template", L("Template", "قالب")),
            ui.Column("status", L("Status", "وضعیت"), "badge"),
            ui.Column("why", L("Note", "توضیح")),
        ],
        rows=[
            {
                "at": m.created_at,
                "customer": ui.Link(
                    names.get(m.customer_id, f"#{m.customer_id}"), f"/customers/{m.customer_id}"
                ),
                "channel": CHANNEL_LABELS.get(m.channel, m.channel),
                "template": m.template or m.trigger,
                "status": ui.Badge(*STATUS_LABELS.get(m.status, (L(m.status), "neutral"))),
                "why": m.error,
            }
            for m in rows
        ],
        empty=L("No message matches.", "پیامی با این شرایط نیست."),
    )
    return _page(
        ctx,
        "log",
        L("Delivery log", "گزارش ارسال"),
        status=422 if error else 200,
        log_table=table,
        error=error,
        next_url=ctx.next_page_url(),
        filters={k: ctx.query.get(k, "")[:100] for k in ("status", "channel", "campaign")},
        statuses=STATUSES,
        channels=CHANNELS,
        status_labels=STATUS_LABELS,
        channel_labels=CHANNEL_LABELS,
    )


def editor_script(ctx):
    from starlette.responses import Response

    return Response(
        (Path(__file__).parent / "web" / "editor.js").read_text(encoding="utf-8"),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


ROUTES = [
    WebRoute("/log", log_page, kind="page", paged=True),
    WebRoute(
        "/customers/{customer_id:int}/send",
        send_one,
        kind="page",
        methods=("POST",),
        access="write",
    ),
    WebRoute("/templates", templates_page, kind="page"),
    WebRoute("/templates", templates_save, kind="page", methods=("POST",), access="write"),
    WebRoute("/campaigns", campaigns_page, kind="page"),
    WebRoute("/campaigns", campaigns_send, kind="page", methods=("POST",), access="manage"),
    WebRoute("/editor.js", editor_script, kind="page"),
    WebRoute(
        "/messages",
        api_log,
        paged=True,
        summary="messaging: the delivery log, newest first (?status=, ?channel=, ?campaign=)",
    ),
    WebRoute("/templates", api_templates, summary="messaging: the message templates"),
    WebRoute(
        "/templates",
        api_template_save,
        methods=("POST",),
        access="write",
        summary="messaging: save a template (checked as the CLI checks it)",
    ),
    WebRoute(
        "/preview",
        api_preview,
        summary="messaging: a template text rendered for a customer (?body=, ?customer=)",
    ),
    WebRoute("/campaigns", api_campaigns, summary="messaging: campaigns and their message counts"),
    WebRoute(
        "/campaigns",
        api_campaign_send,
        methods=("POST",),
        access="manage",
        summary="messaging: create a campaign on a saved segment and queue it now",
    ),
    WebRoute(
        "/segments/{segment_id:int}/counts",
        api_segment_counts,
        summary="messaging: a segment's recipients with and without consent (?channel=)",
    ),
]

MENU = [MenuItem(label="Messages", label_fa="پیام‌ها", href="/p/messaging/log")]
