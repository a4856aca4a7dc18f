"""Transfers: send (instant or pending), accept, decline, cancel, expire, and the admin reversal.

Every operation is one unit of work over both ledgers. It first locks the two members' loyalty accounts in
customer-id order (``crmcore_loyalty.api.lock_account``), so concurrent transfers touching a member run one
after the other: the balance, the period limits and the idempotency key are checked under those locks.

Points: the sender pays ``points + fee``; the amount and the fee are debited from the sender's lots
(``transfer_out``, ``transfer_fee``). The recipient receives ``points`` as ``transfer_in`` lots whose expiry is
the original lot's, or N days after receipt when the policy says so and that is sooner — transferred points
never outlive the lot they came from. Undoing a transfer (decline, cancel, expiry, reversal) gives the sender
back lots with the original expiries.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from crmcore_loyalty import api as loyalty
from sqlalchemy import select

from crmcore.api import (
    Conflict,
    NotFound,
    ValidationError,
    check_text,
    format_datetime,
    get_customer,
)

from .circles import admitting_circle
from .limits import check_limits
from .models import Transfer, TransferEvent
from .policy import Policy


# -- the policy ---------------------------------------------------------------------------------------------
def active_policy(uow) -> Policy:
    """The ``[transfers]`` policy of the active loyalty program; refuses when transfers are not configured."""
    program = loyalty.active_program(uow)
    policy = program.sections.get("transfers")
    if policy is None:
        where = f"version {program.version}" if program.version else "none is loaded yet"
        raise Conflict(
            f"transfers are off: the active loyalty program ({where}) has no [transfers] section; "
            "add one and load it with `crm loyalty program load FILE` "
            "(an example: `crm transfers policy --example`)",
            field="policy",
        )
    return policy


def policy_calendar(uow, policy: Policy) -> str:
    return policy.calendar or loyalty.active_program(uow).calendar


# -- helpers ------------------------------------------------------------------------------------------------
def _member(uow, customer_id: int, role: str):
    customer = get_customer(uow.session, customer_id)
    if not customer.active:
        raise Conflict(
            f"customer {customer_id} is merged or forgotten and cannot take part in a transfer",
            field=role,
        )
    return customer


def _lock_pair(uow, a: int, b: int) -> None:
    for cid in sorted({a, b}):
        loyalty.lock_account(uow, cid)


def _step(uow, transfer: Transfer, event: str, reason: str | None = None) -> None:
    uow.session.add(
        TransferEvent(
            transfer_id=transfer.id,
            event=event,
            status=transfer.status,
            at=uow.now(),
            actor=uow.actor,
            reason=reason,
        )
    )


def _emit(uow, record: Transfer, name: str) -> None:
    """Outbox row and hook ``transfers_transfer_<name>`` (declined and cancelled have no spec)."""
    uow.session.flush()
    uow.emit(
        f"transfers_transfer_{name}",
        customer_id=record.sender_id,
        data=transfer_to_dict(record),
        transfer=record,
    )


def _lots(entry) -> list[list[Any]]:
    return [
        [lot_id, pts, exp.astimezone(timezone.utc).isoformat() if exp else None]
        for lot_id, pts, exp in entry.consumed
    ]


def expiry_groups(
    consumed: list[list[Any]], cap: datetime | None = None
) -> list[tuple[datetime | None, int]]:
    """Points of ``consumed`` lots grouped by expiry (``None`` = never), each expiry capped at ``cap``."""
    totals: dict[datetime | None, int] = {}
    for _lot, pts, expires in consumed:
        moment = datetime.fromisoformat(expires) if expires else None
        if cap is not None:
            moment = cap if moment is None else min(moment, cap)
        totals[moment] = totals.get(moment, 0) + pts
    return sorted(
        totals.items(),
        key=lambda kv: (kv[0] is None, kv[0] or datetime.min.replace(tzinfo=timezone.utc)),
    )


def _id_of(uow, entry) -> int:
    """A ledger entry's id (a debit's entry gets it when the session is flushed)."""
    if entry.id is None:
        uow.session.flush()
    return entry.id


def _credit_groups(
    uow, transfer: Transfer, customer_id: int, groups, *, kind: str, role: str, reason: str
) -> list[int]:
    ids = []
    for i, (expires, pts) in enumerate(groups, start=1):
        entry = loyalty.credit(
            uow,
            customer_id,
            pts,
            kind=kind,
            reason=reason,
            key=f"transfer:{transfer.id}:{role}:{i}",
            expires_at=expires,
            ref=f"transfer:{transfer.id}",
            details={"transfer_id": transfer.id},
        )
        ids.append(entry.id)
    return ids


def get_transfer(uow, transfer_id: int, *, lock: bool = False) -> Transfer:
    if isinstance(transfer_id, bool) or not isinstance(transfer_id, int):
        raise ValidationError(f"{transfer_id!r} is not a transfer id", field="transfer")
    query = select(Transfer).where(Transfer.id == transfer_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    transfer = uow.session.scalar(query)
    if transfer is None:
        raise NotFound(f"no transfer with id {transfer_id}", field="transfer")
    return transfer


def _locked_pending(uow, transfer_id: int, action: str) -> Transfer:
    transfer = get_transfer(uow, transfer_id)
    _lock_pair(uow, transfer.sender_id, transfer.recipient_id)
    transfer = get_transfer(uow, transfer_id, lock=True)  # re-read under the locks
    if transfer.status != "pending":
        raise Conflict(
            f"transfer {transfer.id} is {transfer.status}; only a pending transfer can be {action}",
            field="transfer",
        )
    return transfer


# -- send ---------------------------------------------------------------------------------------------------
def _check_points(points: Any) -> int:
    if isinstance(points, bool) or not isinstance(points, int):
        raise ValidationError(f"points are whole numbers, not {points!r}", field="points")
    if points <= 0:
        raise ValidationError(f"points to transfer must be positive, not {points}", field="points")
    return points


def _repeated(uow, key: str, sender_id: int, recipient_id: int, points: int) -> Transfer | None:
    found = uow.session.scalar(select(Transfer).where(Transfer.key == key))
    if found is None:
        return None
    if (found.sender_id, found.recipient_id, found.points) != (sender_id, recipient_id, points):
        raise Conflict(
            f"the idempotency key {key!r} was already used by transfer {found.id} "
            f"({found.points} points from customer {found.sender_id} to customer {found.recipient_id})",
            field="key",
        )
    return found


def send(
    uow,
    sender_id: int,
    recipient_id: int,
    points: int,
    *,
    key: str | None = None,
    note: str | None = None,
    policy: Policy | None = None,
) -> tuple[Transfer, bool]:
    """Transfer ``points`` from ``sender_id`` to ``recipient_id`` under the policy; returns ``(transfer, created)``.

    A repeated ``key`` returns the original transfer (``created`` False) and changes nothing. ``policy``
    overrides the active program's ``[transfers]`` section (demo data only).
    """
    points = _check_points(points)
    if key is not None and (not isinstance(key, str) or not key.strip() or len(key) > 200):
        raise ValidationError(
            "an idempotency key is a non-empty text of at most 200 characters", field="key"
        )
    sender = _member(uow, sender_id, "sender")
    recipient = _member(uow, recipient_id, "recipient")
    if sender.id == recipient.id:
        raise ValidationError(
            f"customer {sender.id} cannot transfer points to themselves", field="recipient"
        )
    policy = policy or active_policy(uow)
    _lock_pair(uow, sender.id, recipient.id)
    if key is not None:
        repeated = _repeated(uow, key.strip(), sender.id, recipient.id, points)
        if repeated is not None:
            return repeated, False
    if points < policy.min_points:
        raise ValidationError(
            f"the smallest transfer is {policy.min_points} points; {points} is below it",
            field="points",
        )
    if policy.max_points is not None and points > policy.max_points:
        raise ValidationError(
            f"the largest transfer is {policy.max_points:,} points; {points:,} is above it",
            field="points",
        )
    now = uow.now()
    circle = admitting_circle(uow, policy, sender.id, recipient.id, now)
    calendar = policy_calendar(uow, policy)
    check_limits(uow, policy, calendar, sender.id, recipient.id, points, now)
    fee = policy.fee_for(points)
    available = loyalty.balance(uow, sender.id)
    if points + fee > available:
        cost = (
            f"{points:,} points and a fee of {fee:,} ({points + fee:,} in all)"
            if fee
            else f"{points:,} points"
        )
        raise ValidationError(
            f"customer {sender.id} has {max(available, 0):,} points; cannot send {cost}",
            field="points",
        )
    program = loyalty.active_program(uow)
    transfer = Transfer(
        sender_id=sender.id,
        recipient_id=recipient.id,
        points=points,
        fee=fee,
        status="pending",
        key=key.strip() if key else None,
        note=check_text((note or "").strip()[:500], "note") or None,
        circle=circle,
        program_version=program.version,
        expiry_days=policy.expiry_days,
        created_at=now,
        consumed=[],
        fee_consumed=[],
        entries={},
    )
    uow.session.add(transfer)
    uow.session.flush()
    ref = f"transfer:{transfer.id}"
    out = loyalty.debit(
        uow,
        sender.id,
        points,
        kind="transfer_out",
        key=f"{ref}:out",
        ref=ref,
        reason=f"transfer {transfer.id} to customer {recipient.id}",
        details={"transfer_id": transfer.id, "recipient_id": recipient.id},
    )
    entries: dict[str, Any] = {"out": _id_of(uow, out), "fee": None}
    transfer.consumed = _lots(out)
    if fee:
        fee_entry = loyalty.debit(
            uow,
            sender.id,
            fee,
            kind="transfer_fee",
            key=f"{ref}:fee",
            ref=ref,
            reason=f"fee of transfer {transfer.id}",
            details={"transfer_id": transfer.id},
        )
        entries["fee"] = _id_of(uow, fee_entry)
        transfer.fee_consumed = _lots(fee_entry)
    transfer.entries = entries
    _step(uow, transfer, "requested")
    if policy.requires_acceptance:
        transfer.respond_by = now + timedelta(days=policy.accept_within_days)
        uow.audit(
            "request",
            "transfer",
            transfer.id,
            {"points": points, "fee": fee, "to": recipient.id},
            customer_id=sender.id,
        )
        _emit(uow, transfer, "requested")
    else:
        _complete(uow, transfer)
    return transfer, True


def _complete(uow, transfer: Transfer, event: str = "completed") -> None:
    now = uow.now()
    cap = now + timedelta(days=transfer.expiry_days) if transfer.expiry_days else None
    ids = _credit_groups(
        uow,
        transfer,
        transfer.recipient_id,
        expiry_groups(transfer.consumed, cap),
        kind="transfer_in",
        role="in",
        reason=f"transfer {transfer.id} from customer {transfer.sender_id}",
    )
    transfer.entries = {**transfer.entries, "in": ids}
    transfer.status = "completed"
    transfer.settled_at = now
    _step(uow, transfer, event)
    uow.audit(
        "complete",
        "transfer",
        transfer.id,
        {
            "points": transfer.points,
            "fee": transfer.fee,
            "from": transfer.sender_id,
            "to": transfer.recipient_id,
        },
        customer_id=transfer.recipient_id,
    )
    _emit(uow, transfer, "completed")


# -- the accept flow ----------------------------------------------------------------------------------------
def accept(uow, transfer_id: int) -> Transfer:
    """The recipient accepts a pending transfer: the points become theirs."""
    transfer = _locked_pending(uow, transfer_id, "accepted")
    if transfer.respond_by is not None and uow.now() >= transfer.respond_by:
        when = format_datetime(transfer.respond_by, uow.app.calendar, tz=uow.app.timezone)
        raise Conflict(
            f"transfer {transfer.id} could be accepted until {when}; it has lapsed and the "
            "transfers.expire job returns the points to the sender",
            field="transfer",
        )
    _complete(uow, transfer, "accepted")
    return transfer


def _give_back(uow, transfer: Transfer, status: str, reason: str | None) -> Transfer:
    """Return the amount and the fee of a pending transfer to the sender, lots with their original expiry."""
    why = f"transfer {transfer.id} {status}"
    returned = _credit_groups(
        uow,
        transfer,
        transfer.sender_id,
        expiry_groups(transfer.consumed),
        kind="transfer_return",
        role="return",
        reason=why,
    )
    if transfer.fee:
        returned += _credit_groups(
            uow,
            transfer,
            transfer.sender_id,
            expiry_groups(transfer.fee_consumed),
            kind="transfer_fee_refund",
            role="fee_refund",
            reason=f"{why}: fee refunded",
        )
    transfer.entries = {**transfer.entries, "return": returned}
    transfer.status = status
    transfer.settled_at = uow.now()
    _step(uow, transfer, status, reason)
    uow.audit(
        status,
        "transfer",
        transfer.id,
        {"reason": reason} if reason else {},
        customer_id=transfer.sender_id,
    )
    _emit(uow, transfer, status)
    return transfer


def decline(uow, transfer_id: int, reason: str | None = None) -> Transfer:
    """The recipient declines a pending transfer: the sender gets the points and the fee back."""
    return _give_back(uow, _locked_pending(uow, transfer_id, "declined"), "declined", reason)


def cancel(uow, transfer_id: int, reason: str | None = None) -> Transfer:
    """The sender withdraws a pending transfer: the points and the fee come back."""
    return _give_back(uow, _locked_pending(uow, transfer_id, "cancelled"), "cancelled", reason)


def expire_due(uow, now: datetime) -> dict[str, int]:
    """Expire the pending transfers whose answer time has passed (the ``transfers.expire`` job)."""
    due = list(
        uow.session.scalars(
            select(Transfer.id)
            .where(Transfer.status == "pending", Transfer.respond_by <= now)
            .order_by(Transfer.id)
        )
    )
    expired = points = 0
    for transfer_id in due:
        transfer = get_transfer(uow, transfer_id)
        _lock_pair(uow, transfer.sender_id, transfer.recipient_id)
        transfer = get_transfer(uow, transfer_id, lock=True)
        if transfer.status != "pending":
            continue
        _give_back(uow, transfer, "expired", "not accepted in time")
        expired += 1
        points += transfer.points + transfer.fee
    return {"expired": expired, "points_returned": points}


# -- the admin reversal -------------------------------------------------------------------------------------
def reverse(uow, transfer_id: int, reason: str) -> Transfer:
    """Undo a completed transfer: the recipient gives back what they received, the sender gets the amount
    and the fee back with the original expiries. Refused when the recipient already spent (or lost to
    expiry) any of the received points."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("a reversal needs a reason (--reason)", field="reason")
    transfer = get_transfer(uow, transfer_id)
    _lock_pair(uow, transfer.sender_id, transfer.recipient_id)
    transfer = get_transfer(uow, transfer_id, lock=True)
    if transfer.status != "completed":
        raise Conflict(
            f"transfer {transfer.id} is {transfer.status}; only a completed transfer can be reversed"
            + (
                "; a pending one can be cancelled or declined"
                if transfer.status == "pending"
                else ""
            ),
            field="transfer",
        )
    received = set(transfer.entries.get("in", []))
    lots = [
        lot
        for lot in loyalty.lots(uow, transfer.recipient_id, open_only=False)
        if lot.entry_id in received
    ]
    still_held = sum(lot.remaining for lot in lots)
    if still_held < transfer.points:
        raise Conflict(
            f"customer {transfer.recipient_id} already spent or lost to expiry "
            f"{transfer.points - still_held:,} of the {transfer.points:,} points transfer {transfer.id} "
            f"gave them; it cannot be reversed (nothing was changed)",
            field="transfer",
        )
    ref = f"transfer:{transfer.id}"
    taken = loyalty.debit(
        uow,
        transfer.recipient_id,
        transfer.points,
        kind="transfer_reversal",
        key=f"{ref}:reverse",
        ref=ref,
        reason=f"transfer {transfer.id} reversed: {reason.strip()}",
        details={"transfer_id": transfer.id},
    )
    why = f"transfer {transfer.id} reversed"
    back = _credit_groups(
        uow,
        transfer,
        transfer.sender_id,
        expiry_groups(transfer.consumed),
        kind="transfer_reversal",
        role="reverse_in",
        reason=why,
    )
    if transfer.fee:
        back += _credit_groups(
            uow,
            transfer,
            transfer.sender_id,
            expiry_groups(transfer.fee_consumed),
            kind="transfer_fee_refund",
            role="fee_refund",
            reason=f"{why}: fee refunded",
        )
    transfer.entries = {
        **transfer.entries,
        "reversal": [_id_of(uow, taken), *back],
        "reversal_lots": _lots(taken),
    }
    transfer.status = "reversed"
    transfer.reversed_at = uow.now()
    _step(uow, transfer, "reversed", reason.strip())
    uow.audit(
        "reverse",
        "transfer",
        transfer.id,
        {"reason": reason.strip()},
        customer_id=transfer.sender_id,
    )
    _emit(uow, transfer, "reversed")
    return transfer


