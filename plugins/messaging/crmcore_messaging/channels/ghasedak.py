"""SMS through Ghasedak's web service (``https://gw.ghasedak.me/Rest/api/v1/WebService/…``).

Shapes followed: the official SDK ghasedakapi/ghasedak_sms_python (``ghasedak.py``, ``dto.py``, ``enums``):
header ``ApiKey``; JSON bodies; every answer ``{"isSuccess", "statusCode", "message", "data"}``.

- plain: ``POST SendSingleSMS`` ``{lineNumber, receptor, message, clientReferenceId, sendDate, udh}`` →
  ``data.messageId``
- bulk: ``POST SendPairToPairSMS`` ``{items: [{lineNumber, receptor, message, clientReferenceId}], udh}`` →
  ``data.items[].messageId`` (or ``data`` as the list), in request order
- template/OTP: ``POST SendOtpSMS`` ``{receptors: [{mobile, clientReferenceId}], templateName,
  inputs: [{param, value}]}`` → ``data.items[].messageId``
- status: ``GET CheckSmsStatus?Type=1&Ids=…`` (Type 1 = message id, 2 = client reference id) →
  ``data`` items with ``messageId``, ``clientReferenceId``, ``status`` (the SDK's ``SendStatus``: 14
  delivered; 13 not delivered, 16 failed, 15 blocked, 1 rejected, 6 internal failure, 7 cancelled;
  12 blacklisted and 8 internally blacklisted = the number blocked advertising SMS)
- connection test: ``GET GetAccountInformation`` → ``data.credit``

Retries: our message id goes out as ``clientReferenceId``. After a timeout the message is retried, and the
retry first asks ``CheckSmsStatus`` by client reference id: if the first request did reach Ghasedak its
message id is taken and nothing is sent again.
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

DEFAULT_URL = "https://gw.ghasedak.me/Rest/api/v1/WebService"
STATUS: dict[str, tuple[str, str]] = {
    "0": ("sent", "to be confirmed"),
    "2": ("sent", "to be sent"),
    "3": ("sent", "sending"),
    "4": ("sent", "sent"),
    "5": ("sent", "debug mode"),
    "9": ("sent", "paused"),
    "10": ("sent", "sent to the operator"),
    "11": ("sent", "delivered to the operator"),
    "17": ("sent", "processing"),
    "14": ("delivered", "delivered"),
    "1": ("failed", "rejected"),
    "6": ("failed", "internal failure"),
    "7": ("failed", "cancelled"),
    "8": ("failed", "blacklisted (advertising SMS blocked)"),
    "12": ("failed", "blacklisted by the operator (advertising SMS blocked, *800#)"),
    "13": ("failed", "not delivered"),
    "15": ("failed", "blocked"),
    "16": ("failed", "failed"),
}
BLACKLIST = {"8", "12"}


class GhasedakChannel(GatewayChannel):
    NAME = "Ghasedak"
    DEFAULT_URL = DEFAULT_URL
    DEDUPLICATES = True

    def _headers(self) -> dict[str, str]:
        return {"ApiKey": str(secret(self.options, "api_key")), "Accept": "application/json"}

    def _call(self, method: str, op: str, **kwargs: Any) -> Any:
        response = self.request(method, f"{self.url}/{op}", headers=self._headers(), **kwargs)
        data = self.json_of(response) if response.content else {}
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(
                f"Ghasedak is busy (HTTP {response.status_code}): "
                f"{field(data, 'message') or ''}".rstrip(": "),
                retryable=True,
            )
        if not isinstance(data, dict) or not field(data, "isSuccess"):
            detail = field(data, "message") if isinstance(data, dict) else None
            code = field(data, "statusCode") if isinstance(data, dict) else None
            raise DeliveryError(
                f"Ghasedak refused the request ({code or response.status_code}): "
                f"{detail or response.text[:200]}",
                retryable=False,
            )
        return field(data, "data")

    def _already_sent(self, out: Outgoing) -> str | None:
        """On a retry: the message id Ghasedak gave our client reference id, if the first try got through."""
        if out.attempt <= 1:
            return None
        return self.find_local([out.message_id]).get(out.message_id)

    def find_local(self, message_ids: list[int]) -> dict[int, str]:
        found = self._call(
            "GET", "CheckSmsStatus", params={"Type": "2", "Ids": [str(m) for m in message_ids]}
        )
        wanted = {str(m): m for m in message_ids}
        out = {}
        for item in items_of(found):
            ref, mid = str(field(item, "clientReferenceId") or ""), field(item, "messageId")
            if ref in wanted and mid:
                out[wanted[ref]] = str(mid)
        return out

    def send(self, out: Outgoing) -> SendResult:
        earlier = self._already_sent(out)
        if earlier:
            return SendResult(earlier)
        data = self._call(
            "POST",
            "SendSingleSMS",
            json={
                "lineNumber": line_for(self.options, out),
                "receptor": local_mobile(out.recipient),
                "message": out.body,
                "clientReferenceId": str(out.message_id),
                "sendDate": None,
                "udh": False,
            },
        )
        return SendResult(_message_id(data))

    def send_bulk(self, outs: list[Outgoing]) -> list[SendResult | DeliveryError]:
        results: list[SendResult | DeliveryError | None] = [None] * len(outs)
        todo = []
        for i, out in enumerate(outs):
            earlier = self._already_sent(out)
            if earlier:
                results[i] = SendResult(earlier)
            else:
                todo.append(i)
        if todo:
            items = [
                {
                    "lineNumber": line_for(self.options, outs[i]),
                    "receptor": local_mobile(outs[i].recipient),
                    "message": outs[i].body,
                    "clientReferenceId": str(outs[i].message_id),
                }
                for i in todo
            ]
            try:
                data = self._call("POST", "SendPairToPairSMS", json={"items": items, "udh": False})
            except DeliveryError as exc:
                for i in todo:
                    results[i] = exc
            else:
                sent = items_of(data)
                for n, i in enumerate(todo):
                    mid = field(sent[n], "messageId") if n < len(sent) else None
                    results[i] = (
                        SendResult(str(mid))
                        if mid
                        else DeliveryError(
                            "Ghasedak's bulk answer has no message id for this receptor",
                            retryable=True,
                        )
                    )
        return [r for r in results if r is not None]

    def send_template(self, out: Outgoing, template: str, params: dict[str, str]) -> SendResult:
        earlier = self._already_sent(out)
        if earlier:
            return SendResult(earlier)
        data = self._call(
            "POST",
            "SendOtpSMS",
            json={
                "sendDate": None,
                "templateName": template,
                "udh": False,
                "receptors": [
                    {
                        "mobile": local_mobile(out.recipient),
                        "clientReferenceId": str(out.message_id),
                    }
                ],
                "inputs": [{"param": k, "value": str(v)} for k, v in params.items()],
            },
        )
        items = items_of(data)
        return SendResult(_message_id(items[0] if items else data))

    def poll(self, provider_message_ids: list[str]) -> list[DeliveryReport]:
        data = self._call(
            "GET", "CheckSmsStatus", params={"Type": "1", "Ids": list(provider_message_ids)}
        )
        return self.parse_callback(data)

    def parse_callback(self, data: Any) -> list[DeliveryReport]:
        out = []
        for item in items_of(data):
            report = report_from(
                STATUS,
                BLACKLIST,
                field(item, "messageId"),
                field(item, "status"),
                field(item, "statusDescription"),
            )
            if report is not None and report.provider_message_id not in ("", "None"):
                out.append(report)
        return out

    def check(self) -> str:
        data = self._call("GET", "GetAccountInformation")
        return f"credit {field(data or {}, 'credit')}"


def _message_id(data: Any) -> str:
    mid = field(data, "messageId") if isinstance(data, dict) else None
    if not mid:
        raise DeliveryError(
            "Ghasedak accepted the request but returned no message id",
            retryable=False,
            ambiguous=True,
        )
    return str(mid)
