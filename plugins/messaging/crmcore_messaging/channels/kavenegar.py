"""SMS through a Kavenegar-shaped REST API: ``POST {url}/v1/{api_key}/<method>.json``.

Shapes followed: Kavenegar's REST documentation (kavenegar.com/rest.html) and its SDK
kavenegar/kavenegar-python: answers ``{"return": {"status", "message"}, "entries": [...]}``.

- plain: ``sms/send.json`` ``{receptor, message, sender, localid}`` → ``entries[0].messageid``
- bulk: ``sms/sendarray.json`` with JSON arrays ``receptor``, ``sender``, ``message``, ``localmessageids``
- template/OTP: ``verify/lookup.json`` ``{receptor, template, token, token2, token3, …}``
- by our id: ``sms/statuslocalmessageid.json`` ``{localid: "1,2,…"}`` → entries ``{messageid, localid,
  status}`` (status 100: unknown id)
- status: ``sms/status.json`` ``{messageid: "1,2,…"}`` → entries ``{messageid, status, statustext}``:
  10 delivered; 6 failed at the operator, 11 not delivered, 13 cancelled, 14 blocked by the recipient
  (advertising SMS blocked, *800#); 1, 2, 4, 5 on the way
- connection test: ``account/info.json`` → ``entries.remaincredit``

Kavenegar deduplicates on ``localid`` (our message id), so a request that timed out can be retried without
sending twice. ``return.status`` 200 ok; 409 and HTTP 5xx/429 are temporary; the rest (411 bad receptor,
412 bad sender, 418 no credit…) are permanent.
"""

from __future__ import annotations

import json
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

DEFAULT_URL = "https://api.kavenegar.com"
TEMPORARY = {409, 429}
STATUS: dict[str, tuple[str, str]] = {
    "1": ("sent", "queued"),
    "2": ("sent", "scheduled"),
    "4": ("sent", "sent to the operator"),
    "5": ("sent", "sent to the operator"),
    "10": ("delivered", "delivered"),
    "6": ("failed", "failed at the operator"),
    "11": ("failed", "not delivered"),
    "13": ("failed", "cancelled"),
    "14": ("failed", "blocked by the recipient (advertising SMS blocked, *800#)"),
}
BLACKLIST = {"14"}


def receptor(e164: str) -> str:
    """Kavenegar wants Iranian numbers as 0912…, others with 00 and the country code."""
    return local_mobile(e164)


class KavenegarChannel(GatewayChannel):
    NAME = "Kavenegar"
    DEFAULT_URL = DEFAULT_URL
    DEDUPLICATES = True

    def _call(self, method: str, form: dict[str, Any]) -> Any:
        key = secret(self.options, "api_key")
        response = self.request("POST", f"{self.url}/v1/{key}/{method}.json", data=form)
        try:
            data = response.json()
            status = int(data["return"]["status"])
            text = str(data["return"].get("message", ""))
        except (ValueError, KeyError, TypeError):
            raise DeliveryError(
                f"Kavenegar answered HTTP {response.status_code} with an unreadable body",
                retryable=response.status_code >= 500,
            ) from None
        if status == 200:
            return data.get("entries")
        retryable = (
            status in TEMPORARY or response.status_code >= 500 or response.status_code == 429
        )
        raise DeliveryError(f"Kavenegar refused the message: {status} {text}", retryable=retryable)

    def send(self, out: Outgoing) -> SendResult:
        form = {
            "receptor": receptor(out.recipient),
            "message": out.body,
            "localid": str(out.message_id),
        }
        line = line_for(self.options, out)
        if line:
            form["sender"] = line
        entries = self._call("sms/send", form) or [{}]
        return SendResult(str(entries[0].get("messageid", "")) or None)

    def send_bulk(self, outs: list[Outgoing]) -> list[SendResult | DeliveryError]:
        if not outs:
            return []
        lines = [line_for(self.options, o) for o in outs]
        if not all(lines):  # sendarray needs a sender per message
            return super().send_bulk(outs)
        form = {
            "receptor": json.dumps([receptor(o.recipient) for o in outs]),
            "sender": json.dumps(lines),
            "message": json.dumps([o.body for o in outs], ensure_ascii=False),
            "localmessageids": json.dumps([str(o.message_id) for o in outs]),
        }
        try:
            entries = self._call("sms/sendarray", form) or []
        except DeliveryError as exc:
            return [exc] * len(outs)
        return [
            SendResult(str(entries[i].get("messageid")))
            if i < len(entries)
            else DeliveryError("Kavenegar's answer has no entry for this message", retryable=True)
            for i in range(len(outs))
        ]

    def send_template(self, out: Outgoing, template: str, params: dict[str, str]) -> SendResult:
        form = {"receptor": receptor(out.recipient), "template": template}
        names = ["token", "token2", "token3", "token10", "token20"]
        for i, value in enumerate(params.values()):
            if i >= len(names):
                raise DeliveryError("a Kavenegar lookup takes at most 5 tokens", retryable=False)
            form[names[i]] = str(value)
        entries = self._call("verify/lookup", form) or [{}]
        return SendResult(str(entries[0].get("messageid", "")) or None)

    def poll(self, provider_message_ids: list[str]) -> list[DeliveryReport]:
        return self.parse_callback(
            self._call("sms/status", {"messageid": ",".join(provider_message_ids)})
        )

    def find_local(self, message_ids: list[int]) -> dict[int, str]:
        entries = self._call(
            "sms/statuslocalmessageid", {"localid": ",".join(str(m) for m in message_ids)}
        )
        out = {}
        for item in items_of(entries):
            local, mid = str(field(item, "localid") or ""), field(item, "messageid")
            if (
                local.isdigit()
                and int(local) in message_ids
                and mid
                and str(field(item, "status")) != "100"
            ):
                out[int(local)] = str(mid)
        return out

    def parse_callback(self, data: Any) -> list[DeliveryReport]:
        out = []
        for item in items_of(data):
            report = report_from(STATUS, BLACKLIST, field(item, "messageid"), field(item, "status"))
            if report is not None:
                out.append(report)
        return out

    def check(self) -> str:
        entries = self._call("account/info", {})
        return f"credit {field(entries or {}, 'remaincredit')}"
