"""The help desk on ``crm web``: the queue as a paged list with filters and SLA countdowns
(``/p/tickets/queue``), the ticket page with its conversation and every action an agent takes
(``/p/tickets/tickets/{id}``), and the same as JSON under ``/api/p/tickets/…`` (in the OpenAPI
description).

Every action calls the service function the CLI calls (same refusals). A refused action on the page
shows the CLI's one-line reason beside the form it concerns, answers 422 and stores nothing (the
action runs in a savepoint that is rolled back).
"""

from __future__ import annotations

import math
from typing import Any, Callable
from urllib.parse import urlencode

from sqlalchemy import select

from crmcore.api import Conflict, Customer, MenuItem, NotFound, ValidationError, WebRoute, ui

from . import delivery, queue, service
from .models import PRIORITIES, STATES, Ticket
from .views import ticket_to_dict

L = ui.Label
PAGE_SIZE = 50
STATE_LABELS = {
    "new": L("New", "جدید"),
    "open": L("Open", "باز"),
    "pending_customer": L("Waiting on the customer", "در انتظار مشتری"),
    "resolved": L("Resolved", "حل‌شده"),
    "closed": L("Closed", "بسته"),
}
STATE_TONES = {
    "new": "info",
    "open": "info",
    "pending_customer": "neutral",
    "resolved": "success",
    "closed": "neutral",
}
GROUP_LABELS = {"unsolved": L("Unsolved", "حل‌نشده"), "all": L("All", "همه")}
PRIORITY_LABELS = {
    "low": L("Low", "کم"),
    "normal": L("Normal", "عادی"),
    "high": L("High", "بالا"),
    "urgent": L("Urgent", "فوری"),
}
PRIORITY_TONES = {"low": "neutral", "normal": "neutral", "high": "warning", "urgent": "danger"}
CHANNEL_LABELS = {
    "phone": L("Phone", "تلفن"),
    "email": L("Email", "ایمیل"),
    "web": L("Web", "وب"),
    "chat": L("Chat", "چت"),
    "in_person": L("In person", "حضوری"),
    "social": L("Social", "شبکه‌های اجتماعی"),
}
TARGET_LABELS = {
    "first_response": L("first response", "اولین پاسخ"),
    "resolution": L("resolution", "حل"),
}
QUEUE_TITLE = L("Support tickets", "تیکت‌های پشتیبانی")


# --- actions: one function per action, shared by the page forms and the API -----------------------
def _flag(value: Any) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes", "on")


def _text(values: dict, name: str) -> str:
    value = values.get(name)
    if value is not None and not isinstance(value, (str, int)):
        raise ValidationError(f"{name} must be text", field=name)
    return "" if value is None else str(value)


def _reply(uow, user, tid, v):
    return service.agent_reply(
        uow, tid, _text(v, "body"), agent=user.username, pending=_flag(v.get("pending"))
    )


def _note(uow, user, tid, v):
    return service.add_note(uow, tid, _text(v, "body"), agent=user.username)


def _assign(uow, user, tid, v):
    return service.assign(uow, tid, agent=_text(v, "agent") or None, team=_text(v, "team") or None)


def _merge(uow, user, tid, v):
    duplicate = _text(v, "duplicate").strip()
    if not duplicate:
        raise ValidationError("give the number of the duplicate ticket", field="duplicate")
    return service.merge(uow, tid, duplicate)


def _resolve(uow, user, tid, v):
    return service.resolve(uow, tid)


def _close(uow, user, tid, v):
    """Close; with a score, record the customer's CSAT in the same step (unless a plugin asks
    it)."""
    score = _text(v, "score").strip()
    if score:
        service.check_score(score)
    ticket = service.close(uow, tid)
    if score and not ticket.csat_by:
        service.record_csat(uow, tid, score, comment=_text(v, "comment") or None)
    return ticket


def _csat(uow, user, tid, v):
    return service.record_csat(uow, tid, _text(v, "score"), comment=_text(v, "comment") or None)


def _retry(uow, user, tid, v):
    message = _text(v, "message").strip()
    if not message.isdigit():
        raise ValidationError("give the reply to send again", field="message")
    return delivery.retry(uow, tid, int(message))


