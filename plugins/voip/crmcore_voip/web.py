"""What voip adds to ``crm web``: the call log with filters (paged), the missed calls to call back
(marked done by a click), click-to-call beside every phone number when the PBX's manager login is
configured, and their API routes under ``/api/p/voip/…``.

The record rules apply: a call from a customer the user may not read shows as "a colleague's
customer", without name or number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crmcore.api import (
    CRMError,
    Customer,
    MenuItem,
    PhoneAction,
    ValidationError,
    WebMount,
    WebRoute,
    check_customer,
    customer_clause,
    get_customer,
    ui,
)

from .actions import click_to_call, mark_follow_up_done, telephony_configured
from .config import config_for
from .models import Call, FollowUp
from .profile import DIRECTIONS, STATUSES, _duration
from .service import call_to_dict

L = ui.Label
PAGE = "crmcore_voip:web/page.html"
CALL_STATUSES = tuple(STATUSES)
HIDDEN = L("A colleague's customer", "مشتری همکار")


def _choice(value: str, allowed: tuple[str, ...], field: str) -> str:
    if value not in allowed:
        raise ValidationError(f"{value!r} is not one of {', '.join(allowed)}", field=field)
    return value


def _readable_ids(uow, ids: set[int]) -> set[int]:
    clause = customer_clause(uow, "read")
    if clause is None or not ids:
        return set(ids)
    return set(uow.session.scalars(select(Customer.id).where(Customer.id.in_(ids), clause)))


def _calls(ctx) -> list[Call]:
    q = ctx.query
    stmt = select(Call)
    if q.get("status"):
        stmt = stmt.where(Call.status == _choice(q["status"], CALL_STATUSES, "status"))
    if q.get("direction"):
        stmt = stmt.where(Call.direction == _choice(q["direction"], ("in", "out"), "direction"))
    if q.get("who") == "unknown":
        stmt = stmt.where(Call.customer_id.is_(None), Call.party_e164.is_not(None))
    elif q.get("who") == "customers":
        stmt = stmt.where(Call.customer_id.is_not(None))
    elif q.get("who"):
        _choice(q["who"], ("unknown", "customers"), "who")
    return ctx.page(stmt, [(Call.started_at, True), (Call.id, True)])


def _shown(ctx, calls: list[Call]) -> tuple[dict[int, str], set[int]]:
    """Names of the calls' customers the user may read, and the ids of those they may not."""
    ids = {c.customer_id for c in calls if c.customer_id is not None}
    readable = _readable_ids(ctx.uow, ids)
    names = (
        dict(
            ctx.uow.session.execute(
                select(Customer.id, Customer.display_name).where(Customer.id.in_(readable))
            ).all()
        )
        if readable
        else {}
    )
    return names, ids - readable


def _call_json(call: Call, hidden: set[int]) -> dict[str, Any]:
    data = call_to_dict(call)
    if call.customer_id in hidden:  # the record rules: nothing that tells who the caller is
        data.update(
            customer_id=None,
            restricted=True,
            caller=None,
            callee=None,
            number=None,
            recording_url=None,
            details={},
        )
    else:
        data["restricted"] = False
    return data


def api_calls(ctx):
    calls = _calls(ctx)
    _names, hidden = _shown(ctx, calls)
    return [_call_json(c, hidden) for c in calls]


def _who(call: Call, names: dict[int, str], hidden: set[int]):
    if call.customer_id in hidden:
        return HIDDEN
    if call.customer_id is not None:
        return ui.Link(
            names.get(call.customer_id, f"#{call.customer_id}"), f"/customers/{call.customer_id}"
        )
    return L("Unknown caller", "تماس‌گیرنده ناشناس")


def _page(ctx, tab: str, title: L, status: int = 200, **variables):
    lang = ctx.lang
    response = ctx.render(
        PAGE,
        title=title.text(lang),
        tab=tab,
        heading=title,
        tr=lambda en, fa: fa if lang == "fa" else en,
        may_write=ctx.user.can("write", "voip"),
        **variables,
    )
    response.status_code = status
    return response


