"""The message outbox: queue (render, consent, cap, quiet hours, idempotency) and deliver (claim, send outside
any transaction, record, retry with back-off, rate limits per provider).

A message is sent at most once: its idempotency key is unique, and it is *claimed* (queued → sending) in a
committed transaction before the provider is called. If the process dies while sending, the message is
later marked ``unknown`` and never resent.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from crmcore.api import Conflict, CRMError, ValidationError, get_customer, record_interaction

from .channels import DeliveryError, Outgoing, build_channel
from .delivery import marketing_reason, marketing_withdrawn
from .fields import customer_fields, customer_language
from .models import Message, Provider
from .policy import (
    has_consent,
    missing_recipient_reason,
    no_consent_reason,
    promotional_counts,
    quiet_until,
    recipient,
)
from .service import find_template, provider_for
from .settings import frequency_cap, get_settings
from .templating import compile_source, render_compiled

log = logging.getLogger(__name__)
BATCH = 100
#: at most this many messages of one command are sent right after it commits; the job sends the rest
AFTER_COMMIT_MAX = 500
#: provider kinds whose channel sends a batch in one request (``send_bulk``)
BULK_KINDS = ("kavenegar", "ghasedak", "smsir", "melipayamak")


def existing_message(uow, key: str) -> Message | None:
    return uow.session.scalar(select(Message).where(Message.idempotency_key == key))


def _compiled(uow, template) -> tuple[Any, Any]:
    cache = uow.cache.setdefault("messaging", {}).setdefault("compiled", {})
    stamp = (template.id, template.updated_at)
    if stamp not in cache:
        cache[stamp] = (
            compile_source(template.body, field="body"),
            compile_source(template.subject, field="subject") if template.subject else None,
        )
    return cache[stamp]


def render_for(
    uow, customer, template_name: str, channel: str, extra: dict[str, Any] | None = None
):
    """(template row, subject, body) for this customer, in their language."""
    settings = get_settings(uow)
    template = find_template(
        uow,
        template_name,
        channel,
        customer_language(customer, settings),
        fallback=settings["default_language"],
    )
    body_c, subject_c = _compiled(uow, template)
    context = {**customer_fields(uow, customer), **(extra or {})}
    body = render_compiled(
        body_c, context, field=f"template {template.name} ({template.language})", channel=channel
    )
    subject = (
        render_compiled(
            subject_c, context, field=f"template {template.name} subject", channel="email"
        )
        if subject_c is not None
        else None
    )
    return template, subject, body


def queue_message(
    uow,
    customer,
    *,
    template: str,
    channel: str,
    trigger: str,
    key: str,
    extra: dict[str, Any] | None = None,
    promotional: bool | None = None,
    campaign_id: int | None = None,
    strict: bool = False,
    cap_counts: dict[int, int] | None = None,
    known_new: bool = False,
) -> Message:
    """Queue one message (or return the one already queued under ``key``: never twice).

    Refusals are recorded as ``blocked`` (no consent, no recipient), ``skipped`` (frequency cap) or ``failed``
    (template error) so the log tells why; with ``strict`` they raise instead and nothing is stored.
    ``known_new``: the caller already checked that no message has this key (batch callers).
    """
    found = None if known_new else existing_message(uow, key)
    if found is not None:
        if strict:
            raise Conflict(
                f"message {found.id} was already queued for this ({found.status})", field="key"
            )
        return found
    settings = get_settings(uow)
    now = uow.now()
    row = Message(
        customer_id=customer.id,
        channel=channel,
        trigger=trigger[:60],
        idempotency_key=key[:200],
        campaign_id=campaign_id,
        created_at=now,
        template=template,
        attempts=0,
        body="",
        category="promotional" if promotional else "transactional",
    )

    def refuse(status: str, reason: str, exc: type[CRMError] = ValidationError) -> Message:
        if strict:
            raise exc(reason, field="customer" if status == "blocked" else "template")
        row.status, row.error = status, reason
        uow.session.add(row)
        uow.session.flush()
        return row

    try:
        tpl, subject, body = render_for(uow, customer, template, channel, extra)
    except CRMError as exc:
        if strict:
            raise
        return refuse("failed", str(exc))
    row.language, row.subject, row.body = tpl.language, subject, body
    if promotional is None:
        row.category = tpl.category
    to = recipient(customer, channel)
    row.recipient = to
    if not customer.active:
        return refuse("blocked", f"customer {customer.id} is merged or forgotten")
    if to is None:
        return refuse("blocked", missing_recipient_reason(customer, channel))
    if not has_consent(customer, channel):
        return refuse("blocked", no_consent_reason(customer, channel))
    if (
        row.category == "promotional"
        and channel == "sms"
        and customer.id in marketing_withdrawn(uow)
    ):
        return refuse("blocked", marketing_reason(customer))
    cap = frequency_cap(settings)
    if row.category == "promotional" and cap is not None:
        counts = (
            cap_counts
            if cap_counts is not None
            else promotional_counts(uow, [customer.id], now, settings)
        )
        if counts.get(customer.id, 0) >= cap[0]:
            return refuse(
                "skipped",
                f"frequency cap: customer {customer.id} already had {cap[0]} promotional "
                f"messages in {cap[1]} days",
                Conflict,
            )
        if cap_counts is not None:
            cap_counts[customer.id] = cap_counts.get(customer.id, 0) + 1
    row.status = "queued"
    row.next_attempt_at = now
    if row.category == "promotional" and channel == "sms":
        row.next_attempt_at = quiet_until(now, settings, uow.app.timezone) or now
    uow.session.add(row)
    uow.session.flush()
    if settings["send_after_commit"] and row.next_attempt_at <= now:
        _send_after_commit(uow, row.id)
    return row


def _send_after_commit(uow, message_id: int) -> None:
    pending = uow.cache.setdefault("messaging", {}).setdefault("send_after_commit", [])
    if len(pending) >= AFTER_COMMIT_MAX:
        return
    if not pending:
        app = uow.app
        uow.after_commit(lambda: _deliver_quietly(app, pending))
    pending.append(message_id)


def _deliver_quietly(app, ids: list[int]) -> None:
    """After the command committed: try to send now; anything left stays queued for the job."""
    try:
        deliver(app, ids=list(ids))
    except Exception:  # noqa: BLE001 - the user's command already succeeded; the job retries
        log.exception("messaging: sending after commit failed; `crm jobs run` will retry")


# --- delivery -------------------------------------------------------------------------------------------
def deliver(
    app, *, now: datetime | None = None, ids: list[int] | None = None, limit: int = 1000
) -> dict[str, int]:
    """Send due messages in batches; returns counts by outcome."""
    totals = {"sent": 0, "retrying": 0, "failed": 0, "unknown": 0, "blocked": 0, "deferred": 0}
    now = now or app.now()
    with app.unit_of_work(actor="messaging") as uow:
        totals["unknown"] += _mark_stale(uow, now)
    remaining = limit
    channels: dict[str, Any] = {}
    try:
        _deliver_batches(app, now, ids, remaining, channels, totals)
    finally:
        for channel in channels.values():
            getattr(channel, "close", lambda: None)()
    return totals


def _deliver_batches(app, now, ids, remaining, channels, totals) -> None:
    while remaining > 0:
        claimed, counts = _claim(app, now, ids, min(BATCH, remaining))
        for k, v in counts.items():
            totals[k] += v
        if not claimed:
            break
        results = _send_all(channels, claimed)
        with app.unit_of_work(actor="messaging") as uow:
            # hold the batch's rows: the session's identity map only keeps weak references
            ids = [m["id"] for m, _ in results]
            held = (  # noqa: F841 - kept alive until the rows are recorded
                uow.session.scalars(select(Message).where(Message.id.in_(ids))).all(),
                _preload_customers(uow, [m["customer_id"] for m, _ in results]),
            )
            for msg, outcome in results:
                totals[_record(uow, msg, outcome, now)] += 1
        remaining -= len(claimed)
        if len(claimed) < BATCH:
            break


def _preload_customers(uow, ids: list[int]) -> list:
    """Load a batch's customers in one query; while the caller holds the list, lookups by id need no query."""
    from crmcore.api import Customer

    return (
        list(uow.session.scalars(select(Customer).where(Customer.id.in_(set(ids))))) if ids else []
    )