ACTIONS: dict[str, Callable] = {
    "reply": _reply,
    "note": _note,
    "assign": _assign,
    "merge": _merge,
    "resolve": _resolve,
    "close": _close,
    "csat": _csat,
    "retry": _retry,
}
SUMMARIES = {
    "reply": "Reply to the customer (body, pending): sent by the ticket's channel; the first "
    "reply is the first response",
    "note": "Add an internal note (body): never shown to the customer",
    "assign": "Assign to an agent or let a team's rule pick one (agent or team)",
    "merge": "Merge a duplicate ticket of the same customer into this one (duplicate)",
    "resolve": "Mark solved: the SLA clock stops; a customer's reply reopens it",
    "close": "Close (final); optionally record the customer's CSAT 1-5 (score, comment)",
    "csat": "Record the customer's CSAT 1-5 for a closed ticket (score, comment)",
    "retry": "Send a failed reply again (message: its id)",
}


# --- JSON API -------------------------------------------------------------------------------------
def api_list(ctx):
    filters = queue.Filters.read(ctx.query)
    now = ctx.uow.now()
    stmt = select(Ticket).where(*queue.conditions(ctx.uow, filters, now))
    rows = ctx.page(stmt, [(Ticket.id, False)])
    calendars: dict = {}
    out = []
    for t in rows:
        data = ticket_to_dict(t)
        c = queue.countdown(ctx.uow, t, now, calendars)
        data["countdown"] = c.as_dict() if c else None
        out.append(data)
    return out


def api_show(ctx):
    t = service.get_ticket(ctx.uow.session, ctx.path_params["ticket_id"])
    _readable(ctx.uow, t)
    data = ticket_to_dict(t, messages=True)
    c = queue.countdown(ctx.uow, t, ctx.uow.now())
    data["countdown"] = c.as_dict() if c else None
    return data


def api_action(name: str):
    def endpoint(ctx):
        body = ctx.body if ctx.body is not None else {}
        if not isinstance(body, dict):
            raise ValidationError("the body must be a JSON object", field="body")
        tid = ctx.path_params["ticket_id"]
        ACTIONS[name](ctx.uow, ctx.user, tid, body)
        ctx.uow.session.flush()
        return ticket_to_dict(service.get_ticket(ctx.uow.session, tid), messages=True)

    endpoint.__name__ = f"tickets_api_{name}"
    return endpoint


def _readable(uow, ticket: Ticket) -> None:
    from crmcore.api import check_assignee

    check_assignee(
        uow,
        "read",
        ticket.assignee.username.lower() if ticket.assignee else None,
        f"ticket #{ticket.id}",
    )


# --- pages ----------------------------------------------------------------------------------------
def _countdown_badge(c: queue.Countdown | None) -> ui.Badge | None:
    if c is None:
        return None
    en, fa = queue.duration_text(c.seconds, "en"), queue.duration_text(c.seconds, "fa")
    target = TARGET_LABELS[c.target]
    if c.tone == "danger":
        text = L(f"{target.en}: overdue by {en}", f"{target.fa}: {fa} گذشته از موعد")
    elif c.clock == "stopped":
        text = L(f"clock stopped · {en} left", f"ساعت متوقف · {fa} مانده")
    else:
        text = L(f"{target.en}: {en} left", f"{target.fa}: {fa} مانده")
    return ui.Badge(text, tone=c.tone)


def _names(session, ids) -> dict[int, str]:
    ids = set(ids)
    if not ids:
        return {}
    return dict(
        session.execute(
            select(Customer.id, Customer.display_name).where(Customer.id.in_(ids))
        ).all()
    )


MAIL_ACTIONS = {
    "opened": L("new tickets", "تیکت تازه"),
    "replied": L("replies", "پاسخ"),
    "follow_up": L("follow-up tickets", "تیکت پیگیری"),
    "duplicate": L("already stored", "تکراری"),
}


def _mail_action(uow) -> ui.Action | None:
    from .mail_sources import list_sources

    if not list_sources(uow):
        return None
    return ui.Action(
        L("Check mail now", "بررسی ایمیل‌ها"), "/queue/check-mail", tone="info", access="manage"
    )


