"""The board: a pipeline's open deals as columns per stage, with counts and (weighted) totals."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from crmcore.api import Customer, Money

from .catalog import get_pipeline
from .deals import readable_deals, weighted_minor
from .models import Deal, SalesRep
from .reps import get_rep


def board(uow, *, pipeline: str | None = None, owner: str | None = None) -> dict[str, Any]:
    """``{"pipeline", "name", "columns": [{stage, name, probability, count, totals, deals: [...]}]}``.

    Only open deals; each column's deals are ordered by expected close (undated last), then id; a deal whose
    expected close is before today (in the app's zone) is marked ``overdue``.
    """
    pipe = get_pipeline(uow, pipeline)
    q = (
        select(
            Deal.id,
            Deal.stage_id,
            Deal.title,
            Customer.display_name,
            Deal.amount_minor,
            Deal.currency,
            Deal.probability,
            SalesRep.username,
            Deal.expected_close,
            Deal.next_activity,
        )
        .join(Customer, Customer.id == Deal.customer_id)
        .outerjoin(SalesRep, SalesRep.id == Deal.owner_id)
        .where(Deal.pipeline_id == pipe.id, Deal.status == "open")
    )
    if owner:
        q = q.where(Deal.owner_id == get_rep(uow, owner).id)
    readable = readable_deals(uow)
    if readable is not None:
        q = q.where(readable)
    today = uow.now().astimezone(ZoneInfo(uow.app.timezone)).date()
    by_stage: dict[int, list] = defaultdict(list)
    for row in uow.session.execute(q):
        by_stage[row.stage_id].append(row)
    columns = []
    for stage in pipe.stages:
        if stage.kind != "open":
            continue
        rows = sorted(
            by_stage.get(stage.id, []),
            key=lambda r: (r.expected_close is None, r.expected_close, r.id),
        )
        amounts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        cards = []
        for r in rows:
            probability = stage.probability if r.probability is None else r.probability
            if r.amount_minor is not None:
                amounts[r.currency][0] += r.amount_minor
                amounts[r.currency][1] += r.amount_minor * probability
            cards.append(
                {
                    "id": r.id,
                    "title": r.title,
                    "customer": r.display_name,
                    "amount": None
                    if r.amount_minor is None
                    else str(Money(r.amount_minor, r.currency).amount),
                    "currency": r.currency,
                    "probability": probability,
                    "owner": r.username,
                    "expected_close": r.expected_close.isoformat() if r.expected_close else None,
                    "overdue": r.expected_close is not None and r.expected_close < today,
                    "next_activity": r.next_activity,
                }
            )
        columns.append(
            {
                "stage": stage.code,
                "name": stage.name,
                "name_en": stage.name_en,
                "probability": stage.probability,
                "count": len(cards),
                "totals": {
                    cur: {
                        "amount": str(Money(a, cur).amount),
                        "weighted": str(Money(weighted_minor(w), cur).amount),
                    }
                    for cur, (a, w) in sorted(amounts.items())
                },
                "deals": cards,
            }
        )
    return {"pipeline": pipe.code, "name": pipe.name, "columns": columns}
