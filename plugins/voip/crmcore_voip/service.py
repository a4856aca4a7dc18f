"""The call log: every adapter's :class:`CallEvent` goes through :func:`handle_call_event`, which keeps one
row per call whatever order or how many times the events arrive, logs the finished call as an interaction
of kind ``call`` on the caller's history, announces the voip events and creates missed-call follow-ups."""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import select

from crmcore.api import Customer, Interaction, record_interaction

from .config import VoipConfig, config_for
from .events import ANSWERED, HANGUP, INFO, MISSED, RINGING, CallEvent
from .follow_up import follow_up_missed_call
from .lookup import customers_with_number
from .models import COMPLETED, IN_PROGRESS, Call
from .models import MISSED as MISSED_STATUS
from .models import RINGING as RINGING_STATUS
from .numbers import normalize_caller
from .screen_pop import build_screen_pop

log = logging.getLogger("crmcore_voip")


@attrs.frozen
class Outcome:
    """What one event did: ``created``/``updated``/``ended``/``duplicate``/``corrected``; the pop when it rang."""

    call: Call | None
    customer: Customer | None
    action: str
    pop: dict[str, Any] | None = None


def _seconds(a: datetime | None, b: datetime | None) -> int | None:
    if a is None or b is None:
        return None
    return max(0, int((b - a).total_seconds()))


def _clip(text: str | None, n: int) -> str | None:
    return None if text is None else str(text)[:n]


def handle_call_event(uow, event: CallEvent, config: VoipConfig | None = None) -> Outcome:
    """Apply one event to the call log (see the module doc). Idempotent: a repeated event changes nothing."""
    cfg = config or config_for(uow.app)
    session = uow.session
    call = session.scalar(select(Call).where(Call.call_key == event.key))
    created = call is None
    recording_changed = False
    if created and event.kind == INFO:
        log.warning(
            "call %s: ignored an update (%s) for a call we never saw start",
            event.key,
            ", ".join(k for k in ("recording_url", "extension") if getattr(event, k))
            or "no fields",
        )
        return Outcome(None, None, "ignored")
    if created:
        call = _new_call(uow, event, cfg)
    else:
        _fill_missing(call, event)
        recording_changed = bool(event.recording_url) and event.recording_url != call.recording_url
        if recording_changed:
            call.recording_url = event.recording_url
            if call.final:
                _sync_interaction(uow, call)
    customer = session.get(Customer, call.customer_id) if call.customer_id else None

    if event.kind == RINGING:
        if not created:
            return Outcome(call, customer, "duplicate")
        pop = build_screen_pop(uow, call, customer, _others(uow, call, customer))
        call.details = {
            **(call.details or {}),
            "pop_customer_id": customer.id if customer else None,
        }
        if call.direction == "in":
            uow.emit(
                "voip_incoming_call",
                customer_id=customer.id if customer else None,
                data=pop,
                call=call,
                customer=customer,
            )
        return Outcome(call, customer, "created", pop)

    if event.kind == ANSWERED:
        if call.answered_at is not None:
            return Outcome(call, customer, "created" if created else "duplicate")
        if call.final:
            return _late_answer(uow, call, customer, event)
        call.answered_at = max(event.at, call.started_at)
        call.answered_by = _clip(event.agent or event.extension or call.extension, 100)
        call.status = IN_PROGRESS
        call.updated_at = uow.now()
        return Outcome(call, customer, "created" if created else "updated")

    if event.kind == INFO:
        call.updated_at = uow.now()
        return Outcome(
            call,
            customer,
            "created" if created else ("updated" if recording_changed else "duplicate"),
        )

    # HANGUP or MISSED
    if call.final:
        return Outcome(call, customer, "updated" if recording_changed else "duplicate")
    _finish(uow, call, customer, event, cfg)
    return Outcome(call, customer, "ended")