def _mail_report(results: list[dict]) -> list[dict[str, Any]]:
    """Per source: its counts as (number, label) pairs, or its failure (the CLI's line)."""
    out = []
    for r in results:
        counts: dict[str, int] = {}
        for row in r["imported"]:
            counts[row["action"]] = counts.get(row["action"], 0) + 1
        parts = [(counts[a], label) for a, label in MAIL_ACTIONS.items() if a in counts]
        if r["rejected"]:
            parts.append((len(r["rejected"]), L("not turned into tickets", "رد شده")))
        out.append({"source": r["source"], "parts": parts, "error": r["error"]})
    return out


def check_mail_page(ctx):
    """A manager's "check mail now": the same poll as ``crm tickets email poll --once``, then the
    queue with what it found."""
    from .mail_sources import poll_all

    # before this request's transaction begins: the poll stores each message in its own one
    results = poll_all(ctx.uow.app, actor=ctx.uow.actor)
    return queue_page(ctx, mail=_mail_report(results))


def api_check_mail(ctx):
    from .mail_sources import poll_all

    return poll_all(ctx.uow.app, actor=ctx.uow.actor)


def queue_page(ctx, mail: list[dict[str, Any]] | None = None):
    uow, lang = ctx.uow, ctx.lang
    error = None
    try:
        filters = queue.Filters.read(ctx.query)
        number = max(int((ctx.query.get("page") or "1").strip() or 1), 1)
    except ValidationError as exc:
        error, filters, number = exc, queue.Filters(), 1
    except ValueError:
        error, filters, number = (
            ValidationError("page is a whole number", field="page"),
            queue.Filters(),
            1,
        )
    now = uow.now()
    try:
        total = queue.count(uow, filters, now)
    except NotFound as exc:  # an agent filter naming nobody
        error, filters = exc, queue.Filters()
        total = queue.count(uow, filters, now)
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    number = min(number, pages)
    rows = queue.page(uow, filters, now, number=number, size=PAGE_SIZE)
    names = _names(uow.session, [t.customer_id for t in rows])
    calendars: dict = {}
    table_rows = []
    for t in rows:
        c = queue.countdown(uow, t, now, calendars)
        table_rows.append(
            {
                "ticket": ui.Link(f"#{t.id} {t.subject}", f"/p/tickets/tickets/{t.id}"),
                "customer": ui.Link(
                    names.get(t.customer_id, str(t.customer_id)), f"/customers/{t.customer_id}"
                ),
                "state": ui.Badge(STATE_LABELS[t.state], STATE_TONES[t.state]),
                "priority": ui.Badge(PRIORITY_LABELS[t.priority], PRIORITY_TONES[t.priority]),
                "agent": t.assignee.display_name if t.assignee else L("Unassigned", "بدون کارشناس"),
                "sla": _countdown_badge(c) or _outcome_badge(t),
                "opened": t.created_at,
            }
        )
    table = ui.Table(
        columns=[
            ui.Column("ticket", L("Ticket", "تیکت"), "link"),
            ui.Column("customer", L("Customer", "مشتری"), "link"),
            ui.Column("state", L("State", "وضعیت"), "badge"),
            ui.Column("priority", L("Priority", "اولویت"), "badge"),
            ui.Column("agent", L("Agent", "کارشناس"), "text"),
            ui.Column("sla", L("SLA", "مهلت SLA"), "badge"),
            ui.Column("opened", L("Opened", "باز شده"), "moment"),
        ],
        rows=table_rows,
        empty=L("No ticket matches these filters.", "تیکتی با این فیلترها نیست."),
    )
    base = filters.as_query()

    def link(n: int) -> str:
        return "/p/tickets/queue?" + urlencode({**base, "page": str(n)})

    state_options = [(k, v) for k, v in GROUP_LABELS.items()] + [
        (s, STATE_LABELS[s]) for s in STATES
    ]
    agent_options = [("", L("Anyone", "همه")), ("none", L("Unassigned", "بدون کارشناس"))] + [
        (a.username, a.display_name) for a in queue.agents(uow.session)
    ]
    response = ctx.render(
        "crmcore_tickets:templates/queue.html",
        title=QUEUE_TITLE.text(lang),
        heading=QUEUE_TITLE,
        listing=table,
        filters=filters,
        total=total,
        page=number,
        pages=pages,
        prev_href=link(number - 1) if number > 1 else None,
        next_href=link(number + 1) if number < pages else None,
        state_options=state_options,
        agent_options=agent_options,
        priority_options=[(p, PRIORITY_LABELS[p]) for p in PRIORITIES],
        error=error,
        plugin="tickets",
        may=lambda level: ctx.user.can(level, "tickets"),
        label=L,
        check_mail=_mail_action(uow),
        mail=mail,
    )
    if error is not None:
        response.status_code = 422
    return response


