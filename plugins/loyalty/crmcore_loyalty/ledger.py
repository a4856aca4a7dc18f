"""The append-only ledger: credits make lots, debits consume lots in the program's spend order, every entry
extends the member's hash chain, and the account row (the cached balance) is locked for each write.

Locking: the account row is read with ``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite the kernel opens write
transactions with ``BEGIN IMMEDIATE``, which already serialises writers. Two processes spending one balance
therefore run one after the other, and the second sees the first's result.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any

import orjson
from sqlalchemy import case, func, or_, select

from crmcore.api import Conflict, Customer, NotFound, ValidationError

from .models import LoyaltyAccount, LoyaltyEntry, LoyaltyLot
from .program import Program

KIND = re.compile(r"^[a-z][a-z0-9_]{1,29}$")


class _Default:
    def __repr__(self) -> str:
        return "PROGRAM_EXPIRY"


#: default of ``credit(expires_at=…)``: the program's expiry rule applied to the entry's ``occurred_at``
PROGRAM_EXPIRY: Any = _Default()


# -- accounts and locks ------------------------------------------------------------------------------------
def _accounts(uow) -> dict[int, LoyaltyAccount]:
    return uow.cache.setdefault("loyalty.accounts", {})


def customer_or_404(uow, customer_id: int) -> Customer:
    customer = uow.session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer with id {customer_id}", field="customer")
    return customer


def lock_account(uow, customer_id: int) -> LoyaltyAccount:
    """The member's account row, locked for this transaction (created on first use)."""
    cached = _accounts(uow).get(customer_id)
    if cached is not None:
        return cached
    session = uow.session
    query = (
        select(LoyaltyAccount).where(LoyaltyAccount.customer_id == customer_id).with_for_update()
    )
    account = session.scalar(query)
    if account is None:
        customer = customer_or_404(uow, customer_id)
        if not customer.active:
            raise Conflict(
                f"customer {customer_id} is {'merged' if customer.merged_into_id else 'forgotten'}",
                field="customer",
            )
        insert = _insert_for(session)
        session.execute(
            insert(LoyaltyAccount)
            .values(
                customer_id=customer_id,
                balance=0,
                deficit=0,
                owed=0,
                absorbed=0,
                entry_count=0,
                chain_head="",
                state={},
                updated_at=uow.now(),
            )
            .on_conflict_do_nothing(index_elements=["customer_id"])
        )
        account = session.scalar(query)
    _accounts(uow)[customer_id] = account
    return account


def accounts_locked(uow, customer_ids: list[int]) -> dict[int, LoyaltyAccount]:
    """Lock (creating where missing) the accounts of many members, in customer-id order."""
    cache = _accounts(uow)
    missing = sorted(cid for cid in set(customer_ids) if cid not in cache)
    session = uow.session
    for start in range(0, len(missing), 500):
        chunk = missing[start : start + 500]
        query = (
            select(LoyaltyAccount)
            .where(LoyaltyAccount.customer_id.in_(chunk))
            .order_by(LoyaltyAccount.customer_id)
            .with_for_update()
        )
        found = {a.customer_id: a for a in session.scalars(query)}
        new = [cid for cid in chunk if cid not in found]
        if new:
            now = uow.now()
            insert = _insert_for(session)
            session.execute(
                insert(LoyaltyAccount).on_conflict_do_nothing(index_elements=["customer_id"]),
                [
                    {
                        "customer_id": cid,
                        "balance": 0,
                        "deficit": 0,
                        "owed": 0,
                        "absorbed": 0,
                        "entry_count": 0,
                        "chain_head": "",
                        "state": {},
                        "updated_at": now,
                    }
                    for cid in new
                ],
            )
            found = {a.customer_id: a for a in session.scalars(query)}
        cache.update(found)
    return {cid: cache[cid] for cid in customer_ids}


def _insert_for(session):
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def balance(uow, customer_id: int) -> int:
    """What the member may spend now: lots already past their expiry do not count, even before the
    ``loyalty.expiry`` job has written their ``expire`` entry."""
    cached = _accounts(uow).get(customer_id)
    if cached is not None:
        value = cached.balance
    else:
        value = uow.session.scalar(
            select(LoyaltyAccount.balance).where(LoyaltyAccount.customer_id == customer_id)
        )
    return int(value or 0) - expired_unwritten(uow, customer_id)


