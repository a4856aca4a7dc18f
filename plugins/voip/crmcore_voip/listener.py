"""Applying call events to the CRM, one unit of work each, and handing screen pops to whoever shows them
(``crm voip listen`` prints them; the web endpoint's server does too)."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Callable, Iterable

import attrs
from sqlalchemy import select

from crmcore.api import CRMError

from .adapters.ami_client import AMIError, AMISession, Backoff
from .adapters.ami_events import AMICallTracker
from .config import VoipConfig, config_for
from .events import CallEvent
from .models import FINAL_STATUSES, Call
from .service import Outcome, close_call, handle_call_event

log = logging.getLogger("crmcore_voip")

PopHandler = Callable[[dict], None]


def _event_json(e: CallEvent) -> str:
    return json.dumps(
        {
            "kind": e.kind,
            "key": e.key,
            "at": e.at.isoformat(),
            "caller": e.caller,
            "callee": e.callee,
            "extension": e.extension,
            "direction": e.direction,
            "agent": e.agent,
            "recording_url": e.recording_url,
            "cause": e.cause,
        },
        ensure_ascii=False,
    )


@attrs.define
class CallListener:
    app: object
    config: VoipConfig
    on_pop: PopHandler | None = None
    pops: int = 0
    failures: int = 0

    def apply(self, events: Iterable[CallEvent]) -> list[Outcome]:
        """All ``events`` in one unit of work (a webhook request), pops handed over after the commit.
        Raises :class:`CRMError` (nothing stored) when the CRM refuses one."""
        with self.app.unit_of_work(actor="voip") as uow:
            outcomes = [handle_call_event(uow, e, self.config) for e in events]
        for o in outcomes:
            if o.pop is not None and o.call is not None and o.call.direction == "in":
                self.pops += 1
                if self.on_pop is not None:
                    self.on_pop(o.pop)
        return outcomes

    def apply_safely(self, event: CallEvent) -> Outcome | None:
        """One PBX event; a failure is logged with the whole event (to replay it) and the stream goes on."""
        try:
            return self.apply([event])[0]
        except CRMError as exc:
            self.failures += 1
            log.error("call event refused (%s); event: %s", exc, _event_json(event))
        except Exception:  # noqa: BLE001 - the database may be down; the PBX stream must go on
            self.failures += 1
            log.exception("call event not stored; replay it: %s", _event_json(event))
        return None

    def reconcile(
        self, source: str, active_call_ids: set[str], *, ended_at: datetime | None
    ) -> int:
        """Close the open calls of ``source`` the PBX no longer has (they ended while we were away)."""
        active = {f"{source}:{cid}" for cid in active_call_ids}
        with self.app.unit_of_work(actor="voip") as uow:
            open_calls = list(
                uow.session.scalars(
                    select(Call).where(Call.source == source, Call.status.notin_(FINAL_STATUSES))
                )
            )
            closed = 0
            for call in open_calls:
                if call.call_key in active:
                    continue
                at = ended_at or uow.now()
                close_call(
                    uow,
                    call,
                    at=max(at, call.answered_at or call.started_at),
                    reason="ended while the CRM was disconnected from the PBX",
                    config=self.config,
                )
                closed += 1
        return closed


async def listen_ami(
    app,
    *,
    config: VoipConfig | None = None,
    on_pop: PopHandler | None = None,
    count: int | None = None,
    backoff: Backoff = Backoff(),
    keepalive: float = 20.0,
    clock: Callable[[], datetime] | None = None,
    ready: Callable[[AMISession], None] | None = None,
) -> CallListener:
    """Follow the PBX's events until stopped (or ``count`` pops were shown); reconnects with ``backoff``."""
    cfg = config or config_for(app)
    if not cfg.ami_username or not cfg.ami_secret:
        from crmcore.api import ValidationError

        raise ValidationError(
            "AMI username and secret are needed (--username/--secret or CRM_VOIP_AMI_USERNAME "
            "and CRM_VOIP_AMI_SECRET)",
            field="secret",
        )
    tracker = AMICallTracker(cfg, clock=clock or app.now)
    listener = CallListener(app, cfg, on_pop)
    last_seen: dict[str, datetime] = {}
    session: AMISession

    def handle(msg) -> None:
        last_seen["at"] = tracker._at(msg)
        for event in tracker.feed(msg):
            if (
                tracker.snapshot is not None
            ):  # seen on this connection: alive, whatever the snapshot says
                tracker.snapshot.add(event.call_id)
            listener.apply_safely(event)
        if count is not None and listener.pops >= count:
            session.stop()

    async def connected(s: AMISession) -> None:
        tracker.begin_snapshot()
        try:
            await s.action_list("CoreShowChannels", on_item=handle)
        except AMIError as exc:
            tracker.snapshot = None
            log.warning(
                "AMI: no channel snapshot (%s); open calls are closed by the voip.close_stale_calls job",
                exc,
            )
            return
        active = tracker.end_snapshot()
        closed = listener.reconcile("ami", active, ended_at=last_seen.get("at"))
        if closed:
            log.warning("AMI: %d call(s) ended while disconnected were closed", closed)

    session = AMISession(
        cfg.ami_host,
        cfg.ami_port,
        cfg.ami_username,
        cfg.ami_secret,
        on_event=handle,
        on_connected=connected,
        backoff=backoff,
        keepalive=keepalive,
    )
    if ready is not None:
        ready(session)
    await session.run()
    return listener