def _outcome_badge(t: Ticket) -> ui.Badge | None:
    if t.first_response_breached_at or t.resolution_breached_at:
        return ui.Badge(L("SLA breached", "SLA نقض شد"), "danger")
    if t.sla_policy_id and t.state in ("resolved", "closed"):
        return ui.Badge(L("within SLA", "در موعد"), "success")
    return None


def _who(m) -> ui.Text:
    if m.author == "customer":
        return L("Customer", "مشتری")
    if m.agent is not None:
        return m.agent.display_name
    return L("System", "سیستم")


def _delivery_badge(m) -> ui.Badge | None:
    d = m.delivery_status
    if m.delivery_channel is None:
        return None
    by = {"sms": L("SMS", "پیامک"), "chat": L("chat", "چت")}.get(
        m.delivery_channel, L("email", "ایمیل")
    )
    if d == "sent":
        return ui.Badge(L(f"sent by {by.en}", f"با {by.fa} ارسال شد"), "success")
    if d in ("queued", "sending") and not m.delivery_error:
        return ui.Badge(L(f"sending by {by.en}", f"در حال ارسال با {by.fa}"), "info")
    if d == "queued":
        return ui.Badge(
            L("not sent yet, will retry", "هنوز ارسال نشده، دوباره تلاش می‌شود"), "warning"
        )
    if d == "unknown":
        return ui.Badge(L("delivery unknown", "وضعیت ارسال نامعلوم"), "warning")
    return ui.Badge(L("NOT SENT", "ارسال نشد"), "danger")


def conversation(t: Ticket) -> list[dict[str, Any]]:
    out = []
    for m in sorted(t.messages, key=lambda m: (m.created_at, m.id)):
        note = m.kind == "note"
        out.append(
            {
                "id": m.id,
                "at": m.created_at,
                "who": _who(m),
                "body": m.body,
                "note": note,
                "customer": m.author == "customer",
                "kind": L("Internal note", "یادداشت داخلی") if note else L("Reply", "پاسخ"),
                "delivery": _delivery_badge(m),
                "error": m.delivery_error
                if m.delivery_status in ("failed", "queued", "unknown")
                else None,
                "retry": m.delivery_status == "failed",
            }
        )
    return out


def _sla_fields(uow, t: Ticket) -> ui.FieldList:
    def status(target: str) -> Any:
        due = getattr(t, f"{target}_due_at")
        if due is None:
            return None
        if getattr(t, f"{target}_breached_at"):
            return ui.Badge(L("breached", "نقض شد"), "danger")
        done = t.first_response_at if target == "first_response" else t.resolved_at
        if done is not None:
            return ui.Badge(L("met", "در موعد انجام شد"), "success")
        return ui.Badge(L("pending", "در انتظار"), "neutral")

    return ui.FieldList(
        [
            ui.Field(
                L("SLA policy", "سیاست SLA"),
                t.sla_policy.name if t.sla_policy else L("none", "ندارد"),
            ),
            ui.Field(L("First response due", "موعد اولین پاسخ"), t.first_response_due_at, "moment"),
            ui.Field(L("First response", "اولین پاسخ"), status("first_response")),
            ui.Field(L("Resolution due", "موعد حل"), t.resolution_due_at, "moment"),
            ui.Field(L("Resolution", "حل"), status("resolution")),
        ]
    )


