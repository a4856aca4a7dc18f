"""An asyncio AMI session: connect, read the banner, log in, keep alive with ``Ping``, reconnect with
exponential back-off when the connection drops, and send actions (``Originate`` for click-to-call,
``CoreShowChannels`` after each reconnect). Events go to a callback in the order they arrived."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from typing import Awaitable, Callable

import attrs

from .ami_protocol import AMIMessage, FrameParser, encode_action

log = logging.getLogger("crmcore_voip.ami")


class AMIError(Exception):
    """The PBX refused an action or did not answer in time."""


class AMIRefused(AMIError):
    """The PBX answered an action with ``Response: Error``."""


class AMIAuthError(AMIError):
    """The PBX refused the login: retrying would not help."""


@attrs.frozen
class Backoff:
    """Delays between reconnection attempts: ``initial``, then ×``factor`` up to ``maximum``, ± ``jitter``."""

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.1

    def delays(self, rng: random.Random | None = None):
        rng = rng or random.Random()
        delay = self.initial
        while True:
            yield max(0.0, delay * (1 + rng.uniform(-self.jitter, self.jitter)))
            delay = min(self.maximum, delay * self.factor)


EventHandler = Callable[[AMIMessage], Awaitable[None] | None]


class AMISession:
    """One logical session to the PBX across reconnections.

    :param on_event: called with every event message (may be a coroutine function).
    :param on_connected: awaited after each successful login (e.g. to take a channel snapshot).
    :param max_connections: stop after this many successful logins ended (tests; ``None`` = run forever).
    :param max_attempts: give up after this many failed connection attempts in a row (``None`` = never).
    """

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        on_event: EventHandler,
        on_connected: Callable[["AMISession"], Awaitable[None]] | None = None,
        events: str = "on",
        keepalive: float = 20.0,
        action_timeout: float = 10.0,
        connect_timeout: float = 10.0,
        backoff: Backoff = Backoff(),
        max_connections: int | None = None,
        max_attempts: int | None = None,
    ):
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.on_event, self.on_connected, self.events = on_event, on_connected, events
        self.keepalive, self.action_timeout, self.connect_timeout = (
            keepalive,
            action_timeout,
            connect_timeout,
        )
        self.backoff, self.max_connections, self.max_attempts = (
            backoff,
            max_connections,
            max_attempts,
        )
        self.banner: str | None = None
        self.connections = 0  # successful logins so far
        self.failed_attempts = 0
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[str, asyncio.Future] = {}
        self._lists: dict[str, list[AMIMessage]] = {}
        self._ids = itertools.count(1)
        self._stop = asyncio.Event()
        self.parser = FrameParser()

    # --- lifecycle --------------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()
        if self._writer is not None:
            self._writer.close()

    async def run(self) -> None:
        """Connect and process events until :meth:`stop` (or ``max_connections``); reconnect with back-off.
        Raises :class:`AMIAuthError` when the login is refused."""
        delays = self.backoff.delays()
        failures_in_a_row = 0
        while not self._stop.is_set():
            before = self.connections
            try:
                await self._connect_and_serve()
            except AMIAuthError:
                raise
            except (OSError, asyncio.TimeoutError, AMIError, asyncio.IncompleteReadError) as exc:
                self.failed_attempts += 1
                log.warning("AMI %s:%s: %s", self.host, self.port, exc or type(exc).__name__)
            if self.connections > before:
                delays, failures_in_a_row = (
                    self.backoff.delays(),
                    0,
                )  # a session that logged in resets the back-off
            else:
                failures_in_a_row += 1
            if self._stop.is_set() or (
                self.max_connections is not None and self.connections >= self.max_connections
            ):
                break
            if self.max_attempts is not None and failures_in_a_row >= self.max_attempts:
                raise AMIError(
                    f"could not connect to the PBX at {self.host}:{self.port} "
                    f"after {failures_in_a_row} attempt(s)"
                )
            delay = next(delays)
            log.info("AMI: reconnecting to %s:%s in %.2fs", self.host, self.port, delay)
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    async def _connect_and_serve(self) -> None:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), timeout=self.connect_timeout
        )
        self._writer = writer
        self.parser = FrameParser()
        try:
            banner = await asyncio.wait_for(reader.readline(), timeout=self.connect_timeout)
            if not banner:
                raise AMIError("the PBX closed the connection before its banner")
            self.banner = banner.decode("utf-8", errors="replace").strip()
            if "call manager" not in self.banner.lower():
                log.warning("AMI: unexpected banner %r (continuing)", self.banner[:100])
            reading = asyncio.create_task(self._read(reader))
            try:
                reply = await self.action(
                    "Login", Username=self.username, Secret=self.secret, Events=self.events
                )
            except AMIRefused as exc:
                raise AMIAuthError(f"AMI login as {self.username!r} refused: {exc}") from None
            self.connections += 1
            log.info(
                "AMI: logged in to %s:%s (%s): %s",
                self.host,
                self.port,
                self.banner,
                reply.get("Message"),
            )
            keeping = asyncio.create_task(self._keep_alive())
            if self.on_connected is not None:
                await self.on_connected(self)
            try:
                await reading
            finally:
                keeping.cancel()
            if not self._stop.is_set():
                raise AMIError("the connection was lost")
        finally:
            self._fail_pending()
            self._lists.clear()
            self._writer = None
            writer.close()
            if "reading" in locals() and not reading.done():
                reading.cancel()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                for msg in self.parser.feed(data):
                    await self._dispatch(msg)
        finally:  # actions waiting for an answer will not get one on this connection
            self._fail_pending()

    def _fail_pending(self) -> None:
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(AMIError("the connection was lost"))
        self._pending.clear()

    async def _dispatch(self, msg: AMIMessage) -> None:
        aid = msg.action_id
        if aid is not None and aid in self._lists:
            if msg.response is not None:
                if (msg.response or "").lower() == "error":
                    self._resolve(aid, msg)
                return
            if (msg.get("EventList") or "").lower() == "complete":
                self._resolve(aid, msg)
                return
        elif msg.response is not None:
            if aid is not None and aid in self._pending:
                self._resolve(aid, msg)
            return
        try:
            result = self.on_event(msg)
            if asyncio.iscoroutine(result):
                await result
        except Exception:  # noqa: BLE001 - one event's failure must not end the session
            log.exception("AMI: handling %s failed; the session goes on", msg.event)

    def _resolve(self, aid: str, msg: AMIMessage) -> None:
        fut = self._pending.pop(aid, None)
        if fut is not None and not fut.done():
            fut.set_result(msg)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.keepalive)
            try:
                await self.action("Ping")
            except AMIError as exc:
                log.warning("AMI: keep-alive failed (%s); reconnecting", exc)
                if self._writer is not None:
                    self._writer.close()
                return

    # --- actions ----------------------------------------------------------------------------------
    async def action(self, name: str, **fields) -> AMIMessage:
        """Send an action and wait for its response; :class:`AMIError` when refused or unanswered."""
        if self._writer is None:
            raise AMIError(f"not connected: cannot send {name}")
        aid = f"crm-{next(self._ids)}"
        fut = asyncio.get_running_loop().create_future()
        self._pending[aid] = fut
        self._writer.write(encode_action(name, {"ActionID": aid, **fields}))
        await self._writer.drain()
        try:
            reply = await asyncio.wait_for(fut, timeout=self.action_timeout)
        except asyncio.TimeoutError:
            self._pending.pop(aid, None)
            raise AMIError(f"no response to {name} within {self.action_timeout:g}s") from None
        if (reply.response or "").lower() not in ("success", "goodbye", "pong"):
            raise AMIRefused(reply.get("Message") or f"{name} failed")
        return reply

    async def action_list(
        self, name: str, on_item: Callable[[AMIMessage], None] | None = None, **fields
    ) -> None:
        """Send an action answered by a list of events (``CoreShowChannels``); each item event goes to
        ``on_item`` (default: the session's event handler) as it arrives."""
        if self._writer is None:
            raise AMIError(f"not connected: cannot send {name}")
        aid = f"crm-{next(self._ids)}"
        fut = asyncio.get_running_loop().create_future()
        self._pending[aid] = fut
        self._lists[aid] = []
        previous = self.on_event
        if on_item is not None:

            def route(msg, _prev=previous):
                if msg.action_id == aid:
                    return on_item(msg)
                return _prev(msg)

            self.on_event = route
        try:
            self._writer.write(encode_action(name, {"ActionID": aid, **fields}))
            await self._writer.drain()
            reply = await asyncio.wait_for(fut, timeout=self.action_timeout)
        except asyncio.TimeoutError:
            raise AMIError(
                f"no complete answer to {name} within {self.action_timeout:g}s"
            ) from None
        finally:
            self._pending.pop(aid, None)
            self._lists.pop(aid, None)
            self.on_event = previous
        if (reply.response or "").lower() == "error":
            raise AMIRefused(reply.get("Message") or f"{name} failed")


async def originate(
    host: str,
    port: int,
    username: str,
    secret: str,
    *,
    channel: str,
    exten: str,
    context: str,
    caller_id: str | None = None,
    timeout_ms: int = 30000,
    variables: dict[str, str] | None = None,
    action_timeout: float = 10.0,
) -> AMIMessage:
    """Click-to-call: ring ``channel`` (the agent's phone) and, when answered, dial ``exten`` in ``context``.
    Returns the PBX's response; raises :class:`AMIError` / :class:`AMIAuthError` when refused."""
    result: dict[str, object] = {}

    async def connected(session: AMISession) -> None:
        fields = {
            "Channel": channel,
            "Exten": exten,
            "Context": context,
            "Priority": 1,
            "CallerID": caller_id,
            "Timeout": timeout_ms,
            "Async": "true",
        }
        if variables:
            fields["Variable"] = ",".join(f"{k}={v}" for k, v in variables.items())
        try:
            result["reply"] = await session.action("Originate", **fields)
            try:
                await session.action("Logoff")
            except AMIError:
                pass
        except AMIError as exc:
            result["error"] = exc
        finally:
            session.stop()

    session = AMISession(
        host,
        port,
        username,
        secret,
        on_event=lambda m: None,
        on_connected=connected,
        events="off",
        action_timeout=action_timeout,
        max_connections=1,
        max_attempts=1,
        backoff=Backoff(initial=0.0, maximum=0.0),
    )
    await session.run()
    if "error" in result:
        raise AMIError(f"the PBX refused the call: {result['error']}")
    if "reply" not in result:
        raise AMIError(f"could not reach the PBX at {host}:{port}")
    return result["reply"]  # type: ignore[return-value]