def expired_unwritten(uow, customer_id: int, now: datetime | None = None) -> int:
    """Points in the member's lots whose expiry has passed but whose ``expire`` entry is not
    written."""
    value = uow.session.scalar(
        select(func.coalesce(func.sum(LoyaltyLot.remaining), 0)).where(
            LoyaltyLot.customer_id == customer_id,
            LoyaltyLot.remaining > 0,
            LoyaltyLot.expires_at.is_not(None),
            LoyaltyLot.expires_at <= (now or uow.now()),
        )
    )
    return int(value or 0)


def expire_due(uow, customer_id: int, program: Program) -> LoyaltyEntry | None:
    """Write the ``expire`` entry of the member's lots past their expiry now (as the job would), so
    that a spend never takes points that have expired."""
    now = uow.now()
    due = list(
        uow.session.scalars(
            select(LoyaltyLot)
            .where(
                LoyaltyLot.customer_id == customer_id,
                LoyaltyLot.remaining > 0,
                LoyaltyLot.expires_at.is_not(None),
                LoyaltyLot.expires_at <= now,
            )
            .order_by(LoyaltyLot.expires_at, LoyaltyLot.id)
        )
    )
    if not due:
        return None
    entry = expire_lots(uow, customer_id, due, now, program)
    if entry is not None:
        uow.emit("loyalty_points_expired", customer_id=customer_id, data=entry_to_dict(entry))
    return entry


# -- the hash chain ----------------------------------------------------------------------------------------
def _iso(moment: datetime | None, _memo: dict = {}) -> str:  # noqa: B006 - a deliberate per-process memo
    """UTC ISO text of a moment (remembered: a batch stamps every entry with the same time and a history
    repeats the same days)."""
    if moment is None:
        return ""
    text = _memo.get(moment)
    if text is None:
        if len(_memo) > 50_000:
            _memo.clear()
        text = _memo[moment] = moment.astimezone(timezone.utc).isoformat()
    return text


def _plain(value: Any) -> bool:
    """Only objects with string keys, arrays, strings, integers within 64 bits, booleans and nulls."""
    kind = type(value)
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return -(2**63) <= value < 2**63
    if kind is dict:
        for k, v in value.items():
            if type(k) is not str or not _plain(v):
                return False
        return True
    if kind is list:
        for v in value:
            if not _plain(v):
                return False
        return True
    return False


def canonical_json(value: Any, *, sort_keys: bool = False) -> str:
    """``json.dumps(value, sort_keys=…, separators=(",", ":"), ensure_ascii=False)``, byte for byte (the hash
    chain depends on it; a property test compares them), through orjson when the value is plain JSON."""
    if not value and (type(value) is list or type(value) is dict):
        return "[]" if type(value) is list else "{}"
    if _plain(value):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0).decode()
    return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False)


def entry_digest(entry: LoyaltyEntry) -> str:
    """SHA-256 over the entry's meaningful fields and the previous entry's hash."""
    fields = [
        entry.prev_hash,
        str(entry.customer_id),
        str(entry.seq),
        entry.kind,
        str(entry.points),
        str(entry.balance_after),
        entry.reason,
        entry.key or "",
        entry.ref or "",
        str(entry.interaction_id or ""),
        entry.actor,
        str(entry.program_version or ""),
        _iso(entry.occurred_at),
        _iso(entry.recorded_at),
        canonical_json(entry.consumed_lots or []),
        canonical_json(entry.details or {}, sort_keys=True),
    ]
    return hashlib.sha256("\x1f".join(fields).encode("utf-8")).hexdigest()


def _append(
    uow,
    account: LoyaltyAccount,
    *,
    kind: str,
    points: int,
    reason: str,
    key: str | None,
    ref: str | None,
    interaction_id: int | None,
    occurred_at: datetime | None,
    program: Program,
    consumed: list | None = None,
    details: dict | None = None,
) -> LoyaltyEntry:
    now = uow.now()
    account.balance += points
    account.entry_count += 1
    account.updated_at = now
    entry = LoyaltyEntry(
        customer_id=account.customer_id,
        seq=account.entry_count,
        kind=kind,
        points=points,
        balance_after=account.balance,
        reason=reason,
        key=key,
        ref=ref,
        interaction_id=interaction_id,
        actor=uow.actor,
        program_version=program.version,
        occurred_at=occurred_at or now,
        recorded_at=now,
        consumed_lots=consumed or [],
        details=details or {},
        prev_hash=account.chain_head,
    )
    entry.hash = entry_digest(entry)
    account.chain_head = entry.hash
    uow.session.add(entry)
    if key is not None:
        uow.cache.setdefault("loyalty.keys", {})[key] = entry
    return entry