def _forms(uow, t: Ticket, kept: dict[str, Any]) -> dict[str, ui.Action]:
    """The actions the ticket's state allows, keyed like :data:`ACTIONS`; ``kept``: what the user
    typed into a refused form, shown again."""
    base = f"/tickets/{t.id}"
    forms: dict[str, ui.Action] = {}
    if t.merged_into_id is not None:
        return forms
    if t.state != "closed":
        forms["reply"] = ui.Action(
            L("Send reply", "ارسال پاسخ"),
            f"{base}/reply",
            tone="info",
            fields=[
                ui.ActionField(
                    "body",
                    L("Reply to the customer", "پاسخ به مشتری"),
                    "textarea",
                    required=True,
                    value=kept.get("reply", {}).get("body"),
                ),
                ui.ActionField(
                    "pending",
                    L("Then", "سپس"),
                    "select",
                    options=[
                        ("", L("keep it open", "باز بماند")),
                        (
                            "1",
                            L(
                                "wait for the customer (SLA clock stops)",
                                "منتظر مشتری (ساعت SLA متوقف)",
                            ),
                        ),
                    ],
                ),
            ],
        )
    forms["note"] = ui.Action(
        L("Add note", "افزودن یادداشت"),
        f"{base}/note",
        fields=[
            ui.ActionField(
                "body",
                L("Internal note (never sent)", "یادداشت داخلی (ارسال نمی‌شود)"),
                "textarea",
                required=True,
                value=kept.get("note", {}).get("body"),
            )
        ],
    )
    if t.state != "closed":
        agents = [(a.username, a.display_name) for a in queue.agents(uow.session) if a.active]
        forms["assign"] = ui.Action(
            L("Assign", "واگذاری"),
            f"{base}/assign",
            fields=[
                ui.ActionField(
                    "agent",
                    L("Agent", "کارشناس"),
                    "select",
                    options=agents,
                    value=t.assignee.username if t.assignee else None,
                    required=True,
                )
            ],
        )
        forms["merge"] = ui.Action(
            L("Merge", "ادغام"),
            f"{base}/merge",
            confirm=L(
                "Merge the duplicate into this ticket? It is closed and its messages move here.",
                "تیکت تکراری در این تیکت ادغام شود؟ آن تیکت بسته و پیام‌هایش به این‌جا منتقل می‌شود.",
            ),
            fields=[
                ui.ActionField(
                    "duplicate",
                    L("Duplicate ticket number", "شمارهٔ تیکت تکراری"),
                    "number",
                    required=True,
                    value=kept.get("merge", {}).get("duplicate"),
                )
            ],
        )
    if t.state not in ("resolved", "closed"):
        forms["resolve"] = ui.Action(L("Mark resolved", "حل شد"), f"{base}/resolve", tone="success")
    scores = [("", L("not asked yet", "هنوز پرسیده نشده"))] + [
        (str(i), str(i)) for i in range(5, 0, -1)
    ]
    if t.state != "closed":
        forms["close"] = ui.Action(
            L("Close ticket", "بستن تیکت"),
            f"{base}/close",
            tone="success",
            confirm=L(
                "Close this ticket? Closed tickets are final.",
                "این تیکت بسته شود؟ تیکت بسته دیگر باز نمی‌شود.",
            ),
            fields=[
                ui.ActionField(
                    "score",
                    L("Customer satisfaction (CSAT)", "رضایت مشتری (CSAT)"),
                    "select",
                    options=scores,
                ),
                ui.ActionField("comment", L("Customer's comment", "نظر مشتری"), "text"),
            ],
        )
    elif t.csat_score is None and not t.csat_by:
        forms["csat"] = ui.Action(
            L("Record CSAT", "ثبت رضایت"),
            f"{base}/csat",
            fields=[
                ui.ActionField(
                    "score",
                    L("Customer satisfaction (CSAT)", "رضایت مشتری (CSAT)"),
                    "select",
                    options=scores[1:],
                    required=True,
                ),
                ui.ActionField("comment", L("Customer's comment", "نظر مشتری"), "text"),
            ],
        )
    return forms


