"""The webhook endpoint (a small Starlette app; ``crm voip serve`` runs it under uvicorn).

- ``POST /voip/twilio``: Twilio voice / status callbacks (form-encoded), checked against
  ``X-Twilio-Signature`` with ``CRM_VOIP_TWILIO_AUTH_TOKEN``. Answers empty TwiML. Optional query
  ``extension=101`` names the agent phone the number rings (part of the signed URL).
- ``POST /voip/webhook``: the signed JSON webhook of :mod:`crmcore_voip.adapters.generic_webhook`.
- ``GET /voip/health``: ``{"ok": true}``.

Every request is one unit of work: all its events are stored, or none (and the PBX is told why)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crmcore.api import CRMError

from .adapters import generic_webhook, twilio
from .config import VoipConfig, config_for
from .listener import CallListener, PopHandler

log = logging.getLogger("crmcore_voip.web")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
MAX_BODY = 1024 * 1024


def _signed_url(request: Request, cfg: VoipConfig) -> str:
    if cfg.public_url:
        url = cfg.public_url + request.url.path
        return url + ("?" + request.url.query if request.url.query else "")
    return str(request.url)


def _refuse(status: int, message: str, request: Request) -> JSONResponse:
    client = request.client.host if request.client else "?"
    log.warning(
        "voip webhook %s from %s refused (%d): %s", request.url.path, client, status, message
    )
    return JSONResponse({"ok": False, "error": message}, status_code=status)


async def _body(request: Request) -> bytes | None:
    body = await request.body()
    return None if len(body) > MAX_BODY else body


def create_app(
    crm,
    *,
    config: VoipConfig | None = None,
    on_pop: PopHandler | None = None,
    clock: Callable[[], datetime] | None = None,
) -> Starlette:
    cfg = config or config_for(crm)
    listener = CallListener(crm, cfg, on_pop)
    now = clock or crm.now

    async def store(request: Request, events) -> JSONResponse | None:
        try:
            await run_in_threadpool(listener.apply, events)
        except CRMError as exc:
            return _refuse(422, str(exc), request)
        except Exception:  # noqa: BLE001 - tell the PBX to retry later; nothing was stored
            log.exception("voip webhook: storing %d event(s) failed", len(events))
            return JSONResponse(
                {"ok": False, "error": "the CRM could not store the call; retry"}, status_code=503
            )
        return None

    async def twilio_hook(request: Request) -> Response:
        if not cfg.twilio_auth_token:
            return _refuse(
                503, "Twilio is not configured (set CRM_VOIP_TWILIO_AUTH_TOKEN)", request
            )
        body = await _body(request)
        if body is None:
            return _refuse(413, f"the body is larger than {MAX_BODY} bytes", request)
        is_form = "application/x-www-form-urlencoded" in (request.headers.get("content-type") or "")
        try:
            params = parse_qsl(body.decode("utf-8"), keep_blank_values=True) if is_form else []
        except UnicodeDecodeError:
            return _refuse(400, "the form body is not UTF-8", request)
        signature = request.headers.get(twilio.SIGNATURE_HEADER)
        if not signature:
            return _refuse(403, f"unsigned request: {twilio.SIGNATURE_HEADER} is missing", request)
        if not twilio.valid_signature(
            cfg.twilio_auth_token,
            _signed_url(request, cfg),
            params,
            signature,
            body=body,
            settings_header=request.headers.get(twilio.SETTINGS_HEADER),
        ):
            return _refuse(
                403,
                f"{twilio.SIGNATURE_HEADER} does not match this request (wrong auth token, "
                "changed parameters, or CRM_VOIP_PUBLIC_URL differs from the URL Twilio called)",
                request,
            )
        fields = dict(params)
        try:
            events = twilio.call_events(
                fields, now(), extension=request.query_params.get("extension")
            )
        except ValueError as exc:
            return _refuse(422, str(exc), request)
        refused = await store(request, events)
        return refused or Response(EMPTY_TWIML, media_type="text/xml")

    async def generic_hook(request: Request) -> Response:
        if not cfg.webhook_secret:
            return _refuse(
                503, "the JSON webhook is not configured (set CRM_VOIP_WEBHOOK_SECRET)", request
            )
        body = await _body(request)
        if body is None:
            return _refuse(413, f"the body is larger than {MAX_BODY} bytes", request)
        try:
            generic_webhook.verify(
                cfg.webhook_secret,
                request.headers.get(generic_webhook.TIMESTAMP_HEADER),
                request.headers.get(generic_webhook.SIGNATURE_HEADER),
                body,
                now(),
            )
            events = generic_webhook.parse_events(body, now())
        except generic_webhook.WebhookError as exc:
            return _refuse(exc.status, str(exc), request)
        refused = await store(request, events)
        return refused or JSONResponse({"ok": True, "events": len(events)})

    async def health(request: Request) -> Response:
        # anyone may ask (load balancers do): say nothing about the calls
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/voip/twilio", twilio_hook, methods=["POST"]),
            Route("/voip/webhook", generic_hook, methods=["POST"]),
            Route("/voip/health", health, methods=["GET"]),
        ]
    )
    app.state.listener = listener
    return app
