"""SMS through Melipayamak's REST web service (``https://rest.payamak-panel.com/api/SendSMS/…``).

Shapes followed: the official SDK Melipayamak/melipayamak-python (``melipayamak/sms/rest.py``) and
Melipayamak's method pages (melipayamak.com/api): form posts carrying ``username`` and ``password``; every
answer ``{"Value", "RetStatus", "StrRetStatus"}`` with ``RetStatus == 1`` for success.

- plain: ``SendSMS`` ``{to, from, text, isFlash}`` → ``Value`` = the message's ``recId``
- bulk: ``SendSMS`` with ``to`` holding several numbers separated by commas (one text, one line per
  request) → ``Value`` = their ``recId`` values, comma separated, in the same order
- template (shared service line, "pattern"): ``BaseServiceNumber`` ``{text, to, bodyId}`` where ``text`` holds
  the template's variables joined by ``;`` → ``Value`` = ``recId`` (a negative Value is an error code)
- status: ``GetDeliveries2`` ``{recId}`` → ``Value``: 1 delivered; 2 not delivered to the phone,
  3 operator error, 5 unknown error, 16 not delivered to the operator, 300 filtered, 500 refused; 0, 8,
  200, 400 on the way; 35 the number is on the operator's blacklist (blocked advertising SMS)
- connection test: ``GetCredit`` → ``Value``

Melipayamak takes no client-side id, so a request that timed out after it was sent is ambiguous: the message
is marked ``unknown`` and never resent. ``RetStatus`` 6 (the system is being updated) is retried.
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

DEFAULT_URL = "https://rest.payamak-panel.com/api/SendSMS"
STATUS: dict[str, tuple[str, str]] = {
    "1": ("delivered", "delivered to the phone"),
    "0": ("sent", "sent to the operator"),
    "8": ("sent", "delivered to the operator"),
    "200": ("sent", "sent"),
    "400": ("sent", "in the send list"),
    "2": ("failed", "not delivered to the phone"),
    "3": ("failed", "operator error"),
    "5": ("failed", "unknown error"),
    "16": ("failed", "not delivered to the operator"),
    "35": ("failed", "the number is on the operator's blacklist (advertising SMS blocked, *800#)"),
    "300": ("failed", "filtered"),
    "500": ("failed", "refused"),
}
BLACKLIST = {"35"}
TEMPORARY = {6}


class MelipayamakChannel(GatewayChannel):
    NAME = "Melipayamak"
    DEFAULT_URL = DEFAULT_URL
    DEDUPLICATES = False

    def _call(self, op: str, form: dict[str, Any], *, safe_to_retry: bool | None = None) -> str:
        form = {
            **form,
            "username": str(secret(self.options, "username")),
            "password": str(secret(self.options, "password")),
        }
        response = self.request("POST", f"{self.url}/{op}", data=form, safe_to_retry=safe_to_retry)
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryError(
                f"Melipayamak is busy (HTTP {response.status_code})", retryable=True
            )
        data = self.json_of(response)
        status = field(data, "RetStatus") if isinstance(data, dict) else None
        if str(status) != "1":
            text = field(data, "StrRetStatus") if isinstance(data, dict) else response.text[:200]
            retry = str(status).isdigit() and int(status) in TEMPORARY
            raise DeliveryError(
                f"Melipayamak refused the request ({status}): {text}", retryable=retry
            )
        return str(field(data, "Value") or "")

    def send(self, out: Outgoing) -> SendResult:
        value = self._call(
            "SendSMS",
            {
                "to": local_mobile(out.recipient),
                "from": line_for(self.options, out),
                "text": out.body,
                "isFlash": "false",
            },
        )
        return SendResult(_rec_id(value))

    def send_bulk(self, outs: list[Outgoing]) -> list[SendResult | DeliveryError]:
        results: dict[int, SendResult | DeliveryError] = {}
        groups: dict[tuple[str | None, str], list[int]] = {}
        for i, out in enumerate(outs):
            groups.setdefault((line_for(self.options, out), out.body), []).append(i)
        for (line, text), idx in groups.items():
            try:
                value = self._call(
                    "SendSMS",
                    {
                        "to": ",".join(local_mobile(outs[i].recipient) for i in idx),
                        "from": line,
                        "text": text,
                        "isFlash": "false",
                    },
                )
            except DeliveryError as exc:
                for i in idx:
                    results[i] = exc
                continue
            ids = [v.strip() for v in value.split(",")]
            for n, i in enumerate(idx):
                ok = n < len(ids) and ids[n].isdigit() and len(ids) == len(idx)
                results[i] = (
                    SendResult(ids[n])
                    if ok
                    else DeliveryError(
                        f"Melipayamak's answer {value!r} does not name one recId per number; it may have sent",
                        retryable=False,
                        ambiguous=True,
                    )
                )
        return [results[i] for i in range(len(outs))]

    def send_template(self, out: Outgoing, template: str, params: dict[str, str]) -> SendResult:
        if not str(template).isdigit():
            raise DeliveryError(
                f"a Melipayamak bodyId is a number, not {template!r}", retryable=False
            )
        value = self._call(
            "BaseServiceNumber",
            {
                "text": ";".join(str(v) for v in params.values()),
                "to": local_mobile(out.recipient),
                "bodyId": template,
            },
        )
        return SendResult(_rec_id(value))

    def poll(self, provider_message_ids: list[str]) -> list[DeliveryReport]:
        reports = []
        for rec_id in provider_message_ids:  # GetDeliveries2 answers for one recId
            value = self._call("GetDeliveries2", {"recId": rec_id}, safe_to_retry=True)
            report = report_from(STATUS, BLACKLIST, rec_id, value)
            if report is not None:
                reports.append(report)
        return reports

    def parse_callback(self, data: Any) -> list[DeliveryReport]:
        out = []
        for item in items_of(data):
            report = report_from(
                STATUS,
                BLACKLIST,
                field(item, "recId"),
                field(item, "status", "deliveryStatus", "Value"),
            )
            if report is not None:
                out.append(report)
        return out

    def check(self) -> str:
        return f"credit {self._call('GetCredit', {}, safe_to_retry=True)}"


def _rec_id(value: str) -> str:
    if not value.isdigit():  # a negative Value is Melipayamak's error code
        raise DeliveryError(f"Melipayamak refused the message (code {value})", retryable=False)
    return value
