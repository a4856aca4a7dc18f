"""Delivery reports from the Iranian gateways (polled by a job, or pushed to the webhook routes) and the
advertising blacklist they reveal.

A report moves a ``sent`` message to ``delivered`` or ``failed`` (with the gateway's reason); a final
status is never overwritten. When the operator refused a message because the number blocked advertising SMS
(*800#), the customer's SMS *marketing* consent is withdrawn: a ``sms_promo`` consent change with the
gateway as source. Transactional SMS (receipts, reminders, codes on a service line) still go out;
promotional SMS to that customer are blocked from then on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from crmcore.api import CRMError, NotFound, get_customer

from .channels import build_channel
from .channels.iran import DeliveryReport, GatewayChannel
from .inbound import FINAL, _update_log
from .models import ConsentChange, Message, Provider

log = logging.getLogger(__name__)
MARKETING = "sms_promo"  # consent channel of advertising SMS (on top of the customer's SMS consent)
POLL_DAYS = 3  # gateways keep reports for a few days; older 'sent' messages are left as they are
POLL_CHUNK = 100
#: gateways that can be asked about a message by our own id (Kavenegar localid, Ghasedak clientReferenceId)
LOCAL_ID_KINDS = ("kavenegar", "ghasedak")


def marketing_withdrawn(uow) -> set[int]:
    """Customers whose latest SMS marketing consent change is a withdrawal (cached per unit of work)."""
    cache = uow.cache.setdefault("messaging", {})
    if "marketing_withdrawn" not in cache:
        latest: dict[int, bool] = {}
        for cid, granted in uow.session.execute(
            select(ConsentChange.customer_id, ConsentChange.granted)
            .where(ConsentChange.channel == MARKETING)
            .order_by(ConsentChange.id)
        ):
            latest[cid] = granted
        cache["marketing_withdrawn"] = {cid for cid, granted in latest.items() if not granted}
    return cache["marketing_withdrawn"]


def marketing_reason(customer) -> str:
    return (
        f"customer {customer.id} blocked advertising SMS (the operator's blacklist, *800#); "
        "only service messages reach them"
    )


def withdraw_marketing(uow, customer_id: int, *, source: str, detail: str) -> bool:
    """Record that the customer blocked advertising SMS; returns False when already recorded."""
    if customer_id in marketing_withdrawn(uow):
        return False
    return set_marketing(uow, customer_id, False, source=source, detail=detail)


def set_marketing(uow, customer_id: int, granted: bool, *, source: str, detail: str | None) -> bool:
    """Grant or withdraw SMS marketing consent (always logged); returns True when it changed."""
    withdrawn = marketing_withdrawn(uow)
    changed = (customer_id in withdrawn) == granted
    uow.session.add(
        ConsentChange(
            customer_id=customer_id,
            channel=MARKETING,
            granted=granted,
            source=source,
            detail=detail,
            at=uow.now(),
        )
    )
    uow.session.flush()
    (withdrawn.discard if granted else withdrawn.add)(customer_id)
    return changed


def apply_report(uow, provider_kind: str, report: DeliveryReport, *, via: str) -> dict[str, Any]:
    """Apply one report (``via``: ``poll`` or ``callback``) to the message the gateway gave that id."""
    names = list(uow.session.scalars(select(Provider.name).where(Provider.kind == provider_kind)))
    msg = uow.session.scalar(
        select(Message).where(
            Message.provider_message_id == report.provider_message_id, Message.provider.in_(names)
        )
    )
    if msg is None:
        raise NotFound(
            f"no message sent through {provider_kind} has the id {report.provider_message_id!r}",
            field="message",
        )
    changed = msg.status not in FINAL and msg.status != report.status
    if changed:
        msg.status = report.status
        if report.status == "delivered":
            msg.delivered_at = uow.now()
        if report.status == "failed":
            msg.error = f"{provider_kind}: {report.reason or report.code}"[:2000]
        _update_log(uow, msg)
    withdrawn = False
    if report.blacklisted:
        withdrawn = withdraw_marketing(
            uow,
            _current_customer(uow, msg.customer_id),
            source=f"blacklist:{provider_kind}:{via}",
            detail=f"{msg.recipient}: {report.reason} (message {msg.id})",
        )
    return {
        "message_id": msg.id,
        "status": msg.status,
        "changed": changed,
        "marketing_withdrawn": withdrawn,
    }


def _current_customer(uow, customer_id: int) -> int:
    try:
        return get_customer(uow.session, customer_id, follow_merges=True, allow_forgotten=True).id
    except CRMError:
        return customer_id


def apply_callback(uow, provider_kind: str, data: Any) -> dict[str, Any]:
    """A gateway's callback body (one report or a list) → the reports applied; unknown ids are counted."""
    channel = build_channel(provider_kind, {})
    if not isinstance(channel, GatewayChannel):
        raise NotFound(
            f"no delivery report callbacks for provider kind {provider_kind!r}", field="provider"
        )
    reports = channel.parse_callback(data)
    if not reports:
        from crmcore.api import ValidationError

        raise ValidationError(
            f"the {provider_kind} callback holds no delivery report", field="status"
        )
    applied, unknown = [], 0
    for report in reports:
        try:
            applied.append(apply_report(uow, provider_kind, report, via="callback"))
        except NotFound:
            unknown += 1
    return {"applied": applied, "unknown_ids": unknown}


