"""A small WSGI app for provider callbacks: delivery reports and inbound SMS.

Routes (POST form or GET query), each requiring ``?token=`` equal to the ``webhook_token`` setting:

- ``/messaging/kavenegar/status``  (messageid, status)     ``/messaging/kavenegar/inbound`` (from, message)
- ``/messaging/twilio/status``     (MessageSid, MessageStatus, ErrorCode)
- ``/messaging/twilio/inbound``    (From, Body)
- ``/messaging/<ghasedak|smsir|melipayamak>/status``: delivery reports, a form or a JSON body (one report
  or a list) with the fields of the gateway's own status answer (see each adapter in ``channels/``):
  Ghasedak ``messageId, status``; SMS.ir ``messageId, deliveryState``; Melipayamak ``recId, status``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from crmcore.api import CRMError

from .delivery import apply_callback
from .inbound import handle_inbound_sms, update_delivery_status
from .settings import get_settings

#: gateways whose delivery reports arrive at /messaging/<kind>/status (see crmcore_messaging.delivery)
GATEWAY_REPORTS = ("ghasedak", "smsir", "melipayamak")

MAX_BODY = 64 * 1024


class WebhookApp:
    def __init__(self, app):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        status, body, ctype = self.handle(environ)
        data = body.encode("utf-8")
        start_response(status, [("Content-Type", ctype), ("Content-Length", str(len(data)))])
        return [data]

    def handle(self, environ: dict[str, Any]) -> tuple[str, str, str]:
        parts = environ.get("PATH_INFO", "").strip("/").split("/")
        if len(parts) != 3 or parts[0] != "messaging":
            return _json("404 Not Found", {"error": "unknown route"})
        gateway = parts[1] in GATEWAY_REPORTS and parts[2] == "status"
        if not gateway and (
            parts[1] not in ("kavenegar", "twilio") or parts[2] not in ("status", "inbound")
        ):
            return _json("404 Not Found", {"error": "unknown route"})
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        form = dict(query)
        body: Any = None
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            if length > MAX_BODY:
                return _json("413 Payload Too Large", {"error": "body too large"})
            raw = environ["wsgi.input"].read(length).decode("utf-8", "replace")
            if environ.get("CONTENT_TYPE", "").startswith("application/json"):
                try:
                    body = json.loads(raw or "null")
                except ValueError:
                    return _json("400 Bad Request", {"error": "the body is not JSON"})
            else:
                form.update({k: v[0] for k, v in parse_qs(raw).items()})
        provider, what = parts[1], parts[2]
        try:
            with self.app.unit_of_work(actor=f"webhook:{provider}") as uow:
                expected = get_settings(uow)["webhook_token"]
                if not expected:
                    return _json("403 Forbidden", {"error": "set the webhook_token setting first"})
                if not hmac.compare_digest(str(query.get("token", "")), expected):
                    return _json("403 Forbidden", {"error": "bad token"})
                if gateway:
                    data = (
                        body
                        if body is not None
                        else {k: v for k, v in form.items() if k != "token"}
                    )
                    return _json("200 OK", apply_callback(uow, provider, data))
                if what == "status":
                    if provider == "kavenegar":
                        out = update_delivery_status(
                            uow, "kavenegar", form.get("messageid", ""), form.get("status", "")
                        )
                    else:
                        code = form.get("ErrorCode")
                        out = update_delivery_status(
                            uow,
                            "twilio",
                            form.get("MessageSid", ""),
                            form.get("MessageStatus", ""),
                            detail=f"Twilio error {code}" if code else None,
                        )
                    return _json("200 OK", out)
                sender = form.get("from") if provider == "kavenegar" else form.get("From")
                text = form.get("message") if provider == "kavenegar" else form.get("Body")
                out = handle_inbound_sms(uow, sender or "", text or "", provider=provider)
        except CRMError as exc:
            return _json("400 Bad Request", {"error": str(exc)})
        if provider == "twilio":
            return "200 OK", '<?xml version="1.0" encoding="UTF-8"?><Response/>', "text/xml"
        return _json("200 OK", out)


def _json(status: str, data: Any) -> tuple[str, str, str]:
    return status, json.dumps(data, ensure_ascii=False), "application/json; charset=utf-8"
