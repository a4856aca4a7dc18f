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
    customer = get_customer(ctx.uow.session, ctx.path_params["customer_id"])
    text = (ctx.body or {}).get("text", "")
    send_to_customer(ctx.uow, customer, text)
    from starlette.responses import RedirectResponse

    return RedirectResponse(f"/customers/{customer.id}", status_code=303)


def api_reply(ctx):
    customer = get_customer(ctx.uow.session, ctx.path_params["customer_id"])
    row = send_to_customer(ctx.uow, customer, str((ctx.body or {}).get("text", "")))
    return {"id": row.id, "chat_id": row.chat_id, "status": row.status}


ROUTES = [
    WebMount("/chat", factory=create_app, public=True),
    WebRoute("/chat/{customer_id:int}", reply_from_page, kind="page", methods=("POST",),
             access="write"),
    WebRoute("/chat/{customer_id:int}", api_reply, methods=("POST",), access="write",
             summary="messaging: send a chat message to the customer's linked chat ({text})"),
]
