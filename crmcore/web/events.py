"""The live caller-ID pop: server-sent events fed by the outbox rows of ``voip_incoming_call``.

The voip plugin writes each incoming call's screen pop to the outbox in the transaction that records the call
(whichever process listens to the PBX or receives the webhooks). ``GET /events/calls`` polls the outbox for
newer rows and sends each as an event ``call`` with the row id as the event id, so a browser reconnecting with
``Last-Event-ID`` misses nothing; a new stream starts after the newest row (old calls are not replayed). A user
with an extension only sees calls ringing that extension (or calls for no extension in particular),
and a caller who is a customer the user may not read (record rules) is shown without a name.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool

from ..storage.models import OutboxEvent
from .auth import Principal
from .deps import api_user, state

EVENT = "voip_incoming_call"
#: a staff notification (crmcore.services.notifications): popped to its user alone, as a
#: "notice" event
NOTICE = "crm_user_notified"
BATCH = 50


def pop_for_browser(row_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """The few fields the browser shows (the pop may carry whole profile sections)."""
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else None
    suggestion = payload.get("suggestion") if isinstance(payload.get("suggestion"), dict) else None
    summary = payload.get("summary") if isinstance(payload.get("summary"), dict) else {}
    number = payload.get("number") or payload.get("caller")
    return {
        "id": row_id,
        "at": payload.get("at"),
        "number": number,
        "number_display": _national(number),
        "extension": payload.get("extension"),
        "customer": {"id": customer.get("id"), "name": customer.get("name")} if customer else None,
        "summary": {k: summary[k] for k in ("tier", "points", "open_tickets") if k in summary},
        "last_purchase": summary.get("last_purchase"),
        "others": len(payload.get("other_matches") or []),
        "suggestion": {"phone": suggestion.get("phone")} if suggestion else None,
        "restricted": False,
    }


def _national(number: Any) -> str | None:
    """+989121234567 → 0912 123 4567, as Iranians write it; other numbers as they are."""
    if not isinstance(number, str) or not number.startswith("+98"):
        return number if isinstance(number, str) else None
    from ..domain.phones import Phone

    try:
        return Phone(number).national()
    except Exception:  # noqa: BLE001 - a number the PBX sent oddly is still worth showing
        return number


def _visible(user: Principal, payload: dict[str, Any]) -> bool:
    ext = payload.get("extension")
    return not user.extension or not ext or str(ext) == user.extension


def _hide_unreadable(uow, pops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The record rules on pops: a caller who is a customer the user may not read is shown without
    name, link or profile facts (``restricted``), as on the customer's own page (403)."""
    from ..services.access import customer_clause
    from ..storage.models import Customer

    clause = customer_clause(uow, "read")
    ids = {
        p["customer"]["id"] for p in pops if p["customer"] and p["customer"].get("id") is not None
    }
    if clause is None or not ids:
        return pops
    readable = set(uow.session.scalars(select(Customer.id).where(Customer.id.in_(ids), clause)))
    for pop in pops:
        if pop["customer"] and pop["customer"].get("id") not in readable:
            pop.update(customer=None, restricted=True, summary={}, last_purchase=None, others=0)
    return pops


def newest_id(uow) -> int:
    return uow.session.scalar(select(func.max(OutboxEvent.id))) or 0


def notice_for_browser(row_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row_id,
        "type": "notice",
        "notification": payload.get("id"),
        "kind": payload.get("kind"),
        "title": payload.get("title"),
        "link": payload.get("link"),
    }


def pops_after(
    uow, user: Principal, after: int, limit: int = BATCH
) -> tuple[list[dict[str, Any]], int]:
    """Pops newer than outbox row ``after`` this user may see (calls, and their own notifications),
    and the last row id looked at."""
    rows = uow.session.execute(
        select(OutboxEvent.id, OutboxEvent.event, OutboxEvent.payload)
        .where(OutboxEvent.event.in_((EVENT, NOTICE)), OutboxEvent.id > after)
        .order_by(OutboxEvent.id)
        .limit(limit)
    ).all()
    last = rows[-1].id if rows else after
    calls, notices = [], []
    for r in rows:
        payload = r.payload or {}
        if r.event == NOTICE:
            if payload.get("username") == user.username and payload.get("pop"):
                notices.append(notice_for_browser(r.id, payload))
        elif _visible(user, payload):
            calls.append(pop_for_browser(r.id, payload))
    pops = _hide_unreadable(uow, calls) + notices
    return sorted(pops, key=lambda p: p["id"]), last


def recent_pops(uow, user: Principal, limit: int = 20) -> list[dict[str, Any]]:
    rows = uow.session.execute(
        select(OutboxEvent.id, OutboxEvent.payload)
        .where(OutboxEvent.event == EVENT)
        .order_by(OutboxEvent.id.desc())
        .limit(limit * 3)
    ).all()
    return _hide_unreadable(
        uow,
        [pop_for_browser(r.id, r.payload or {}) for r in rows if _visible(user, r.payload or {})][
            :limit
        ],
    )


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/events/calls")
    async def calls(request: Request, user: Principal = Depends(api_user("read"))):
        web = state(request)
        settings = web.settings
        start = request.headers.get("last-event-id") or request.query_params.get("after")

        def read(after: int | None) -> tuple[list[dict[str, Any]], int]:
            with web.unit(user, readonly=True) as uow:
                if after is None:
                    return [], newest_id(uow)
                return pops_after(uow, user, after)

        async def stream() -> AsyncIterator[str]:
            after = int(start) if start and start.isdigit() else None
            pops, after = await run_in_threadpool(read, after)
            yield f"retry: 3000\nid: {after}\n\n"
            deadline = time.monotonic() + settings.sse_max_seconds
            quiet_since = time.monotonic()
            while time.monotonic() < deadline:
                for pop in pops:
                    kind, data = pop.get("type", "call"), json.dumps(pop, ensure_ascii=False)
                    yield f"id: {pop['id']}\nevent: {kind}\ndata: {data}\n\n"
                    quiet_since = time.monotonic()
                if time.monotonic() - quiet_since > settings.sse_keepalive:
                    yield ": keepalive\n\n"
                    quiet_since = time.monotonic()
                if await request.is_disconnected():
                    return
                await asyncio.sleep(settings.sse_poll)
                pops, after = await run_in_threadpool(read, after)
            yield f"id: {after}\nevent: bye\ndata: {{}}\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    return r