def _new_call(uow, event: CallEvent, cfg: VoipConfig) -> Call:
    direction = event.direction or "in"
    party = normalize_caller(event.caller if direction == "in" else event.callee, cfg)
    if not party.is_outside:
        log.info("call %s: %s", event.key, party.reason)
    now = uow.now()
    call = Call(
        call_key=event.key[:160],
        source=event.source[:16],
        direction=direction,
        status=RINGING_STATUS,
        caller=_clip(event.caller, 80),
        callee=_clip(event.callee, 80),
        party_e164=party.e164,
        party_kind=party.kind,
        extension=_clip(event.extension, 40),
        started_at=event.at,
        recording_url=event.recording_url,
        details={},
        created_at=now,
        updated_at=now,
    )
    matches = customers_with_number(uow, party.e164)
    if matches:
        call.customer_id = matches[0].id
        if len(matches) > 1:
            call.details = {"other_customer_ids": [c.id for c in matches[1:]]}
    uow.session.add(call)
    uow.session.flush()
    return call


def _others(uow, call: Call, customer) -> list[Customer]:
    ids = (call.details or {}).get("other_customer_ids") or []
    return [c for c in (uow.session.get(Customer, i) for i in ids) if c is not None]


def _fill_missing(call: Call, event: CallEvent) -> None:
    """A later event may know what an earlier one did not (the extension rung, an earlier start)."""
    if call.extension is None and event.extension:
        call.extension = _clip(event.extension, 40)
    if event.at < call.started_at and not call.final:
        call.started_at = event.at  # events arrived out of order: the call started earlier


def _finish(uow, call: Call, customer, event: CallEvent, cfg: VoipConfig) -> None:
    call.ended_at = max(event.at, call.answered_at or call.started_at)
    call.end_cause = _clip(event.cause, 60)
    if event.kind == MISSED and call.answered_at is not None:
        log.warning(
            "call %s: a 'missed' event for an answered call; logged as answered", call.call_key
        )
    answered = call.answered_at is not None
    call.status = COMPLETED if answered else MISSED_STATUS
    call.ring_seconds = _seconds(call.started_at, call.answered_at or call.ended_at)
    call.talk_seconds = (
        (
            event.talk_seconds
            if event.talk_seconds is not None
            else _seconds(call.answered_at, call.ended_at)
        )
        if answered
        else None
    )
    call.updated_at = uow.now()
    if customer is not None:
        _log_interaction(uow, call, customer)
    cid = customer.id if customer else None
    if answered:
        uow.emit(
            "voip_call_ended",
            customer_id=cid,
            data=call_to_dict(call),
            call=call,
            customer=customer,
        )
        return
    if call.direction == "in":
        follow_up = follow_up_missed_call(uow, call, customer, cfg)
        if follow_up is not None:
            call.details = {**(call.details or {}), "follow_up_id": follow_up.id}
    uow.emit(
        "voip_missed_call", customer_id=cid, data=call_to_dict(call), call=call, customer=customer
    )


def _late_answer(uow, call: Call, customer, event: CallEvent) -> Outcome:
    """An 'answered' event arriving after the call was closed as missed (webhook retries, reordering):
    correct the log rather than drop what we were told."""
    if call.ended_at is not None and event.at > call.ended_at:
        log.warning(
            "call %s: ignored an 'answered' event at %s after the call ended at %s",
            call.call_key,
            event.at.isoformat(),
            call.ended_at.isoformat(),
        )
        return Outcome(call, customer, "duplicate")
    call.answered_at = max(event.at, call.started_at)
    call.answered_by = _clip(event.agent or event.extension or call.extension, 100)
    call.status = COMPLETED
    call.ring_seconds = _seconds(call.started_at, call.answered_at)
    call.talk_seconds = _seconds(call.answered_at, call.ended_at)
    call.details = {**(call.details or {}), "corrected": "answered event arrived after the hang-up"}
    call.updated_at = uow.now()
    log.warning(
        "call %s: was logged as missed, corrected to answered by %s",
        call.call_key,
        call.answered_by,
    )
    _sync_interaction(uow, call)
    return Outcome(call, customer, "corrected")


def interaction_payload(call: Call) -> dict[str, Any]:
    return {
        "call_key": call.call_key,
        "source": call.source,
        "status": call.status,
        "answered": call.answered_at is not None,
        "answered_by": call.answered_by,
        "duration_seconds": call.talk_seconds or 0,
        "ring_seconds": call.ring_seconds,
        "extension": call.extension,
        "number": call.party_e164,
        "recording_url": call.recording_url,
        "end_cause": call.end_cause,
    }


