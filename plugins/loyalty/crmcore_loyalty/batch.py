"""Purchase accrual in batches: the kernel's purchase events are queued in the unit of work and accrued
together — before the transaction commits, or as soon as anything reads loyalty data in it.

One code path serves live purchases (a queue of one) and imported histories (thousands per transaction):
accounts are locked in customer-id order with one ``SELECT … FOR UPDATE``, the earning of each purchase is
computed by :mod:`crmcore_loyalty.rules`, and entries, lots and accruals are written with multi-row inserts,
each entry extending its member's hash chain exactly as a single credit would. Members with something to settle
first (points owed under the claw-back policy, or a negative balance) take the one-at-a-time
:func:`crmcore_loyalty.ledger.credit` path, which settles it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm.attributes import set_committed_value

from crmcore.api import Customer, Interaction, insert_rows, insert_with_ids, update_rows

from .ledger import accounts_locked, credit, entry_digest, entry_to_dict
from .models import LoyaltyAccount, LoyaltyAccrual, LoyaltyEntry, LoyaltyLot
from .program import Program
from .programs import active_program
from .rules import purchase_lines

QUEUE = "loyalty.pending"
CHUNK = 500
#: queued purchases accrued at once while a command records many (the importer stores a member's purchases
#: in time order, and they are stored before they are announced, so accruing a chunk early changes nothing)
DRAIN_AT = 2000
#: the cached columns of an account that batch accrual writes itself (one driver-level UPDATE per batch)
ACCOUNT_FIELDS = ("balance", "entry_count", "chain_head", "state", "updated_at")


def enqueue_purchase(uow, interaction) -> None:
    """Queue a recorded purchase for accrual in this unit of work (checked now, accrued before commit)."""
    program = active_program(uow)
    if program.version is None or not program.rules or interaction.currency != program.currency:
        return
    purchase_lines(
        interaction.payload, interaction.amount_minor or 0, program.currency
    )  # refuse bad lines now
    pending = uow.cache.get(QUEUE)
    if pending is None:
        pending = uow.cache[QUEUE] = []
        session = uow.session

        def before_commit(_session):
            drain(uow)
            uow.flush_outbox()

        event.listen(session, "before_commit", before_commit)
    # whether it is imported history travels with it: accrual (tier changes, rewards) happens later,
    # when messages for it must still be withheld
    pending.append((interaction, bool(getattr(uow, "history", False))))
    if (
        len(pending) >= DRAIN_AT
    ):  # an imported history: accrue as it streams in (flat memory), in order
        drain(uow)


def drain(uow) -> None:
    """Accrue every queued purchase now (called before commit and by every loyalty read or write)."""
    pending = uow.cache.get(QUEUE)
    while pending:
        items, pending[:] = list(pending), []
        start = 0
        while start < len(items):  # consecutive runs of live and of history purchases, in order
            history = items[start][1]
            end = start
            while end < len(items) and items[end][1] == history:
                end += 1
            was, uow.history = getattr(uow, "history", False), history
            try:
                accrue_many(uow, [i for i, _h in items[start:end]])
            finally:
                uow.history = was
            start = end


def _first_purchases(
    uow, program: Program, accounts: dict, customer_ids: list[int], changed: set[int]
) -> dict[int, int]:
    """Each member's first purchase id (earliest ``occurred_at``, then lowest id), remembered on the account
    (its customer id added to ``changed``: written by :func:`_write_accounts`)."""
    if not any(r.kind == "first_purchase" for r in program.rules):
        return {}
    first: dict[int, int] = {}
    unknown = []
    for cid in customer_ids:
        known = (accounts[cid].state or {}).get("first_purchase")
        if known is not None:
            first[cid] = known
        else:
            unknown.append(cid)
    for start in range(0, len(unknown), CHUNK):
        chunk = unknown[start : start + CHUNK]
        # the kind is checked here, not in SQL: filtering on it lets the planner pick the (kind, occurred_at)
        # index and scan every purchase once per chunk instead of each member's own few rows
        rows = uow.session.execute(
            select(Interaction.customer_id, Interaction.id, Interaction.kind)
            .where(Interaction.customer_id.in_(chunk))
            .order_by(Interaction.customer_id, Interaction.occurred_at, Interaction.id)
        )
        for cid, iid, kind in rows:
            if kind == "purchase" and cid not in first:
                first[cid] = iid
                set_committed_value(
                    accounts[cid], "state", {**(accounts[cid].state or {}), "first_purchase": iid}
                )
                changed.add(cid)
    return first


def accrue_many(uow, interactions: list) -> None:
    session = uow.session
    program = active_program(uow)
    seen: set[int] = set()
    items = []
    for i in interactions:
        if i.id not in seen:
            seen.add(i.id)
            items.append(i)
    done: set[int] = set()
    for start in range(0, len(items), CHUNK):
        chunk = [i.id for i in items[start : start + CHUNK]]
        done.update(
            session.scalars(
                select(LoyaltyAccrual.interaction_id).where(
                    LoyaltyAccrual.interaction_id.in_(chunk)
                )
            )
        )
    items = [i for i in items if i.id not in done]
    if not items:
        return
    customer_ids = sorted({i.customer_id for i in items})
    accounts = accounts_locked(uow, customer_ids)
    session.flush()  # pending ORM changes of these accounts first: from here on this function writes them itself
    changed: set[int] = set()
    first = _first_purchases(uow, program, accounts, customer_ids, changed)
    needs_customer = any(r.kind == "birthday_month" for r in program.rules) or bool(
        uow.plugins.hook.loyalty_earning_multiplier.get_hookimpls()
    )
    customers: dict[int, Customer] = {}
    if needs_customer:
        for start in range(0, len(customer_ids), CHUNK):
            for c in session.scalars(
                select(Customer).where(Customer.id.in_(customer_ids[start : start + CHUNK]))
            ):
                customers[c.id] = c
    from .accrual import earning_context

    period_tally: dict[tuple[int, Any], int] = {}
    entries: list[dict[str, Any]] = []
    lots: list[dict[str, Any]] = []
    accruals: list[dict[str, Any]] = []
    slow: list = []  # members with debts to settle: one at a time, through credit()
    slow_members: set[int] = set()
    entry_of: dict[int, int] = {}  # interaction id -> index in entries
    heads: dict[
        int, list
    ] = {}  # member -> [balance, entry count, chain head] after this batch's entries
    now = uow.now()
    from . import expiry as expiry_rules

    for interaction in items:
        cid = interaction.customer_id
        account = accounts[cid]
        earning, lines = earning_context(
            uow,
            program,
            interaction,
            customer=customers.get(cid),
            first_purchase=first.get(cid) == interaction.id,
            period_tally=period_tally,
            explain=False,
        )
        accruals.append(
            {
                "interaction_id": interaction.id,
                "customer_id": cid,
                "entry_id": None,
                "program_version": program.version,
                "amount_minor": interaction.amount_minor or 0,
                "refunded_minor": 0,
                "points": earning.points,
                "reversed_points": 0,
                "bonus_points": earning.bonus_points,
                "refund_ids": [],
                "lines": [
                    {
                        "sku": ln.sku,
                        "category": ln.category,
                        "amount": ln.amount,
                        "points": p,
                        "refunded": 0,
                    }
                    for ln, p in zip(lines, earning.line_points)
                ],
            }
        )
        if earning.points <= 0:
            continue
        details = {"rules": {f.rule: f.points for f in earning.firings if f.fired and f.points}}
        if earning.capped:
            details["capped"] = earning.capped
        if account.owed or account.deficit or cid in slow_members:
            slow_members.add(cid)
            slow.append((interaction, earning.points, details, len(accruals) - 1))
            continue
        head = heads.get(cid)
        if head is None:
            head = heads[cid] = [account.balance, account.entry_count, account.chain_head]
        head[0] += earning.points
        head[1] += 1
        row = {
            "customer_id": cid,
            "seq": head[1],
            "kind": "earn",
            "points": earning.points,
            "balance_after": head[0],
            "reason": f"purchase {interaction.id}",
            "key": f"accrual:{interaction.id}",
            "ref": None,
            "interaction_id": interaction.id,
            "actor": uow.actor,
            "program_version": program.version,
            "occurred_at": interaction.occurred_at,
            "recorded_at": now,
            "consumed_lots": [],
            "details": details,
            "prev_hash": head[2],
        }
        row["hash"] = head[2] = entry_digest(_RowView(row))
        entry_of[interaction.id] = len(entries)
        entries.append(row)
        lots.append(
            {
                "customer_id": cid,
                "points": earning.points,
                "remaining": earning.points,
                "earned_at": interaction.occurred_at,
                "expires_at": expiry_rules.expiry_for(
                    program, interaction.occurred_at, uow.app.timezone
                ),
                "warned_at": None,
            }
        )
    for cid, (balance, seq, chain_head) in heads.items():
        for name, value in (
            ("balance", balance),
            ("entry_count", seq),
            ("chain_head", chain_head),
            ("updated_at", now),
        ):
            set_committed_value(accounts[cid], name, value)
    _write_accounts(session, [accounts[cid] for cid in sorted(changed | set(heads))])
    ids = insert_with_ids(session, LoyaltyEntry.__table__, entries) if entries else []
    for lot, entry_id in zip(lots, ids):
        lot["entry_id"] = entry_id
    insert_rows(session, LoyaltyLot.__table__, lots)
    for acc in accruals:
        index = entry_of.get(acc["interaction_id"])
        if index is not None:
            acc["entry_id"] = ids[index]
    for interaction, points, details, index in slow:
        entry = credit(
            uow,
            interaction.customer_id,
            points,
            kind="earn",
            reason=f"purchase {interaction.id}",
            key=f"accrual:{interaction.id}",
            interaction_id=interaction.id,
            occurred_at=interaction.occurred_at,
            program=program,
            details=details,
        )
        accruals[index]["entry_id"] = entry.id
    insert_rows(session, LoyaltyAccrual.__table__, accruals)
    _announce(uow, entries, ids)
    if program.thresholds:
        from .accrual import advance_thresholds

        for interaction in items:
            advance_thresholds(uow, program, accounts[interaction.customer_id], interaction)


def _write_accounts(session, accounts: list) -> None:
    """Store the cached columns batch accrual set on these accounts (with ``set_committed_value``, so the
    ORM sees nothing to flush): one multi-row UPDATE instead of one ORM UPDATE per member."""
    update_rows(
        session,
        LoyaltyAccount.__table__,
        "customer_id",
        [
            {"customer_id": a.customer_id, **{name: getattr(a, name) for name in ACCOUNT_FIELDS}}
            for a in accounts
        ],
    )


def _announce(uow, entries: list[dict[str, Any]], ids: list[int]) -> None:
    """``loyalty_points_earned`` for each bulk-written entry (outbox always; hook only when implemented)."""
    hooked = bool(uow.plugins.hook.loyalty_points_earned.get_hookimpls())
    objects: dict[int, LoyaltyEntry] = {}
    if hooked and ids:
        for start in range(0, len(ids), CHUNK):
            for e in uow.session.scalars(
                select(LoyaltyEntry).where(LoyaltyEntry.id.in_(ids[start : start + CHUNK]))
            ):
                objects[e.id] = e
    by_customer: dict[int, Customer] = {}
    for row, entry_id in zip(entries, ids):
        row["id"] = entry_id
        data = entry_to_dict(_RowView(row))
        if hooked:
            cid = row["customer_id"]
            customer = by_customer.get(cid) or by_customer.setdefault(
                cid, uow.session.get(Customer, cid)
            )
            uow.emit(
                "loyalty_points_earned",
                customer_id=cid,
                data=data,
                customer=customer,
                entry=objects[entry_id],
            )
        else:
            uow.emit(
                "loyalty_points_earned",
                customer_id=row["customer_id"],
                data=data,
                customer=None,
                entry=None,
            )


class _RowView:
    """An entry row dict seen as an entry (for the digest and the JSON form)."""

    def __init__(self, row: dict[str, Any]):
        self.__dict__.update(row)
        self.__dict__.setdefault("id", None)


def accrue_unaccrued(uow, *, since=None, chunk: int = 5000) -> int:
    """Accrue every stored purchase that has no accrual yet (history recorded before the program was loaded,
    or imported while loyalty was disabled), in ``occurred_at`` order. Returns how many were accrued."""
    program = active_program(uow)
    if program.version is None:
        from crmcore.api import ValidationError

        raise ValidationError(
            "no program is loaded; run: crm loyalty program load FILE", field="program"
        )
    query = (
        select(Interaction)
        .outerjoin(LoyaltyAccrual, LoyaltyAccrual.interaction_id == Interaction.id)
        .where(
            Interaction.kind == "purchase",
            LoyaltyAccrual.interaction_id.is_(None),
            Interaction.currency == program.currency,
        )
        .order_by(Interaction.occurred_at, Interaction.id)
    )
    if since is not None:
        query = query.where(Interaction.occurred_at >= since)
    done = 0
    while True:
        items = list(uow.session.scalars(query.limit(chunk)))
        if not items:
            return done
        accrue_many(uow, items)  # each gets an accrual row, so the next query moves on
        done += len(items)
