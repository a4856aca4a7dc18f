"""A cap on password checks running at once. An argon2 check costs a fraction of a second of one
core on purpose; without a cap, a flood of logins (even each from its own address) would keep every
core busy. A check beyond the cap waits its turn for a short while — asynchronously, holding no
worker thread — and is then refused with 503 without hashing anything."""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager
from typing import AsyncIterator

#: how often a waiting check looks for a free turn
POLL_SECONDS = 0.02


class HashingBusy(Exception):
    """Every turn stayed taken for the whole wait."""


class HashGate:
    """At most ``limit`` password checks at once in this process; others wait up to ``wait``
    seconds.

    A counter under a lock rather than an asyncio semaphore: the same gate serves every event loop
    of the process (test clients run one per request)."""

    def __init__(self, limit: int, wait: float):
        self.limit = limit
        self.wait = wait
        self.running = 0
        self._lock = threading.Lock()

    def _take(self) -> bool:
        with self._lock:
            if self.running >= self.limit:
                return False
            self.running += 1
            return True

    def _give_back(self) -> None:
        with self._lock:
            self.running -= 1

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        import anyio

        deadline = time.monotonic() + self.wait
        while not self._take():
            if time.monotonic() >= deadline:
                raise HashingBusy()
            await anyio.sleep(POLL_SECONDS)
        try:
            yield
        finally:
            self._give_back()