def ticket_page(
    ctx, tid, *, error: tuple[str, Exception] | None = None, values: dict | None = None
):
    uow = ctx.uow
    t = service.get_ticket(uow.session, tid)
    _readable(uow, t)
    now = uow.now()
    customer = uow.session.get(Customer, t.customer_id)
    c = queue.countdown(uow, t, now)
    badges = [
        ui.Badge(STATE_LABELS[t.state], STATE_TONES[t.state]),
        ui.Badge(PRIORITY_LABELS[t.priority], PRIORITY_TONES[t.priority]),
        ui.Badge(CHANNEL_LABELS.get(t.channel, t.channel), "neutral"),
    ]
    sla_badge = _countdown_badge(c) or _outcome_badge(t)
    if sla_badge is not None:
        badges.append(sla_badge)
    links: list[Any] = []
    if t.merged_into_id:
        links.append(
            ui.Link(
                L(f"Merged into #{t.merged_into_id}", f"ادغام‌شده در #{t.merged_into_id}"),
                f"/p/tickets/tickets/{t.merged_into_id}",
            )
        )
    if t.follow_up_of_id:
        links.append(
            ui.Link(
                L(f"Follows up #{t.follow_up_of_id}", f"پیگیری #{t.follow_up_of_id}"),
                f"/p/tickets/tickets/{t.follow_up_of_id}",
            )
        )
    details = ui.FieldList(
        [
            ui.Field(
                L("Customer", "مشتری"),
                ui.Link(
                    customer.display_name if customer else str(t.customer_id),
                    f"/customers/{t.customer_id}",
                ),
            ),
            ui.Field(
                L("Agent", "کارشناس"),
                t.assignee.display_name if t.assignee else L("Unassigned", "بدون کارشناس"),
            ),
            ui.Field(L("Team", "تیم"), t.team.name if t.team else None),
            ui.Field(L("Opened", "باز شده"), t.created_at, "moment"),
            ui.Field(L("Category", "دسته"), t.category),
            ui.Field(L("Tags", "برچسب‌ها"), [x.tag for x in t.tags]),
            ui.Field(
                L("CSAT", "رضایت مشتری"),
                f"{t.csat_score}/5"
                if t.csat_score
                else (
                    L(f"asked by {t.csat_by}", f"پرسیده‌شده توسط {t.csat_by}") if t.csat_by else None
                ),
            ),
        ]
    )
    where, exc = error if error else (None, None)
    forms = _forms(uow, t, {where: values or {}} if where else {}) if _may_edit(uow, t) else {}
    response = ctx.render(
        "crmcore_tickets:templates/ticket.html",
        title=f"#{t.id} {t.subject}",
        ticket=t,
        badges=badges,
        links=links,
        details=details,
        sla=_sla_fields(uow, t),
        conversation=conversation(t),
        forms=forms,
        error_action=where,
        error=exc,
        values=values or {},
        done=ctx.query.get("done"),
        plugin="tickets",
        may=lambda level: ctx.user.can(level, "tickets"),
        label=L,
        retry_form=lambda mid: ui.Action(
            L("Send again", "ارسال دوباره"),
            f"/tickets/{t.id}/retry",
            fields=[ui.ActionField("message", "", "hidden", value=str(mid))],
        ),
    )
    if error is not None:
        response.status_code = 422
    return response


def _may_edit(uow, t: Ticket) -> bool:
    """Whether the record rules let the user change this ticket (forms are offered only then)."""
    from crmcore.api import Forbidden

    try:
        service.editable_ticket(uow, t.id)
    except Forbidden:
        return False
    return True


def show_page(ctx):
    return ticket_page(ctx, ctx.path_params["ticket_id"])


def page_action(name: str):
    def endpoint(ctx):
        from fastapi.responses import RedirectResponse

        tid = ctx.path_params["ticket_id"]
        values = ctx.body or {}
        try:
            with ctx.uow.session.begin_nested():  # a refusal rolls back whatever the action began
                ACTIONS[name](ctx.uow, ctx.user, tid, values)
        except (ValidationError, NotFound, Conflict) as exc:
            ctx.uow.session.expire_all()
            return ticket_page(ctx, tid, error=(name, exc), values=values)
        return RedirectResponse(f"/p/tickets/tickets/{tid}?done={name}", status_code=303)

    endpoint.__name__ = f"tickets_page_{name}"
    return endpoint


