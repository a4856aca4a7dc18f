"""The ``tiers.evaluate`` job (``crm jobs run``): downgrades due, grace periods, downgrade notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmcore.api import Job

from .qualify import local_day


def run_evaluation(uow, now: datetime) -> dict[str, Any]:
    from .evaluation import evaluate
    from .service import ladder_of

    if ladder_of(uow) is None:
        return {"skipped": "the active loyalty program has no [[tiers]] ladder"}
    return evaluate(uow, local_day(now, uow.app.timezone))


JOBS = [
    Job(
        name="tiers.evaluate",
        run=run_evaluation,
        description="Evaluate tiers as of today: downgrade members below their tier (after any grace period) "
        "and warn those whose qualification lapses soon.",
    )
]
