"""What the Iranian SMS gateways share: line choice per message kind, local number form, delivery reports,
and one request helper that sorts transport failures into retryable, ambiguous and permanent.

Iranian operators give a business two kinds of lines: an *advertising* line (blocked for subscribers who
dialled *800# and the operator's "blacklist") and a *service* line (transactional: receipts, reminders,
codes). Campaigns (``category == "promotional"``) go out on ``advertising_line``; everything else on
``service_line``; ``sender`` is the fallback for both.
"""

from __future__ import annotations

from typing import Any, Callable

import attrs
import httpx

from .base import DeliveryError, Outgoing, SendResult
from .http_api import HttpApiChannel


@attrs.frozen
class DeliveryReport:
    """One gateway answer about one sent message, already mapped to our words.

    :param status: ``sent`` (still on its way), ``delivered`` or ``failed``.
    :param reason: the gateway's own words (or code) for a failure.
    :param blacklisted: the operator refused it because the number blocked advertising SMS (*800#).
    """

    provider_message_id: str
    status: str
    reason: str | None = None
    blacklisted: bool = False
    code: str = ""


def line_for(options: dict[str, Any], out: Outgoing) -> str | None:
    """Advertising line for promotional messages, service line for the rest; ``sender`` as fallback."""
    key = "advertising_line" if out.category == "promotional" else "service_line"
    value = options.get(key) or options.get("sender")
    return str(value) if value else None


def local_mobile(e164: str) -> str:
    """Iranian gateways take 09121234567; other countries with 00 and the country code."""
    if e164.startswith("+98"):
        return "0" + e164[3:]
    return "00" + e164.lstrip("+")


def report_from(
    table: dict[str, tuple[str, str]],
    blacklist_codes: set[str],
    message_id: str,
    code: Any,
    reason: str | None = None,
) -> DeliveryReport | None:
    """Map a gateway status code through ``table`` (code → (our status, its meaning)); None if unknown."""
    raw = str(code).strip()
    if raw not in table:
        return None
    status, meaning = table[raw]
    return DeliveryReport(
        str(message_id),
        status,
        (reason or meaning) if status == "failed" else None,
        blacklisted=raw in blacklist_codes,
        code=raw,
    )


class GatewayChannel(HttpApiChannel):
    """Base of the gateway adapters: one request helper and the optional operations of a gateway.

    Subclasses set ``NAME`` and ``DEDUPLICATES``: whether a repeated request with our local id can never
    make a second SMS (Kavenegar's ``localid``) or can be checked first (Ghasedak's ``clientReferenceId``).
    Without it, a timeout after the request went out is *ambiguous*: the message becomes ``unknown`` and
    is never resent.
    """

    NAME = ""
    DEDUPLICATES = False

    def request(
        self, method: str, url: str, *, safe_to_retry: bool | None = None, **kwargs: Any
    ) -> httpx.Response:
        retry_ok = self.DEDUPLICATES if safe_to_retry is None else safe_to_retry
        try:
            return self._http().request(method, url, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:  # nothing went out
            raise DeliveryError(
                f"cannot reach {self.NAME} at {self.url}: {type(exc).__name__}", retryable=True
            ) from None
        except httpx.TimeoutException as exc:
            if retry_ok:
                raise DeliveryError(
                    f"{self.NAME} did not answer in {self.timeout}s ({type(exc).__name__}); "
                    "the retry is matched by our local id",
                    retryable=True,
                ) from None
            raise DeliveryError(
                f"{self.NAME} did not answer in {self.timeout}s ({type(exc).__name__}); it "
                "may have sent the message, so it is not resent",
                retryable=False,
                ambiguous=True,
            ) from None
        except httpx.HTTPError as exc:
            raise DeliveryError(
                f"the request to {self.NAME} failed: {type(exc).__name__}",
                retryable=retry_ok,
                ambiguous=not retry_ok,
            ) from None

    def json_of(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise DeliveryError(
                f"{self.NAME} answered HTTP {response.status_code} with an unreadable body",
                retryable=response.status_code >= 500 or response.status_code == 429,
            ) from None

    # what every gateway adapter offers besides send()
    def send_template(self, out: Outgoing, template: str, params: dict[str, str]) -> SendResult:
        raise NotImplementedError

    def send_bulk(self, outs: list[Outgoing]) -> list[SendResult | DeliveryError]:
        return [_one(self.send, out) for out in outs]

    def poll(self, provider_message_ids: list[str]) -> list[DeliveryReport]:
        raise NotImplementedError

    def parse_callback(self, data: Any) -> list[DeliveryReport]:
        raise NotImplementedError

    def find_local(self, message_ids: list[int]) -> dict[int, str]:
        """For gateways that know our local id: our message id → the gateway's id, for those it has."""
        raise NotImplementedError

    def check(self) -> str:
        """A read-only call proving the credentials work (credit/account); returns a short summary."""
        raise NotImplementedError


def _one(send: Callable[[Outgoing], SendResult], out: Outgoing) -> SendResult | DeliveryError:
    try:
        return send(out)
    except DeliveryError as exc:
        return exc


def items_of(data: Any) -> list[dict[str, Any]]:
    """A callback body: one object, a list of objects, or an object holding them under data/items."""
    if isinstance(data, dict):
        for key in ("data", "items", "Data", "Items"):
            if isinstance(data.get(key), list):
                return [d for d in data[key] if isinstance(d, dict)]
        return [data]
    if isinstance(data, list):
        return [d for d in data if isinstance(d, dict)]
    return []


def field(item: dict[str, Any], *names: str) -> Any:
    """The first of ``names`` present in ``item``, case-insensitively (gateways mix camelCase/PascalCase)."""
    lower = {str(k).lower(): v for k, v in item.items()}
    for name in names:
        if name.lower() in lower:
            return lower[name.lower()]
    return None