# --- a new ticket from the customer's 360° page ---------------------------------------------------
def new_ticket_fields(values: dict | None = None) -> list[ui.ActionField]:
    v = values or {}
    return [
        ui.ActionField("subject", L("Subject", "موضوع"), value=v.get("subject"), required=True),
        ui.ActionField(
            "body", L("What the customer said", "گفتهٔ مشتری"), "textarea", value=v.get("body")
        ),
        ui.ActionField(
            "channel",
            L("Channel", "کانال"),
            "select",
            value=v.get("channel") or "phone",
            options=list(CHANNEL_LABELS.items()),
        ),
        ui.ActionField(
            "priority",
            L("Priority", "اولویت"),
            "select",
            value=v.get("priority") or "normal",
            options=list(PRIORITY_LABELS.items()),
        ),
    ]


def customer_actions(uow, customer) -> list[ui.Action]:
    """The 360° page's "open a ticket" (``crm_customer_actions``)."""
    return [
        ui.Action(
            L("Open a ticket", "ثبت تیکت"),
            f"/customers/{customer.id}/tickets",
            fields=new_ticket_fields(),
            access="write",
        )
    ]


def new_ticket_page(ctx):
    """Open a ticket for the customer of the path (:func:`.service.open_ticket`, as ``crm
    tickets open``), then go to it; a refusal shows the form again with the reason beside its
    field."""
    from fastapi.responses import RedirectResponse

    from crmcore.api import CRMError, check_customer, get_customer

    values = ctx.body or {}
    customer = get_customer(ctx.uow.session, ctx.path_params["customer_id"])
    check_customer(ctx.uow, customer, "write")
    try:
        with ctx.uow.session.begin_nested():
            t = service.open_ticket(
                ctx.uow,
                customer,
                subject=values.get("subject") or "",
                body=_text(values, "body") or None,
                channel=values.get("channel") or "phone",
                priority=values.get("priority") or "normal",
                source="web",
            )
    except CRMError as exc:
        ctx.uow.session.expire_all()
        response = ctx.render(
            "crmcore_tickets:templates/new.html",
            title=ui.text_of(L("Open a ticket", "ثبت تیکت"), ctx.lang),
            heading=L("Open a ticket", "ثبت تیکت"),
            customer=customer,
            fields=new_ticket_fields(values),
            error=exc.message,
            field=exc.field,
            button=L("Open the ticket", "ثبت تیکت"),
            plugin="tickets",
        )
        response.status_code = 422
        return response
    return RedirectResponse(f"/p/tickets/tickets/{t.id}?done=open", status_code=303)


def routes() -> list[WebRoute]:
    one = "/tickets/{ticket_id:int}"
    out = [
        WebRoute(
            "/customers/{customer_id:int}/tickets",
            new_ticket_page,
            kind="page",
            methods=("POST",),
            access="write",
        ),
        WebRoute(
            "/tickets",
            api_list,
            paged=True,
            summary="Tickets (filters: state=unsolved|all|new|open|…, priority, agent, "
            "breached=1), "
            "each with its SLA countdown in business time",
        ),
        WebRoute(
            one,
            api_show,
            summary="A ticket with its SLA, countdown and conversation (notes included)",
        ),
        WebRoute("/queue", queue_page, kind="page"),
        WebRoute(
            "/queue/check-mail", check_mail_page, kind="page", methods=("POST",), access="manage"
        ),
        WebRoute(
            "/mail/check",
            api_check_mail,
            methods=("POST",),
            access="manage",
            summary="Read new mail of the email sources now (as crm tickets email poll "
            "--once): per source what became tickets and replies, or why it failed",
        ),
        WebRoute(one, show_page, kind="page"),
    ]
    for name in ACTIONS:
        out.append(
            WebRoute(
                f"{one}/{name}",
                api_action(name),
                methods=("POST",),
                access="write",
                summary=SUMMARIES[name],
            )
        )
        out.append(
            WebRoute(
                f"{one}/{name}", page_action(name), kind="page", methods=("POST",), access="write"
            )
        )
    return out


def menu() -> list[MenuItem]:
    return [MenuItem(label="Tickets", label_fa="تیکت‌ها", href="/p/tickets/queue")]
