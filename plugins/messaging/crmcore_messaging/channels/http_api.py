"""What the HTTP SMS channels share: their options, URL, timeout and one connection pool per delivery run."""

from __future__ import annotations

from typing import Any

import httpx


class HttpApiChannel:
    """Base of the REST SMS channels (Kavenegar-shaped, Twilio-shaped); subclasses set ``DEFAULT_URL``."""

    DEFAULT_URL = ""

    def __init__(self, options: dict[str, Any]):
        self.options = options
        self.url = str(options.get("url") or self.DEFAULT_URL).rstrip("/")
        self.timeout = int(options.get("timeout") or 15)
        self._client: httpx.Client | None = None

    def _http(self) -> httpx.Client:
        if self._client is None:  # one connection pool per delivery run
            self._client = httpx.Client(timeout=self.timeout)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
