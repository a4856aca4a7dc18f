"""SMS through SMS.ir's REST API v1 (``https://api.sms.ir/v1/…``).

Shapes followed: SMS.ir's API documentation (apidocs.sms.ir / docs.sms.ir) and the company's SDK
IPeCompany/smsir-php (``src/SmsIrService.php``): header ``X-API-KEY``; every answer
``{"status", "message", "data"}`` with ``status == 1`` for success; HTTP 400 a refusal, 401 a bad key,
429 too many requests, 500 a server fault.

- plain: ``POST send/bulk`` ``{lineNumber, messageText, mobiles: [one], sendDateTime: null}`` →
  ``data.messageIds[0]`` (and ``data.packId``)
- bulk: ``POST send/likeToLike`` ``{lineNumber, messageTexts, mobiles, sendDateTime}`` (one line per
  request) → ``data.messageIds`` in request order
- template/OTP: ``POST send/verify`` ``{mobile, templateId, parameters: [{name, value}]}`` →
  ``data.messageId``
- status: ``GET send/{messageId}`` → ``data.deliveryState``: 1 delivered; 2 not delivered to the phone,
  4 not delivered to the operator, 6 failed; 3 and 5 on the way; 7 the number is on the operator's
  blacklist (blocked advertising SMS)
- connection test: ``GET credit`` → ``data`` (credit)

SMS.ir takes no client-side id, so a request that timed out after it was sent is ambiguous: the message is
marked ``unknown`` and never resent (a connection that was never made is retried).
"""

from __future__ import annotations

from typing import Any

from .base import DeliveryError, Outgoing, SendResult, secret
from .iran import (
    DeliveryReport,
    GatewayChannel,
    field,
    items_of,
    line_for,
    local_mobile,
    report_from,
)

DEFAULT_URL = "https://api.sms.ir/v1"
STATUS: dict[str, tuple[str, str]] = {
    "1": ("delivered", "delivered to the phone"),
    "3": ("sent", "processing at the operator"),
    "5": ("sent", "delivered to the operator"),
    "2": ("failed", "not delivered to the phone"),
    "4": ("failed", "not delivered to the operator"),
    "6": ("failed", "failed"),
    "7": ("failed", "the number is on the operator's blacklist (advertising SMS blocked, *800#)"),
}
BLACKLIST = {"7"}


class SmsIrChannel(GatewayChannel):
    NAME = "SMS.ir"
    DEFAULT_URL = DEFAULT_URL
    DEDUPLICATES = False

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"X-API-KEY": str(secret(self.options, "api_key")), "Accept": "application/json"}
        response = self.request(method, f"{self.url}/{path}", headers=headers, **kwargs)
        data = self.json_of(response)
        message = field(data, "message") if isinstance(data, dict) else None
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(
                f"SMS.ir is busy (HTTP {response.status_code}): {message or ''}".rstrip(": "),
                retryable=True,
            )
        if (
            not isinstance(data, dict)
            or str(field(data, "status")) != "1"
            or response.status_code != 200
        ):
            code = field(data, "status") if isinstance(data, dict) else None
            raise DeliveryError(
                f"SMS.ir refused the request (HTTP {response.status_code}, status {code}): "
                f"{message or response.text[:200]}",
                retryable=False,
            )
        return field(data, "data")

    def send(self, out: Outgoing) -> SendResult:
        data = self._call(
            "POST",
            "send/bulk",
            json={
                "lineNumber": _line(self.options, out),
                "messageText": out.body,
                "mobiles": [local_mobile(out.recipient)],
                "sendDateTime": None,
            },
        )
        return SendResult(_first_id(data))

    def send_bulk(self, outs: list[Outgoing]) -> list[SendResult | DeliveryError]:
        results: dict[int, SendResult | DeliveryError] = {}
        by_line: dict[Any, list[int]] = {}
        for i, out in enumerate(outs):
            by_line.setdefault(_line(self.options, out), []).append(i)
        for line, idx in by_line.items():
            try:
                data = self._call(
                    "POST",
                    "send/likeToLike",
                    json={
                        "lineNumber": line,
                        "messageTexts": [outs[i].body for i in idx],
                        "mobiles": [local_mobile(outs[i].recipient) for i in idx],
                        "sendDateTime": None,
                    },
                )
                ids = list(field(data or {}, "messageIds") or [])
            except DeliveryError as exc:
                for i in idx:
                    results[i] = exc
                continue
            for n, i in enumerate(idx):
                results[i] = (
                    SendResult(str(ids[n]))
                    if n < len(ids)
                    else DeliveryError(
                        "SMS.ir's answer has no message id for this number; it may have been sent",
                        retryable=False,
                        ambiguous=True,
                    )
                )
        return [results[i] for i in range(len(outs))]

    def send_template(self, out: Outgoing, template: str, params: dict[str, str]) -> SendResult:
        if not str(template).isdigit():
            raise DeliveryError(
                f"an SMS.ir template id is a number, not {template!r}", retryable=False
            )
        data = self._call(
            "POST",
            "send/verify",
            json={
                "mobile": local_mobile(out.recipient),
                "templateId": int(template),
                "parameters": [{"name": k, "value": str(v)} for k, v in params.items()],
            },
        )
        mid = field(data or {}, "messageId")
        if not mid:
            raise DeliveryError(
                "SMS.ir accepted the request but returned no message id",
                retryable=False,
                ambiguous=True,
            )
        return SendResult(str(mid))

    def poll(self, provider_message_ids: list[str]) -> list[DeliveryReport]:
        reports = []
        for mid in provider_message_ids:  # the documented report is one message per request
            data = self._call("GET", f"send/{mid}", safe_to_retry=True)
            reports += self.parse_callback(data)
        return reports

    def parse_callback(self, data: Any) -> list[DeliveryReport]:
        out = []
        for item in items_of(data):
            report = report_from(
                STATUS, BLACKLIST, field(item, "messageId"), field(item, "deliveryState")
            )
            if report is not None:
                out.append(report)
        return out

    def check(self) -> str:
        return f"credit {self._call('GET', 'credit', safe_to_retry=True)}"


def _line(options: dict[str, Any], out: Outgoing) -> int | str | None:
    line = line_for(options, out)
    return int(line) if line and line.isdigit() else line


def _first_id(data: Any) -> str:
    ids = field(data or {}, "messageIds") if isinstance(data, dict) else None
    if not ids:
        raise DeliveryError(
            "SMS.ir accepted the request but returned no message id",
            retryable=False,
            ambiguous=True,
        )
    return str(ids[0])
