"""``crm loyalty check``: prove that every cached balance equals its ledger and every hash chain is intact."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select

from .ledger import entry_digest
from .models import LoyaltyAccount, LoyaltyEntry, LoyaltyLot


def check_ledger(uow) -> dict[str, Any]:
    """Return ``{"members": n, "entries": n, "problems": [{customer_id, seq, problem}, …]}``."""
    session = uow.session
    problems: list[dict[str, Any]] = []

    def bad(customer_id, seq, text):
        problems.append({"customer_id": customer_id, "seq": seq, "problem": text})

    accounts = {a.customer_id: a for a in session.scalars(select(LoyaltyAccount))}
    lot_sums = dict(
        session.execute(
            select(LoyaltyLot.customer_id, func.sum(LoyaltyLot.remaining)).group_by(
                LoyaltyLot.customer_id
            )
        ).all()
    )
    state: dict[int, dict[str, Any]] = defaultdict(lambda: {"seq": 0, "hash": "", "sum": 0})
    entries = 0
    query = (
        select(LoyaltyEntry)
        .order_by(LoyaltyEntry.customer_id, LoyaltyEntry.seq)
        .execution_options(yield_per=2000)
    )
    for e in session.scalars(query):
        entries += 1
        s = state[e.customer_id]
        if e.seq != s["seq"] + 1:
            bad(e.customer_id, e.seq, f"entry {s['seq'] + 1} is missing (next is {e.seq})")
        if e.prev_hash != s["hash"]:
            bad(
                e.customer_id,
                e.seq,
                "does not link to the previous entry (an entry was deleted or replaced)",
            )
        if entry_digest(e) != e.hash:
            bad(e.customer_id, e.seq, "its content does not match its hash (the row was edited)")
        s["sum"] += e.points
        if e.balance_after != s["sum"]:
            bad(
                e.customer_id,
                e.seq,
                f"balance_after {e.balance_after} but the entries so far sum to {s['sum']}",
            )
        s["seq"], s["hash"] = e.seq, e.hash
    for customer_id in sorted(set(accounts) | set(state)):
        a = accounts.get(customer_id)
        s = state[customer_id]
        if a is None:
            bad(customer_id, None, "has ledger entries but no account")
            continue
        if a.balance != s["sum"]:
            bad(customer_id, None, f"cached balance {a.balance} but the ledger sums to {s['sum']}")
        if a.entry_count != s["seq"] or a.chain_head != s["hash"]:
            bad(
                customer_id,
                None,
                f"account expects {a.entry_count} entries ending in {a.chain_head[:12]}…, the "
                f"ledger has {s['seq']} ending in {s['hash'][:12]}… (entries deleted or added)",
            )
        lots = int(lot_sums.get(customer_id) or 0)
        if lots - a.deficit != a.balance:
            bad(
                customer_id,
                None,
                f"open lots hold {lots} points (deficit {a.deficit}) but the balance is {a.balance}",
            )
        if a.balance < 0 and not a.deficit:
            bad(customer_id, None, f"negative balance {a.balance} without a recorded deficit")
    return {"members": len(accounts), "entries": entries, "problems": problems}


def problem_lines(result: dict[str, Any]) -> list[str]:
    """The problems of :func:`check_ledger`, one line each (``crm loyalty check``, restores)."""
    return [
        f"customer {p['customer_id']}"
        + (f", entry {p['seq']}" if p["seq"] else "")
        + f": {p['problem']}"
        for p in result["problems"]
    ]