def calls_page(ctx):
    error = None
    try:
        calls = _calls(ctx)
    except CRMError as exc:
        calls, error = [], exc
    names, hidden = _shown(ctx, calls)
    can_dial = telephony_configured(config_for(ctx.uow.app)) and ctx.user.can("write", "voip")
    rows = [
        {
            "at": c.started_at,
            "direction": DIRECTIONS.get(c.direction, L(c.direction)),
            "status": ui.Badge(*STATUSES.get(c.status, (L(c.status), "neutral"))),
            "who": _who(c, names, hidden),
            "number": None if c.customer_id in hidden else c.party_e164,
            "dial": (
                c.customer_id
                if can_dial
                and c.customer_id is not None
                and c.customer_id not in hidden
                and c.party_e164
                else None
            ),
            "by": c.answered_by or c.extension,
            "talk": _duration(c.talk_seconds),
        }
        for c in calls
    ]
    q = ctx.query
    return _page(
        ctx,
        "calls",
        L("Call log", "گزارش تماس‌ها"),
        status=422 if error else 200,
        rows=rows,
        error=error,
        next_url=ctx.next_page_url(),
        filters={k: q.get(k, "") for k in ("status", "direction", "who")},
        statuses=STATUSES,
        directions=DIRECTIONS,
    )


def _open_follow_ups(ctx) -> list[FollowUp]:
    return list(
        ctx.uow.session.scalars(
            select(FollowUp)
            .where(FollowUp.status == "open", FollowUp.via == "voip")
            .order_by(FollowUp.due_at, FollowUp.id)
            .limit(200)
        )
    )


def _follow_up_json(f: FollowUp, hidden: set[int]) -> dict[str, Any]:
    restricted = f.customer_id in hidden
    return {
        "id": f.id,
        "number": None if restricted else f.caller_e164,
        "customer_id": None if restricted else f.customer_id,
        "restricted": restricted,
        "call_id": f.call_id,
        "title": None if restricted else f.title,
        "status": f.status,
        "missed_calls": f.missed_calls,
        "due_at": f.due_at.isoformat(),
        "first_missed_at": f.first_missed_at.isoformat(),
        "last_missed_at": f.last_missed_at.isoformat(),
    }


def _hidden_of(ctx, follow_ups: list[FollowUp]) -> tuple[dict[int, str], set[int]]:
    ids = {f.customer_id for f in follow_ups if f.customer_id is not None}
    readable = _readable_ids(ctx.uow, ids)
    names = (
        dict(
            ctx.uow.session.execute(
                select(Customer.id, Customer.display_name).where(Customer.id.in_(readable))
            ).all()
        )
        if readable
        else {}
    )
    return names, ids - readable


def api_follow_ups(ctx):
    ups = _open_follow_ups(ctx)
    _names, hidden = _hidden_of(ctx, ups)
    return [_follow_up_json(f, hidden) for f in ups]


def missed_page(ctx, *, error: CRMError | None = None, status: int = 200, done: int | None = None):
    ups = _open_follow_ups(ctx)
    names, hidden = _hidden_of(ctx, ups)
    now = ctx.uow.now()
    items = [
        {
            "id": f.id,
            "who": (
                HIDDEN
                if f.customer_id in hidden
                else ui.Link(
                    names.get(f.customer_id, f"#{f.customer_id}"), f"/customers/{f.customer_id}"
                )
                if f.customer_id
                else L("Unknown caller", "تماس‌گیرنده ناشناس")
            ),
            "number": None if f.customer_id in hidden else f.caller_e164,
            "missed": f.missed_calls,
            "last": f.last_missed_at,
            "due": f.due_at,
            "late": f.due_at < now,
        }
        for f in ups
    ]
    return _page(
        ctx,
        "missed",
        L("Missed calls to return", "تماس‌های بی‌پاسخ برای تماس مجدد"),
        status=status,
        items=items,
        error=error,
        done=done
        if done is not None
        else (int(ctx.query["done"]) if ctx.query.get("done", "").isdigit() else None),
    )


