"""The board: a pipeline's open deals as columns per stage, with counts and (weighted) totals."""
from __future__ import annotations

from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

from crmcore.api import Money
from sqlalchemy import select

from .catalog import get_pipeline
from .deals import customer_names, weighted_minor
from .models import Deal
from .reps import get_rep


def board(uow, *, pipeline: str | None = None, owner: str | None = None) -> dict[str, Any]:
    """``{"pipeline", "name", "columns": [{stage, name, probability, count, totals, deals: [...]}]}``.

    Only open deals; each column's deals are ordered by expected close (undated last), then id; a deal whose
    expected close is before today (in the app's zone) is marked ``overdue``.
    """
    pipe = get_pipeline(uow, pipeline)
    q = select(Deal).where(Deal.pipeline_id == pipe.id, Deal.status == "open")
    if owner:
        q = q.where(Deal.owner_id == get_rep(uow, owner).id)
    deals = list(uow.session.scalars(q))
    today = uow.now().astimezone(ZoneInfo(uow.app.timezone)).date()
    names = customer_names(uow, deals)
    by_stage: dict[int, list[Deal]] = defaultdict(list)
    for d in deals:
        by_stage[d.stage_id].append(d)
    columns = []
    for stage in pipe.stages:
        if stage.kind != "open":
            continue
        items = sorted(by_stage.get(stage.id, []), key=lambda d: (d.expected_close is None, d.expected_close, d.id))
        amounts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for d in items:
            if d.amount_minor is not None:
                amounts[d.currency][0] += d.amount_minor
                amounts[d.currency][1] += d.amount_minor * d.effective_probability
        columns.append({
            "stage": stage.code, "name": stage.name, "name_en": stage.name_en, "probability": stage.probability,
            "count": len(items),
            "totals": {cur: {"amount": str(Money(a, cur).amount), "weighted": str(Money(weighted_minor(w), cur).amount)}
                       for cur, (a, w) in sorted(amounts.items())},
            "deals": [{"id": d.id, "title": d.title, "customer": names.get(d.customer_id),
                       "amount": str(d.money.amount) if d.money else None, "currency": d.currency,
                       "probability": d.effective_probability, "owner": d.owner.username if d.owner else None,
                       "expected_close": d.expected_close.isoformat() if d.expected_close else None,
                       "overdue": d.expected_close is not None and d.expected_close < today,
                       "next_activity": d.next_activity} for d in items],
        })
    return {"pipeline": pipe.code, "name": pipe.name, "columns": columns}
