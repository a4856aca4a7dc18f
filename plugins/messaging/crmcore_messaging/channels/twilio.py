"""SMS through a Twilio-shaped REST API: ``POST {url}/2010-04-01/Accounts/{sid}/Messages.json``.

HTTP 429 and 5xx are temporary; 4xx errors carry Twilio's ``code`` and ``message`` and are permanent. Twilio
cannot deduplicate a repeated request, so a timeout after the request went out is ambiguous: the message is
marked ``unknown`` rather than risk a second SMS.
"""

from __future__ import annotations

import httpx

from .base import DeliveryError, Outgoing, SendResult, secret
from .http_api import HttpApiChannel

DEFAULT_URL = "https://api.twilio.com"


class TwilioChannel(HttpApiChannel):
    DEFAULT_URL = DEFAULT_URL

    def send(self, out: Outgoing) -> SendResult:
        sid = secret(self.options, "account_sid")
        token = secret(self.options, "auth_token")
        form = {"To": out.recipient, "Body": out.body}
        if self.options.get("messaging_service_sid"):
            form["MessagingServiceSid"] = str(self.options["messaging_service_sid"])
        else:
            form["From"] = str(self.options["sender"])
        if self.options.get("status_callback"):
            form["StatusCallback"] = str(self.options["status_callback"])
        endpoint = f"{self.url}/2010-04-01/Accounts/{sid}/Messages.json"
        try:
            response = self._http().post(endpoint, data=form, auth=(sid, token))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise DeliveryError(
                f"cannot reach Twilio at {self.url}: {exc}", retryable=True
            ) from None
        except httpx.TimeoutException as exc:
            raise DeliveryError(
                f"Twilio did not answer in {self.timeout}s ({type(exc).__name__}); it may have "
                "sent the message",
                retryable=False,
                ambiguous=True,
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"the request to Twilio failed: {exc}", retryable=False, ambiguous=True
            ) from None
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code in (200, 201):
            if not data.get("sid"):
                raise DeliveryError(
                    "Twilio accepted the request but returned no message sid",
                    retryable=False,
                    ambiguous=True,
                )
            status = data.get("status") or "queued"
            return SendResult(
                str(data["sid"]), status="delivered" if status == "delivered" else "sent"
            )
        detail = f"{data.get('code', '')} {data.get('message', '')}".strip() or response.text[:200]
        retryable = response.status_code == 429 or response.status_code >= 500
        raise DeliveryError(
            f"Twilio refused the message (HTTP {response.status_code}): {detail}",
            retryable=retryable,
        )