def follow_up_done_page(ctx):
    try:
        with ctx.uow.session.begin_nested():
            f = mark_follow_up_done(ctx.uow, ctx.path_params["follow_up_id"])
    except CRMError as exc:
        return missed_page(ctx, error=exc, status=403 if type(exc).__name__ == "Forbidden" else 422)
    from starlette.responses import RedirectResponse

    return RedirectResponse(f"/p/voip/missed?done={f.id}", status_code=303)


def api_follow_up_done(ctx):
    f = mark_follow_up_done(ctx.uow, ctx.path_params["follow_up_id"])
    return _follow_up_json(f, set())


def _dial(ctx, data: dict[str, Any]) -> dict[str, Any]:
    raw = str(data.get("customer_id") or "")
    if not raw.isdigit():
        raise ValidationError("choose the customer to call", field="customer_id")
    customer = get_customer(ctx.uow.session, int(raw))
    check_customer(ctx.uow, customer, "read")
    placed = click_to_call(
        config_for(ctx.uow.app),
        extension=ctx.user.extension,
        customer=customer,
        number=str(data.get("phone") or "") or None,
    )
    ctx.uow.audit(
        "click_to_call",
        "voip",
        customer.id,
        {"extension": placed["extension"], "number": placed["number"]},
        customer_id=customer.id,
    )
    return {**placed, "customer_id": customer.id, "name": customer.display_name}


def api_call(ctx):
    return _dial(ctx, ctx.body if isinstance(ctx.body, dict) else {})


def call_page(ctx):
    """The click-to-call button's form: ring the user's extension, then the number; back to where
    the button was, saying what happened."""
    try:
        placed, error = _dial(ctx, ctx.body or {}), None
    except CRMError as exc:
        placed, error = None, exc
    return _page(
        ctx,
        "dial",
        L("Click-to-call", "تماس از روی شماره"),
        status=(403 if type(error).__name__ == "Forbidden" else 422) if error else 200,
        placed=placed,
        error=error,
        back=_back(ctx.request.headers.get("referer") or ""),
    )


def _back(referer: str) -> str:
    """Where the button was: a path of this site only."""
    from urllib.parse import urlsplit

    parts = urlsplit(referer)
    own = parts.path.startswith("/") and not parts.path.startswith("//")
    path = parts.path if own else "/calls"
    return path + (f"?{parts.query}" if parts.query else "")


ROUTES = [
    WebRoute("/calls", calls_page, kind="page", paged=True),
    WebRoute("/missed", missed_page, kind="page"),
    WebRoute(
        "/follow-ups/{follow_up_id:int}/done",
        follow_up_done_page,
        kind="page",
        methods=("POST",),
        access="write",
    ),
    WebRoute("/call", call_page, kind="page", methods=("POST",), access="write"),
    WebRoute(
        "/calls",
        api_calls,
        paged=True,
        summary="voip: the call log, newest first (?status=, ?direction=, ?who=unknown|customers)",
    ),
    WebRoute(
        "/follow-ups", api_follow_ups, summary="voip: open missed-call follow-ups, soonest due"
    ),
    WebRoute(
        "/follow-ups/{follow_up_id:int}/done",
        api_follow_up_done,
        methods=("POST",),
        access="write",
        summary="voip: mark a missed-call follow-up done (called back)",
    ),
    WebRoute(
        "/call",
        api_call,
        methods=("POST",),
        access="write",
        summary="voip: click-to-call: ring the user's extension, then the customer's number",
    ),
]


def routes(webhooks: WebMount) -> list:
    return [webhooks, *ROUTES]


MENU = [
    MenuItem(label="Call log", label_fa="گزارش تماس‌ها", href="/p/voip/calls"),
    MenuItem(label="Missed calls", label_fa="تماس‌های بی‌پاسخ", href="/p/voip/missed"),
]

PHONE_ACTIONS = [
    PhoneAction(
        key="call",
        label="Call",
        label_fa="تماس",
        path="/call",
        available=lambda crm: telephony_configured(config_for(crm)),
    )
]
