"""Missed-call follow-up: a call-back task (tasks plugin), else a ticket (tickets plugin), else a row in this
plugin's own table; at most one per caller within the window (an hour by default)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from crmcore.api import Phone

from .config import VoipConfig
from .models import Call, FollowUp

log = logging.getLogger("crmcore_voip")


def _national(e164: str) -> str:
    try:
        return Phone(e164).national()
    except Exception:  # noqa: BLE001 - a number phonenumbers cannot format is shown as stored
        return e164


def _reference(result: Any) -> str | None:
    if result is None:
        return None
    ref = result.get("id") if isinstance(result, dict) else getattr(result, "id", None)
    return None if ref is None else str(ref)


def open_follow_up(session, e164: str, at, window: timedelta) -> FollowUp | None:
    """The follow-up whose window covers a missed call of ``e164`` at ``at``."""
    stmt = (
        select(FollowUp)
        .where(
            FollowUp.caller_e164 == e164,
            FollowUp.first_missed_at > at - window,
            FollowUp.first_missed_at < at + window,
        )
        .order_by(FollowUp.first_missed_at.desc())
        .limit(1)
    )
    return session.scalar(stmt)


def follow_up_missed_call(uow, call: Call, customer, config: VoipConfig) -> FollowUp | None:
    """Create (or count into the current) follow-up of a missed inbound call. Returns ``None`` when the caller
    has no number to call back."""
    e164 = call.party_e164
    if not e164:
        log.info(
            "missed call %s: no follow-up, the caller's number is %s",
            call.call_key,
            call.party_kind,
        )
        return None
    session = uow.session
    missed_at = call.started_at
    window = timedelta(minutes=config.follow_up_window_minutes)
    current = open_follow_up(session, e164, missed_at, window)
    if current is not None:
        current.missed_calls += 1
        if missed_at > current.last_missed_at:
            current.last_missed_at = missed_at
        log.info(
            "missed call %s counted into follow-up %s (%d missed calls of %s)",
            call.call_key,
            current.id,
            current.missed_calls,
            e164,
        )
        return current
    who = (
        f"{customer.display_name} ({_national(e164)})" if customer is not None else _national(e164)
    )
    title = f"تماس بی‌پاسخ از {who} — تماس بگیرید / Missed call from {who}: call back"
    due_at = missed_at + timedelta(minutes=config.follow_up_due_minutes)
    dedup_key = f"voip:missed:{e164}:{missed_at:%Y%m%dT%H%M%S}"
    via, reference = "voip", None
    if customer is not None:
        via, reference = _hand_over(
            uow, call, customer, title=title, due_at=due_at, dedup_key=dedup_key
        )
    follow_up = FollowUp(
        caller_e164=e164,
        first_missed_at=missed_at,
        customer_id=customer.id if customer else None,
        call_id=call.id,
        dedup_key=dedup_key,
        via=via,
        reference=reference,
        title=title,
        due_at=due_at,
        missed_calls=1,
        last_missed_at=missed_at,
        status="open" if via == "voip" else "handed_over",
        created_at=uow.now(),
    )
    session.add(follow_up)
    session.flush()
    return follow_up


def _hand_over(
    uow, call: Call, customer, *, title: str, due_at, dedup_key: str
) -> tuple[str, str | None]:
    """Give the follow-up to tasks or tickets when installed. Their failure is logged and the follow-up stays
    here, so a broken plugin never loses the call."""
    attempts = []
    if uow.has_plugin("tasks"):
        attempts.append(
            (
                "tasks",
                "tasks_create_follow_up",
                dict(
                    customer_id=customer.id,
                    title=title,
                    kind="call_back",
                    due_at=due_at,
                    dedup_key=dedup_key,
                    source="voip",
                    reference=call.call_key,
                ),
            )
        )
    elif uow.has_plugin("tickets"):
        body = (
            f"تماس ورودی بی‌پاسخ در {call.started_at.isoformat()} از {call.party_e164}"
            f"{' به داخلی ' + call.extension if call.extension else ''}.\n"
            f"Missed inbound call at {call.started_at.isoformat()} from {call.party_e164}"
            f"{' to extension ' + call.extension if call.extension else ''} ({call.call_key})."
        )
        attempts.append(
            (
                "tickets",
                "tickets_create_ticket",
                dict(
                    customer_id=customer.id,
                    subject=title,
                    body=body,
                    channel="phone",
                    priority="normal",
                    dedup_key=dedup_key,
                    source="voip",
                ),
            )
        )
    for plugin, hook, kwargs in attempts:
        try:
            with uow.session.begin_nested():
                result = uow.call(hook, **kwargs)
        except Exception as exc:  # noqa: BLE001 - keep the follow-up here rather than lose the call
            log.error(
                "missed call %s: %s failed (%s); the follow-up is kept in voip's own list",
                call.call_key,
                hook,
                exc,
            )
            continue
        if isinstance(result, list):  # a hook declared without firstresult
            result = next((r for r in result if r is not None), None)
        if result is None:
            log.warning(
                "missed call %s: %s returned nothing; the follow-up is kept in voip's own list",
                call.call_key,
                hook,
            )
            continue
        return plugin, _reference(result)
    return "voip", None