def poll_reports(app, now: datetime) -> dict[str, int]:
    """Ask every gateway provider about its messages still ``sent`` (sent in the last few days)."""
    totals = {"asked": 0, "delivered": 0, "failed": 0, "found": 0, "errors": 0}
    with app.unit_of_work(actor="messaging") as uow:
        providers = [
            (p.name, p.kind, dict(p.options)) for p in uow.session.scalars(select(Provider))
        ]
    for name, kind, options in providers:
        channel = build_channel(kind, options)
        if not isinstance(channel, GatewayChannel):
            continue
        try:
            _poll_provider(app, channel, name, kind, now, totals)
        finally:
            channel.close()
    return totals


def _resolve_unknown(
    app, channel: GatewayChannel, name: str, now: datetime, totals: dict[str, int]
) -> None:
    """Messages left ``unknown`` (the process stopped while sending) on a gateway that knows our local id:
    those it has are ``sent`` after all and get their gateway id (and later their delivery report). Those
    it does not have stay ``unknown``: the request may still be on its way, so nothing is resent."""
    with app.unit_of_work(actor="messaging") as uow:
        ids = list(
            uow.session.scalars(
                select(Message.id)
                .where(
                    Message.provider == name,
                    Message.status == "unknown",
                    Message.provider_message_id.is_(None),
                    Message.created_at >= now - timedelta(days=POLL_DAYS),
                )
                .order_by(Message.id)
            )
        )
    for start in range(0, len(ids), POLL_CHUNK):
        try:
            found = channel.find_local(ids[start : start + POLL_CHUNK])
        except Exception as exc:  # noqa: BLE001
            log.warning("messaging: looking up unknown messages at %s failed: %s", name, exc)
            totals["errors"] += 1
            continue
        if not found:
            continue
        from .outbox import _log_interaction  # the outbox imports this module

        with app.unit_of_work(actor="messaging") as uow:
            for mid, provider_id in found.items():
                msg = uow.session.get(Message, mid)
                if msg is None or msg.status != "unknown":
                    continue
                msg.status, msg.provider_message_id = "sent", provider_id
                msg.error = None
                msg.sent_at = msg.sent_at or now
                if msg.interaction_id is None:
                    _log_interaction(uow, msg)
                totals["found"] += 1


def _poll_provider(
    app, channel: GatewayChannel, name: str, kind: str, now: datetime, totals: dict[str, int]
) -> None:
    if kind in LOCAL_ID_KINDS:
        _resolve_unknown(app, channel, name, now, totals)
    with app.unit_of_work(actor="messaging") as uow:
        ids = list(
            uow.session.scalars(
                select(Message.provider_message_id)
                .where(
                    Message.provider == name,
                    Message.status == "sent",
                    Message.provider_message_id.is_not(None),
                    Message.sent_at >= now - timedelta(days=POLL_DAYS),
                )
                .order_by(Message.id)
            )
        )
    for start in range(0, len(ids), POLL_CHUNK):
        chunk = ids[start : start + POLL_CHUNK]
        totals["asked"] += len(chunk)
        try:
            reports = channel.poll(
                chunk
            )  # outside any transaction: no lock held while the gateway answers
        except Exception as exc:  # noqa: BLE001 - one gateway's outage must not stop the others
            log.warning("messaging: polling %s failed: %s", name, exc)
            totals["errors"] += 1
            continue
        with app.unit_of_work(actor=f"gateway:{kind}") as uow:
            for report in reports:
                try:
                    out = apply_report(uow, kind, report, via="poll")
                except NotFound:
                    continue
                if out["changed"] and out["status"] in totals:
                    totals[out["status"]] += 1
