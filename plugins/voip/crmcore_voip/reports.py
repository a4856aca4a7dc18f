"""Reports of the voip plugin (``crm reports run voip.calls``)."""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from crmcore.api import Report, ReportParams, ReportResult, ValidationError

from .models import COMPLETED, FINAL_STATUSES, MISSED, Call

NO_AGENT = "(none)"


def _pct(part: int, whole: int) -> str:
    if not whole:
        return "0.0"
    return str((Decimal(100 * part) / whole).quantize(Decimal("0.1"), ROUND_HALF_UP))


def _avg(total: int, n: int) -> int | None:
    if not n:
        return None
    return int((Decimal(total) / n).quantize(Decimal(1), ROUND_HALF_UP))


def run_calls(uow, params: ReportParams) -> ReportResult:
    """Per period and agent: calls, answered, answered %, missed, average handling (talk) time in seconds.

    The agent is who answered, or the extension that rang for a missed call. Options: ``direction`` =
    ``in`` | ``out`` | ``all`` (default ``all``)."""
    direction = (params.option("direction", "all") or "all").lower()
    if direction not in ("in", "out", "all"):
        raise ValidationError(
            f"direction must be in, out or all, not {direction!r}", field="direction"
        )
    lo, hi = params.utc_bounds()
    stmt = select(
        Call.started_at, Call.status, Call.answered_by, Call.extension, Call.talk_seconds
    ).where(Call.status.in_(FINAL_STATUSES))
    if direction != "all":
        stmt = stmt.where(Call.direction == direction)
    if lo is not None:
        stmt = stmt.where(Call.started_at >= lo)
    if hi is not None:
        stmt = stmt.where(Call.started_at < hi)
    groups: dict[tuple[str, str], list[int]] = defaultdict(
        lambda: [0, 0, 0, 0]
    )  # calls, answered, missed, talk
    for started_at, status, answered_by, extension, talk in uow.session.execute(stmt):
        agent = answered_by or extension or NO_AGENT
        g = groups[(params.period_key(started_at), agent)]
        g[0] += 1
        if status == COMPLETED:
            g[1] += 1
            g[3] += talk or 0
        elif status == MISSED:
            g[2] += 1
    rows = [
        [period, agent, calls, answered, _pct(answered, calls), missed, _avg(talk, answered), talk]
        for (period, agent), (calls, answered, missed, talk) in sorted(groups.items())
    ]
    calls = sum(r[2] for r in rows)
    answered = sum(r[3] for r in rows)
    talk = sum(r[7] for r in rows)
    totals = {
        "calls": calls,
        "answered": answered,
        "answered_pct": _pct(answered, calls),
        "missed": sum(r[5] for r in rows),
        "avg_handling_seconds": _avg(talk, answered),
        "talk_seconds": talk,
        "direction": direction,
    }
    return ReportResult(
        columns=[
            "period",
            "agent",
            "calls",
            "answered",
            "answered_pct",
            "missed",
            "avg_handling_seconds",
            "talk_seconds",
        ],
        rows=rows,
        totals=totals,
    )


REPORTS = [
    Report(
        name="voip.calls",
        title="Calls by period and agent",
        title_fa="تماس‌ها به تفکیک دوره و کارشناس",
        description="Call volume, answered %, missed calls and average handling time per agent and period "
        "(option direction=in|out|all)",
        run=run_calls,
    )
]