def _mark_stale(uow, now: datetime) -> int:
    settings = get_settings(uow)
    cutoff = now - timedelta(minutes=settings["stale_sending_minutes"])
    result = uow.session.execute(
        update(Message)
        .where(Message.status == "sending", Message.next_attempt_at < cutoff)
        .values(
            status="unknown",
            error="the sending process stopped before recording the outcome; "
            "not resent to avoid a duplicate",
        )
    )
    return result.rowcount or 0


def _claim(app, now: datetime, ids: list[int] | None, size: int):
    """Pick due messages, re-check consent and quiet hours, respect rate limits, mark them ``sending``."""
    counts = {"blocked": 0, "deferred": 0, "failed": 0}
    claimed: list[tuple[dict[str, Any], dict[str, Any]]] = []
    with app.unit_of_work(actor="messaging") as uow:
        settings = get_settings(uow)
        q = (
            select(Message)
            .where(Message.status == "queued", Message.next_attempt_at <= now)
            .order_by(Message.next_attempt_at, Message.id)
            .limit(size)
        )
        if ids is not None:
            q = q.where(Message.id.in_(ids))
        providers: dict[str, Provider | None] = {}
        budget: dict[str, int | None] = {}
        quiet = quiet_until(now, settings, app.timezone)
        due = uow.session.scalars(q).all()
        loaded = _preload_customers(uow, [m.customer_id for m in due])  # noqa: F841 - keeps them in the session
        for msg in due:
            customer = get_customer(
                uow.session, msg.customer_id, follow_merges=True, allow_forgotten=True
            )
            if not customer.active or not has_consent(customer, msg.channel):
                msg.status, msg.error = (
                    "blocked",
                    no_consent_reason(customer, msg.channel) + " before sending",
                )
                counts["blocked"] += 1
                continue
            if (
                msg.category == "promotional"
                and msg.channel == "sms"
                and customer.id in marketing_withdrawn(uow)
            ):
                msg.status, msg.error = "blocked", marketing_reason(customer) + " before sending"
                counts["blocked"] += 1
                continue
            if msg.category == "promotional" and msg.channel == "sms" and quiet is not None:
                msg.next_attempt_at = quiet
                counts["deferred"] += 1
                continue
            if msg.channel not in providers:
                providers[msg.channel] = provider_for(uow, msg.channel)
            provider = providers[msg.channel]
            if provider is None:
                msg.status, msg.error = (
                    "failed",
                    f"no {msg.channel} provider is configured (crm messages providers add)",
                )
                counts["failed"] += 1
                continue
            if provider.name not in budget:
                budget[provider.name] = _rate_budget(uow, provider, now)
            if budget[provider.name] is not None:
                if budget[provider.name] <= 0:
                    counts["deferred"] += 1
                    continue
                budget[provider.name] -= 1
            taken = uow.session.execute(
                update(Message)
                .where(Message.id == msg.id, Message.status == "queued")
                .values(
                    status="sending",
                    attempts=Message.attempts + 1,
                    provider=provider.name,
                    next_attempt_at=now,
                    sent_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            if taken.rowcount != 1:  # another process claimed it first
                continue
            claimed.append(
                (
                    {
                        "id": msg.id,
                        "customer_id": customer.id,
                        "channel": msg.channel,
                        "recipient": msg.recipient,
                        "subject": msg.subject,
                        "body": msg.body,
                        "key": msg.idempotency_key,
                        "attempts": msg.attempts + 1,
                        "category": msg.category,
                    },
                    {
                        "name": provider.name,
                        "kind": provider.kind,
                        "options": dict(provider.options),
                    },
                )
            )
    return claimed, counts


def _rate_budget(uow, provider: Provider, now: datetime) -> int | None:
    if not provider.rate_per_minute:
        return None
    used = uow.session.scalar(
        select(func.count())
        .select_from(Message)
        .where(
            Message.provider == provider.name,
            Message.sent_at > now - timedelta(minutes=1),
            Message.status.in_(("sending", "sent", "delivered", "unknown")),
        )
    )
    return max(provider.rate_per_minute - (used or 0), 0)


def _outgoing(msg: dict[str, Any]) -> Outgoing:
    return Outgoing(
        message_id=msg["id"],
        channel=msg["channel"],
        recipient=msg["recipient"],
        body=msg["body"],
        subject=msg["subject"],
        idempotency_key=msg["key"],
        category=msg["category"],
        attempt=msg["attempts"],
    )


def _send_all(channels: dict[str, Any], claimed: list) -> list:
    """Send a claimed batch: through a gateway's bulk request when it has one, else one by one."""
    outcome: dict[int, Any] = {}
    by_provider: dict[str, list] = {}
    for msg, provider in claimed:
        by_provider.setdefault(provider["name"], []).append((msg, provider))
    for name, items in by_provider.items():
        provider = items[0][1]
        if len(items) > 1 and provider["kind"] in BULK_KINDS:
            try:
                if name not in channels:
                    channels[name] = build_channel(provider["kind"], provider["options"])
                results = channels[name].send_bulk([_outgoing(m) for m, _ in items])
            except DeliveryError as exc:
                results = [exc] * len(items)
            except Exception as exc:  # noqa: BLE001 - as in _send: never leave messages 'sending'
                results = [
                    DeliveryError(f"{type(exc).__name__}: {exc}", retryable=False, ambiguous=True)
                ] * len(items)
            for (msg, _), result in zip(items, results):
                outcome[msg["id"]] = result
        else:
            for msg, prov in items:
                outcome[msg["id"]] = _send(channels, prov, msg)
    return [(msg, outcome[msg["id"]]) for msg, _ in claimed]


def _send(channels: dict[str, Any], provider: dict[str, Any], msg: dict[str, Any]):
    out = _outgoing(msg)
    try:
        if provider["name"] not in channels:
            channels[provider["name"]] = build_channel(provider["kind"], provider["options"])
        return channels[provider["name"]].send(out)
    except DeliveryError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - an adapter bug must not leave the message 'sending' forever
        return DeliveryError(f"{type(exc).__name__}: {exc}", retryable=False, ambiguous=True)


def _record(uow, msg: dict[str, Any], outcome, now: datetime) -> str:
    row = uow.session.get(Message, msg["id"])
    settings = get_settings(uow)
    if isinstance(outcome, DeliveryError):
        row.error = str(outcome)[:2000]
        if outcome.ambiguous:
            row.status = "unknown"
            return "unknown"
        if outcome.retryable and msg["attempts"] < settings["max_attempts"]:
            row.status = "queued"
            row.sent_at = None
            row.next_attempt_at = now + timedelta(
                seconds=settings["retry_base_seconds"] * 2 ** (msg["attempts"] - 1)
            )
            return "retrying"
        row.status = "failed"
        row.sent_at = None
        if outcome.retryable:
            row.error = f"gave up after {msg['attempts']} attempts: {row.error}"
        return "failed"
    row.status = outcome.status
    row.error = None
    row.provider_message_id = outcome.provider_message_id
    row.sent_at = now
    if outcome.status == "delivered":
        row.delivered_at = now
    _log_interaction(uow, row)
    return "sent"


def _log_interaction(uow, row: Message) -> None:
    """The delivery log per customer: one outgoing ``message`` interaction per sent message."""
    try:
        customer = get_customer(uow.session, row.customer_id)
    except CRMError:
        return  # forgotten meanwhile: nothing personal is logged
    interaction = record_interaction(
        uow,
        customer,
        kind="message",
        channel=row.channel,
        direction="out",
        occurred_at=row.sent_at,
        external_id=f"messaging-{row.id}",
        payload={
            "message_id": row.id,
            "template": row.template,
            "trigger": row.trigger,
            "status": row.status,
            "provider": row.provider,
            "subject": row.subject,
            "preview": row.body[:160],
        },
    )
    row.interaction_id = interaction.id