# -- reads --------------------------------------------------------------------------------------------------
def list_transfers(
    uow, *, customer_id: int | None = None, status: str | None = None, limit: int | None = 100
) -> list[Transfer]:
    query = select(Transfer)
    if customer_id is not None:
        query = query.where(
            (Transfer.sender_id == customer_id) | (Transfer.recipient_id == customer_id)
        )
    if status is not None:
        query = query.where(Transfer.status == status)
    query = query.order_by(Transfer.id.desc())
    if limit:
        query = query.limit(limit)
    return list(uow.session.scalars(query))


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def transfer_to_dict(transfer: Transfer, *, history: bool = False) -> dict[str, Any]:
    data = {
        "id": transfer.id,
        "sender_id": transfer.sender_id,
        "recipient_id": transfer.recipient_id,
        "points": transfer.points,
        "fee": transfer.fee,
        "status": transfer.status,
        "circle": transfer.circle,
        "key": transfer.key,
        "note": transfer.note,
        "program_version": transfer.program_version,
        "expiry_days": transfer.expiry_days,
        "created_at": _iso(transfer.created_at),
        "respond_by": _iso(transfer.respond_by),
        "settled_at": _iso(transfer.settled_at),
        "reversed_at": _iso(transfer.reversed_at),
        "entries": dict(transfer.entries or {}),
        "consumed": [
            {"lot_id": lot, "points": pts, "expires_at": exp}
            for lot, pts, exp in transfer.consumed or ()
        ],
    }
    if history:
        data["history"] = [
            {
                "event": e.event,
                "status": e.status,
                "at": _iso(e.at),
                "actor": e.actor,
                "reason": e.reason,
            }
            for e in transfer.history
        ]
    return data
