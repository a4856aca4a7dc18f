"""Approved recipients: a sender registers someone (a friend, a colleague), the club approves or rejects."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from crmcore.api import (
    Conflict,
    NotFound,
    ValidationError,
    check_text,
    get_customer,
    notify_managers,
)

from .models import ApprovedRecipient


def _find(uow, sender_id: int, recipient_id: int) -> ApprovedRecipient | None:
    return uow.session.scalar(
        select(ApprovedRecipient).where(
            ApprovedRecipient.sender_id == sender_id, ApprovedRecipient.recipient_id == recipient_id
        )
    )


def register(
    uow, sender_id: int, recipient_id: int, note: str | None = None
) -> tuple[ApprovedRecipient, bool]:
    """The sender asks for ``recipient_id`` to be approved; returns ``(row, changed)``."""
    for cid, field in ((sender_id, "sender"), (recipient_id, "recipient")):
        if not get_customer(uow.session, cid).active:
            raise Conflict(f"customer {cid} is merged or forgotten", field=field)
    if sender_id == recipient_id:
        raise ValidationError(
            "a member cannot register themselves as a recipient", field="recipient"
        )
    row = _find(uow, sender_id, recipient_id)
    if row is not None and row.status in ("requested", "approved"):
        return row, False
    now = uow.now()
    if row is None:
        row = ApprovedRecipient(sender_id=sender_id, recipient_id=recipient_id, requested_at=now)
        uow.session.add(row)
    row.status, row.requested_at, row.decided_at, row.decided_by = "requested", now, None, None
    row.note = check_text((note or "").strip()[:300], "note") or None
    uow.session.flush()
    uow.audit(
        "register",
        "transfers_recipient",
        row.id,
        {"recipient": recipient_id},
        customer_id=sender_id,
    )
    names = [get_customer(uow.session, c).display_name for c in (sender_id, recipient_id)]
    notify_managers(
        uow,
        "transfers",
        f"گیرندهٔ انتقال در انتظار تأیید: {names[1]} برای {names[0]}",
        row.note,
        link=f"/customers/{sender_id}",
        kind="transfer_pending",
        key=f"transfers:recipient:{row.id}@{now.isoformat()}",
    )
    return row, True


def decide(uow, sender_id: int, recipient_id: int, *, approve: bool) -> ApprovedRecipient:
    row = _find(uow, sender_id, recipient_id)
    if row is None:
        raise NotFound(
            f"customer {sender_id} has not registered customer {recipient_id} as a recipient",
            field="recipient",
        )
    status = "approved" if approve else "rejected"
    if row.status == status:
        raise Conflict(
            f"customer {recipient_id} is already {status} for customer {sender_id}",
            field="recipient",
        )
    row.status, row.decided_at, row.decided_by = status, uow.now(), uow.actor
    uow.audit(
        "approve" if approve else "reject",
        "transfers_recipient",
        row.id,
        {"recipient": recipient_id},
        customer_id=sender_id,
    )
    return row


def remove(uow, sender_id: int, recipient_id: int) -> None:
    row = _find(uow, sender_id, recipient_id)
    if row is None:
        raise NotFound(
            f"customer {sender_id} has not registered customer {recipient_id} as a recipient",
            field="recipient",
        )
    uow.session.delete(row)
    uow.audit(
        "remove", "transfers_recipient", row.id, {"recipient": recipient_id}, customer_id=sender_id
    )


def list_recipients(
    uow, *, sender_id: int | None = None, status: str | None = None
) -> list[ApprovedRecipient]:
    query = select(ApprovedRecipient)
    if sender_id is not None:
        query = query.where(ApprovedRecipient.sender_id == sender_id)
    if status is not None:
        query = query.where(ApprovedRecipient.status == status)
    return list(uow.session.scalars(query.order_by(ApprovedRecipient.id)))


def recipient_to_dict(row: ApprovedRecipient) -> dict[str, Any]:
    return {
        "id": row.id,
        "sender_id": row.sender_id,
        "recipient_id": row.recipient_id,
        "status": row.status,
        "requested_at": row.requested_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "decided_by": row.decided_by,
        "note": row.note,
    }
