"""The chat channel in ``crm web``: the bot API's webhook at ``/hooks/messaging/chat`` (public: each
update must carry the ``X-Telegram-Bot-Api-Secret-Token`` header set with ``setWebhook``), and the
agents' reply from the customer's page (``POST /p/messaging/chat/{customer_id}``, level write,
the same :func:`.chat.send_to_customer` as ``crm messages chat send``)."""

from __future__ import annotations

import json
import logging

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crmcore.api import CRMError, WebMount, WebRoute, get_customer

from .chat import SECRET_HEADER, check_secret, handle_update, send_to_customer

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024


def create_app(crm) -> Starlette:
    async def webhook(request: Request):
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, status_code=413)
        given = request.headers.get(SECRET_HEADER)

        def run():
            with crm.unit_of_work(actor="webhook:chat") as uow:
                try:
                    allowed = check_secret(uow, given)
                except CRMError:  # no bot configured
                    allowed = False
                if not allowed:
                    return 403, {"error": "bad or missing secret token"}
                try:
                    update = json.loads(raw)
                except ValueError:
                    return 400, {"error": "the body is not JSON"}
                try:
                    with uow.session.begin_nested():
                        return 200, handle_update(uow, update)
                except CRMError as exc:
                    # a 2xx: the bot API would otherwise resend an update we can never apply
                    log.warning("chat webhook: update refused: %s", exc)
                    return 200, {"outcome": "invalid", "error": str(exc)}

        status, data = await run_in_threadpool(run)
        return JSONResponse(data, status_code=status)

    return Starlette(routes=[Route("/", webhook, methods=["POST"])])


def reply_from_page(ctx):
    """The 360° page's form: sent, back to the customer; refused, the form again with the reason
    beside the field (422, nothing stored)."""
    from starlette.responses import RedirectResponse

    customer = get_customer(ctx.uow.session, ctx.path_params["customer_id"])
    text = str((ctx.body or {}).get("text", ""))
    try:
        with ctx.uow.session.begin_nested():
            send_to_customer(ctx.uow, customer, text)
    except CRMError as exc:
        response = ctx.render(
            "crmcore_messaging:web/chat_reply.html",
            title="پیام چت" if ctx.lang == "fa" else "Chat message",
            customer=customer,
            text=text,
            error=exc.message,
            tr=lambda en, fa: fa if ctx.lang == "fa" else en,
        )
        response.status_code = 422
        return response
    return RedirectResponse(f"/customers/{customer.id}?ok=chat_sent", status_code=303)


def api_reply(ctx):
    customer = get_customer(ctx.uow.session, ctx.path_params["customer_id"])
    row = send_to_customer(ctx.uow, customer, str((ctx.body or {}).get("text", "")))
    return {"id": row.id, "chat_id": row.chat_id, "status": row.status}


ROUTES = [
    WebMount("/chat", factory=create_app, public=True),
    WebRoute(
        "/chat/{customer_id:int}", reply_from_page, kind="page", methods=("POST",), access="write"
    ),
    WebRoute(
        "/chat/{customer_id:int}",
        api_reply,
        methods=("POST",),
        access="write",
        summary="messaging: send a chat message to the customer's linked chat ({text})",
    ),
]


def profile_items(uow, customer) -> tuple[list, dict | None]:
    """The chat lines of messaging's customer panel: the linked chat and the form to write to it."""
    from sqlalchemy import select

    from crmcore.api import ui

    from .chat_models import ChatLink

    L = ui.Label
    link = uow.session.scalar(
        select(ChatLink)
        .where(ChatLink.customer_id == customer.id)
        .order_by(ChatLink.linked_at.desc(), ChatLink.id.desc())
        .limit(1)
    )
    if link is None:
        return [], None
    fields = ui.FieldList(
        [ui.Field(L("Chat linked", "چت وصل‌شده"), [link.name or link.chat_id, link.linked_at])]
    )
    form = ui.Action(
        L("Send on chat", "ارسال در چت"),
        f"/chat/{customer.id}",
        tone="info",
        fields=[ui.ActionField("text", L("Chat message", "پیام چت"), "textarea", required=True)],
    )
    return [fields, form], {"chat_id": link.chat_id, "linked_at": link.linked_at.isoformat()}
