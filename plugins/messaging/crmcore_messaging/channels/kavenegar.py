"""SMS through a Kavenegar-shaped REST API: ``POST {url}/v1/{api_key}/sms/send.json``.

Kavenegar deduplicates on ``localid`` (our message id), so a request that timed out can be retried without
sending twice. Its ``return.status`` codes: 200 ok; 409 and HTTP 5xx/429 are temporary; the rest (411 bad
receptor, 412 bad sender, 418 no credit…) are permanent.
"""
from __future__ import annotations

import httpx

from .base import DeliveryError, Outgoing, SendResult, secret
from .http_api import HttpApiChannel

DEFAULT_URL = "https://api.kavenegar.com"
TEMPORARY = {409, 429}


def receptor(e164: str) -> str:
    """Kavenegar wants Iranian numbers as 0912…, others with 00 and the country code."""
    if e164.startswith("+98"):
        return "0" + e164[3:]
    return "00" + e164.lstrip("+")


class KavenegarChannel(HttpApiChannel):
    DEFAULT_URL = DEFAULT_URL

    def send(self, out: Outgoing) -> SendResult:
        key = secret(self.options, "api_key")
        form = {"receptor": receptor(out.recipient), "message": out.body, "localid": str(out.message_id)}
        if self.options.get("sender"):
            form["sender"] = str(self.options["sender"])
        try:
            response = self._http().post(f"{self.url}/v1/{key}/sms/send.json", data=form)
        except httpx.TimeoutException as exc:
            # localid makes a retry safe: the provider answers with the first send instead of sending again
            raise DeliveryError(f"Kavenegar did not answer in {self.timeout}s ({type(exc).__name__})",
                                retryable=True) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"cannot reach Kavenegar at {self.url}: {exc}", retryable=True) from None
        try:
            data = response.json()
            status = int(data["return"]["status"])
            text = str(data["return"].get("message", ""))
        except (ValueError, KeyError, TypeError):
            raise DeliveryError(f"Kavenegar answered HTTP {response.status_code} with an unreadable body",
                                retryable=response.status_code >= 500) from None
        if status == 200:
            entries = data.get("entries") or [{}]
            return SendResult(str(entries[0].get("messageid", "")) or None)
        retryable = status in TEMPORARY or response.status_code >= 500 or response.status_code == 429
        raise DeliveryError(f"Kavenegar refused the message: {status} {text}", retryable=retryable)
