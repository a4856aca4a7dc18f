"""The batch forms of voip's customer hooks: imports link past calls to a whole batch of customers
at once."""

from __future__ import annotations

from typing import Iterable

from sqlalchemy import case, select, update

from crmcore.api import Customer

from .models import Call


def link_calls_to_numbers(uow, owners: Iterable[tuple[int, Iterable[str]]]) -> int:
    """Give the calls without a customer from these ``(customer id, E.164 numbers)`` their customer:
    one query finds the batch's unlinked calls (none, usually), one ``UPDATE`` links them all; the
    finished ones are then logged on their customer's history, as
    :func:`.service.link_calls_to_customer` does for one customer. A number of two customers goes to
    the first, as creating them one by one would."""
    first: dict[str, int] = {}
    for cid, numbers in owners:
        for number in numbers:
            first.setdefault(number, cid)
    if not first:
        return 0
    session = uow.session
    found: list[tuple[int, str]] = []
    numbers = sorted(first)
    for start in range(0, len(numbers), 5000):  # within any database's bound parameter limit
        found += session.execute(
            select(Call.id, Call.party_e164).where(
                Call.party_e164.in_(numbers[start : start + 5000]), Call.customer_id.is_(None)
            )
        ).all()
    if not found:
        return 0
    wanted = {number for _id, number in found}
    session.execute(
        update(Call)
        .where(Call.id.in_([cid for cid, _n in found]))
        .values(customer_id=case({n: first[n] for n in wanted}, value=Call.party_e164))
        .execution_options(synchronize_session=False)
    )
    from .service import _log_interaction

    calls = session.scalars(
        select(Call)
        .where(Call.id.in_([cid for cid, _n in found]))
        .order_by(Call.started_at)
        .execution_options(populate_existing=True)
    )
    for call in calls:
        if call.final:
            _log_interaction(uow, call, session.get(Customer, call.customer_id))
    return len(found)
