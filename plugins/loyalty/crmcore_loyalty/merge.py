"""Merging two customers: the absorbed member's points (with their lots' expiry) and debts move to
the kept member, through ledger entries on both chains; the kernel then moves accruals,
redemptions and vouchers as models.py declares."""

from __future__ import annotations

from .ledger import _debit_lots, credit, lock_account, take_back
from .models import LoyaltyAccount
from .programs import active_program


def merge_members(uow, kept, merged) -> None:
    from .batch import drain

    drain(uow)
    if uow.session.get(LoyaltyAccount, merged.id) is None:
        return
    program = active_program(uow)
    for customer_id in sorted(
        (kept.id, merged.id)
    ):  # lock in id order: no deadlock with other writers
        lock_account(uow, customer_id)
    source = lock_account(uow, merged.id)
    target = lock_account(uow, kept.id)
    reason = f"customer {merged.id} merged into {kept.id}"
    if source.balance > 0:
        out = _debit_lots(
            uow,
            source,
            source.balance,
            kind="merge_out",
            program=program,
            occurred_at=None,
            reason=reason,
            ref=f"customer:{kept.id}",
            key=f"merge:{merged.id}:out",
            interaction_id=None,
            details={},
        )
        for lot_id, points, expires in out.consumed:
            credit(
                uow,
                kept.id,
                points,
                kind="merge_in",
                reason=reason,
                ref=f"customer:{merged.id}",
                key=f"merge:{merged.id}:lot:{lot_id}",
                expires_at=expires,
                program=program,
            )
    elif source.deficit:
        hole = source.deficit
        credit(
            uow,
            merged.id,
            hole,
            kind="merge_out",
            reason=reason,
            ref=f"customer:{kept.id}",
            key=f"merge:{merged.id}:out",
            expires_at=None,
            program=program,
        )
        take_back(
            uow,
            kept.id,
            hole,
            kind="merge_in",
            reason=reason,
            ref=f"customer:{merged.id}",
            key=f"merge:{merged.id}:in",
            interaction_id=None,
            occurred_at=None,
            program=program,
        )
    if source.owed:
        target.owed += source.owed
        source.owed = 0
    target.absorbed += source.absorbed
    source.absorbed = 0
    state = dict(target.state or {})
    for key, value in (source.state or {}).items():
        state[key] = int(state.get(key, 0)) + int(value)
    target.state, source.state = state, {}