# -- idempotency -------------------------------------------------------------------------------------------
def _repeat(uow, key: str | None, customer_id: int, kind: str, points: int) -> LoyaltyEntry | None:
    """The entry already written with ``key`` (same operation: returned; another operation: refused)."""
    if key is None:
        return None
    entry = uow.cache.get("loyalty.keys", {}).get(key)
    if entry is None:
        with uow.session.no_autoflush:
            entry = uow.session.scalar(select(LoyaltyEntry).where(LoyaltyEntry.key == key))
    if entry is None:
        return None
    if entry.customer_id != customer_id or entry.kind != kind or abs(entry.points) != abs(points):
        raise Conflict(
            f"the idempotency key {key!r} was already used for another operation "
            f"(entry {entry.id}: {entry.kind} {entry.points:+d} for customer {entry.customer_id})",
            field="key",
        )
    return entry


def _check_args(points: Any, kind: str, reason: str) -> None:
    if isinstance(points, bool) or not isinstance(points, int):
        raise ValidationError(f"points are whole numbers, not {points!r}", field="points")
    if points <= 0:
        raise ValidationError(f"points must be positive, not {points}", field="points")
    if not isinstance(kind, str) or not KIND.match(kind):
        raise ValidationError(
            f"{kind!r} is not an entry kind (lower-case letters, digits and _)", field="kind"
        )
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("a reason is required", field="reason")


# -- credits and debits ------------------------------------------------------------------------------------
def credit(
    uow,
    customer_id: int,
    points: int,
    *,
    kind: str,
    reason: str,
    key: str | None = None,
    expires_at: Any = PROGRAM_EXPIRY,
    ref: str | None = None,
    interaction_id: int | None = None,
    occurred_at: datetime | None = None,
    details: dict | None = None,
    program: Program | None = None,
) -> LoyaltyEntry:
    from . import expiry as expiry_rules
    from .programs import active_program

    _check_args(points, kind, reason)
    account = lock_account(uow, customer_id)
    repeated = _repeat(uow, key, customer_id, kind, points)
    if repeated is not None:
        return repeated
    program = program or active_program(uow)
    occurred_at = occurred_at or uow.now()
    if expires_at is PROGRAM_EXPIRY:
        expires_at = expiry_rules.expiry_for(program, occurred_at, uow.app.timezone)
    details = dict(details or {})
    entry = _append(
        uow,
        account,
        kind=kind,
        points=points,
        reason=reason.strip(),
        key=key,
        ref=ref,
        interaction_id=interaction_id,
        occurred_at=occurred_at,
        program=program,
        details=details,
    )
    lot_points = points
    if account.deficit:  # a negative balance is filled before new points can be spent
        filled = min(account.deficit, lot_points)
        account.deficit -= filled
        lot_points -= filled
    if lot_points:
        lot = LoyaltyLot(
            customer_id=customer_id,
            points=lot_points,
            remaining=lot_points,
            earned_at=occurred_at,
            expires_at=expires_at,
        )
        lot.entry = entry
        uow.session.add(lot)
    uow.session.flush()
    if (
        account.owed and lot_points
    ):  # clawback: what a refund could not take back is taken from new points
        owed = min(account.owed, lot_points)
        account.owed -= owed
        _debit_lots(
            uow,
            account,
            owed,
            kind="clawback",
            program=program,
            occurred_at=occurred_at,
            reason=f"claw back {owed} points still owed from a refund",
            ref=f"entry:{entry.id}",
            key=None,
            interaction_id=interaction_id,
            details={},
        )
    customer = uow.session.get(Customer, customer_id)
    uow.emit(
        "loyalty_points_earned",
        customer_id=customer_id,
        data=entry_to_dict(entry),
        customer=customer,
        entry=entry,
    )
    return entry