def _external_id(call: Call) -> str:
    if len(call.call_key) <= 100:
        return call.call_key
    return "voip:" + hashlib.sha256(call.call_key.encode()).hexdigest()[:40]


def _log_interaction(uow, call: Call, customer: Customer) -> None:
    if call.interaction_id is not None:
        return
    existing = uow.session.scalar(
        select(Interaction.id).where(
            Interaction.kind == "call", Interaction.external_id == _external_id(call)
        )
    )
    if existing is not None:  # logged before (e.g. the row was re-linked): never twice
        call.interaction_id = existing
        return
    interaction = record_interaction(
        uow,
        customer,
        kind="call",
        channel="phone",
        direction=call.direction,
        occurred_at=call.started_at,
        external_id=_external_id(call),
        payload=interaction_payload(call),
    )
    call.interaction_id = interaction.id


def _sync_interaction(uow, call: Call) -> None:
    if call.interaction_id is None:
        return
    interaction = uow.session.get(Interaction, call.interaction_id)
    if interaction is not None:
        interaction.payload = interaction_payload(call)


def link_calls_to_customer(uow, customer: Customer) -> int:
    """Give a (new or changed) customer the past calls of their numbers that had no customer; log the finished
    ones on their history. Returns how many calls were linked."""
    numbers = [p.e164 for p in customer.phones]
    if not numbers or not customer.active:
        return 0
    calls = list(
        uow.session.scalars(
            select(Call)
            .where(Call.party_e164.in_(numbers), Call.customer_id.is_(None))
            .order_by(Call.started_at)
        )
    )
    for call in calls:
        call.customer_id = customer.id
        if call.final:
            _log_interaction(uow, call, customer)
    return len(calls)


def close_stale_calls(
    uow, *, older_than: timedelta, now: datetime | None = None, reason: str
) -> list[Call]:
    """Close calls the PBX never finished (a lost connection, a webhook that never came): ended at the last
    moment we knew of, answered or missed as far as we know. Returns the calls closed."""
    now = now or uow.now()
    cfg = config_for(uow.app)
    stale = list(
        uow.session.scalars(
            select(Call)
            .where(
                Call.status.in_((RINGING_STATUS, IN_PROGRESS)), Call.started_at < now - older_than
            )
            .order_by(Call.id)
        )
    )
    for call in stale:
        close_call(uow, call, at=call.answered_at or call.started_at, reason=reason, config=cfg)
    return stale


def close_call(
    uow, call: Call, *, at: datetime, reason: str, config: VoipConfig | None = None
) -> None:
    """Finish ``call`` without a hang-up event from the PBX (recorded in ``details['closed_by']``)."""
    if call.final:
        return
    cfg = config or config_for(uow.app)
    call.details = {**(call.details or {}), "closed_by": reason}
    customer = uow.session.get(Customer, call.customer_id) if call.customer_id else None
    event = CallEvent(
        kind=HANGUP,
        source=call.source,
        call_id=call.call_key.split(":", 1)[-1],
        at=at,
        cause=reason[:60],
    )
    _finish(uow, call, customer, event, cfg)
    log.warning("call %s closed without a hang-up from the PBX: %s", call.call_key, reason)


def call_to_dict(call: Call) -> dict[str, Any]:
    return {
        "id": call.id,
        "call_key": call.call_key,
        "source": call.source,
        "direction": call.direction,
        "status": call.status,
        "caller": call.caller,
        "callee": call.callee,
        "number": call.party_e164,
        "number_kind": call.party_kind,
        "extension": call.extension,
        "answered_by": call.answered_by,
        "started_at": call.started_at.isoformat(),
        "answered_at": call.answered_at.isoformat() if call.answered_at else None,
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "ring_seconds": call.ring_seconds,
        "talk_seconds": call.talk_seconds,
        "end_cause": call.end_cause,
        "recording_url": call.recording_url,
        "customer_id": call.customer_id,
        "interaction_id": call.interaction_id,
        "details": call.details or {},
    }
