"""Reports: ``tiers.members`` (members per tier as of a date) and ``tiers.movements`` (joins, ups and downs per
period)."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select

from crmcore.api import Report, ReportParams, ReportResult

from .models import TierChange
from .qualify import end_of_day, local_day
from .service import require_ladder


def tiers_as_of(uow, end) -> Counter:
    """Members per tier name at the instant ``end`` (each member's latest change at or before it)."""
    latest = (
        select(
            TierChange.customer_id,
            TierChange.new_tier,
            func.row_number()
            .over(
                partition_by=TierChange.customer_id,
                order_by=(TierChange.occurred_at.desc(), TierChange.id.desc()),
            )
            .label("n"),
        )
        .where(TierChange.occurred_at <= end)
        .subquery()
    )
    rows = uow.session.execute(
        select(latest.c.new_tier, func.count()).where(latest.c.n == 1).group_by(latest.c.new_tier)
    )
    return Counter({tier: int(n) for tier, n in rows})


def run_members(uow, params: ReportParams) -> ReportResult:
    ladder = require_ladder(uow)
    day = params.end or local_day(uow.now(), params.timezone)
    counts = tiers_as_of(uow, end_of_day(day, params.timezone))
    total = sum(counts.values())
    rows = []
    for tier in reversed(ladder.tiers):
        n = counts.pop(tier.name, 0)
        rows.append(
            [
                tier.name,
                tier.title,
                tier.title_fa or "",
                tier.rank,
                n,
                f"{100 * n / total:.1f}" if total else "0.0",
            ]
        )
    for name, n in sorted(counts.items()):  # tiers since removed from the ladder
        rows.append([name, name, "", None, n, f"{100 * n / total:.1f}" if total else "0.0"])
    return ReportResult(
        columns=["tier", "title", "title_fa", "rank", "members", "percent"],
        rows=rows,
        totals={"members": total, "as_of": day.isoformat()},
    )


def run_movements(uow, params: ReportParams) -> ReportResult:
    lo, hi = params.utc_bounds()
    q = select(
        TierChange.occurred_at, TierChange.direction, TierChange.old_tier, TierChange.new_tier
    )
    if lo is not None:
        q = q.where(TierChange.occurred_at >= lo)
    if hi is not None:
        q = q.where(TierChange.occurred_at < hi)
    rows: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    moves: Counter = Counter()
    for at, direction, old, new in uow.session.execute(q.order_by(TierChange.occurred_at)):
        r = rows[params.period_key(at)]
        if direction == "join":
            r[0] += 1
        elif direction == "up":
            r[1] += 1
            moves[f"{old}→{new}"] += 1
        elif direction == "down":
            r[2] += 1
            moves[f"{old}→{new}"] += 1
    out = [[k, *v, v[1] - v[2]] for k, v in sorted(rows.items())]
    totals = {
        "joined": sum(r[1] for r in out),
        "up": sum(r[2] for r in out),
        "down": sum(r[3] for r in out),
        "moves": dict(sorted(moves.items())),
    }
    return ReportResult(
        columns=["period", "joined", "up", "down", "net_up"], rows=out, totals=totals
    )


REPORTS = [
    Report(
        name="tiers.members",
        title="Members per tier",
        title_fa="اعضا در هر سطح",
        description="How many members each tier held at the end of the --to date (default today).",
        run=run_members,
    ),
    Report(
        name="tiers.movements",
        title="Tier movements",
        title_fa="جابه‌جایی سطح‌ها",
        description="Members joining, moving up and moving down per period; totals by move (silver→gold).",
        run=run_movements,
    ),
]