def debit(
    uow,
    customer_id: int,
    points: int,
    *,
    kind: str,
    reason: str,
    key: str | None = None,
    ref: str | None = None,
    interaction_id: int | None = None,
    occurred_at: datetime | None = None,
    details: dict | None = None,
    program: Program | None = None,
    announce: bool = True,
) -> LoyaltyEntry:
    from .programs import active_program

    _check_args(points, kind, reason)
    account = lock_account(uow, customer_id)
    repeated = _repeat(uow, key, customer_id, kind, -points)
    if repeated is not None:
        return repeated
    program = program or active_program(uow)
    spendable = account.balance - expired_unwritten(uow, customer_id)
    if points > spendable:
        # refused before anything is written; a spend that goes ahead first expires what is due
        raise ValidationError(
            f"customer {customer_id} has {max(spendable, 0)} points; cannot take {points}",
            field="points",
        )
    expire_due(uow, customer_id, program)
    entry = _debit_lots(
        uow,
        account,
        points,
        kind=kind,
        program=program,
        occurred_at=occurred_at,
        reason=reason.strip(),
        ref=ref,
        key=key,
        interaction_id=interaction_id,
        details=details or {},
    )
    if announce:
        customer = uow.session.get(Customer, customer_id)
        uow.emit(
            "loyalty_points_redeemed",
            customer_id=customer_id,
            data=entry_to_dict(entry),
            customer=customer,
            entry=entry,
        )
    return entry


def spendable_lots(uow, customer_id: int, spend_order: str) -> list[LoyaltyLot]:
    q = select(LoyaltyLot).where(LoyaltyLot.customer_id == customer_id, LoyaltyLot.remaining > 0)
    if spend_order == "oldest":
        q = q.order_by(LoyaltyLot.earned_at, LoyaltyLot.id)
    else:  # soonest expiring first; lots that never expire last
        q = q.order_by(
            case((LoyaltyLot.expires_at.is_(None), 1), else_=0),
            LoyaltyLot.expires_at,
            LoyaltyLot.earned_at,
            LoyaltyLot.id,
        )
    return list(uow.session.scalars(q))


def _debit_lots(
    uow,
    account: LoyaltyAccount,
    points: int,
    *,
    kind: str,
    program: Program,
    occurred_at: datetime | None,
    reason: str,
    ref: str | None,
    key: str | None,
    interaction_id: int | None,
    details: dict,
    allow_deficit: bool = False,
) -> LoyaltyEntry:
    """Take ``points`` from the lots (and, when allowed, below zero into the deficit) and write the entry."""
    consumed: list[list[Any]] = []
    left = points
    for lot in spendable_lots(uow, account.customer_id, program.spend_order):
        if not left:
            break
        take = min(lot.remaining, left)
        lot.remaining -= take
        left -= take
        consumed.append([lot.id, take, _iso(lot.expires_at) or None])
    if left:
        if not allow_deficit:
            raise ValidationError(
                f"customer {account.customer_id} has only {points - left} points in lots; "
                f"cannot take {points}",
                field="points",
            )
        account.deficit += left
        details = {**details, "into_deficit": left}
    return _append(
        uow,
        account,
        kind=kind,
        points=-points,
        reason=reason,
        key=key,
        ref=ref,
        interaction_id=interaction_id,
        occurred_at=occurred_at,
        program=program,
        consumed=consumed,
        details=details,
    )


def take_back(
    uow,
    customer_id: int,
    points: int,
    *,
    kind: str,
    reason: str,
    key: str | None,
    ref: str | None,
    interaction_id: int | None,
    occurred_at: datetime | None,
    program: Program,
    details: dict | None = None,
) -> LoyaltyEntry | None:
    """Reverse ``points`` already given (a refund): the program's negative-balance policy decides what happens
    to the part the member already spent — ``allow_negative`` (balance goes below zero), ``clawback`` (owed,
    taken from later earnings) or ``absorb`` (the business absorbs it, recorded on the entry and account)."""
    account = lock_account(uow, customer_id)
    if (
        key is not None
    ):  # a repeated reversal returns the first one (its amount depended on the policy)
        repeated = uow.cache.get("loyalty.keys", {}).get(key) or uow.session.scalar(
            select(LoyaltyEntry).where(LoyaltyEntry.key == key)
        )
        if repeated is not None:
            if repeated.customer_id != customer_id or repeated.kind != kind:
                raise Conflict(
                    f"the idempotency key {key!r} was already used for another operation",
                    field="key",
                )
            return repeated
    available = max(account.balance, 0)
    shortfall = max(points - available, 0)
    details = dict(details or {}, requested=points, policy=program.negative_balance)
    if program.negative_balance == "allow_negative" or not shortfall:
        return _debit_lots(
            uow,
            account,
            points,
            kind=kind,
            program=program,
            occurred_at=occurred_at,
            reason=reason,
            ref=ref,
            key=key,
            interaction_id=interaction_id,
            details=details,
            allow_deficit=True,
        )
    if program.negative_balance == "clawback":
        account.owed += shortfall
        details["owed"] = shortfall
    else:
        account.absorbed += shortfall
        details["absorbed"] = shortfall
    return (
        _debit_lots(
            uow,
            account,
            available,
            kind=kind,
            program=program,
            occurred_at=occurred_at,
            reason=reason,
            ref=ref,
            key=key,
            interaction_id=interaction_id,
            details=details,
        )
        if available
        else _append(
            uow,
            account,
            kind=kind,
            points=0,
            reason=reason,
            key=key,
            ref=ref,
            interaction_id=interaction_id,
            occurred_at=occurred_at,
            program=program,
            details=details,
        )
    )


# -- reads -------------------------------------------------------------------------------------------------
def ledger(
    uow, customer_id: int, *, limit: int | None = None, newest_first: bool = False
) -> list[LoyaltyEntry]:
    q = select(LoyaltyEntry).where(LoyaltyEntry.customer_id == customer_id)
    q = q.order_by(LoyaltyEntry.seq.desc() if newest_first else LoyaltyEntry.seq)
    if limit:
        q = q.limit(limit)
    return list(uow.session.scalars(q))


EARNED_KINDS = ("earn", "reverse", "clawback")


def points_earned_between(uow, customer_id: int, start: datetime, end: datetime) -> int:
    """Points earned from purchases with ``start <= occurred_at < end``, net of refund reversals."""
    value = uow.session.scalar(
        select(func.coalesce(func.sum(LoyaltyEntry.points), 0)).where(
            LoyaltyEntry.customer_id == customer_id,
            LoyaltyEntry.kind.in_(EARNED_KINDS),
            LoyaltyEntry.occurred_at >= start,
            LoyaltyEntry.occurred_at < end,
        )
    )
    return int(value or 0)


def lots(uow, customer_id: int, *, open_only: bool = True) -> list[LoyaltyLot]:
    """The member's lots; ``open_only``: those with points left that have not expired."""
    q = select(LoyaltyLot).where(LoyaltyLot.customer_id == customer_id)
    if open_only:
        q = q.where(
            LoyaltyLot.remaining > 0,
            or_(LoyaltyLot.expires_at.is_(None), LoyaltyLot.expires_at > uow.now()),
        )
    return list(uow.session.scalars(q.order_by(LoyaltyLot.expires_at, LoyaltyLot.id)))


def entry_to_dict(entry: LoyaltyEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "customer_id": entry.customer_id,
        "seq": entry.seq,
        "kind": entry.kind,
        "points": entry.points,
        "balance_after": entry.balance_after,
        "reason": entry.reason,
        "key": entry.key,
        "ref": entry.ref,
        "interaction_id": entry.interaction_id,
        "actor": entry.actor,
        "program_version": entry.program_version,
        "occurred_at": _iso(entry.occurred_at),
        "recorded_at": _iso(entry.recorded_at),
        "consumed": [
            {"lot_id": lot, "points": pts, "expires_at": exp}
            for lot, pts, exp in entry.consumed_lots or ()
        ],
        "details": entry.details or {},
        "hash": entry.hash,
    }


def expire_lots(
    uow, customer_id: int, due: list[LoyaltyLot], now: datetime, program: Program
) -> LoyaltyEntry | None:
    """Write one ``expire`` entry taking what is left of the member's ``due`` lots."""
    account = lock_account(uow, customer_id)
    consumed = []
    total = 0
    for lot in due:
        if lot.remaining > 0:
            consumed.append([lot.id, lot.remaining, _iso(lot.expires_at) or None])
            total += lot.remaining
            lot.remaining = 0
    if not total:
        return None
    return _append(
        uow,
        account,
        kind="expire",
        points=-total,
        reason=f"{total} points expired",
        key=None,
        ref=None,
        interaction_id=None,
        occurred_at=now,
        program=program,
        consumed=consumed,
    )
