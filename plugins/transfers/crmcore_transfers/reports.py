"""Report ``transfers.summary``: transfers, points moved and fees per period, with what was undone."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from crmcore.api import Report, ReportParams, ReportResult

from .models import Transfer

COLUMNS = [
    "period",
    "requested",
    "completed",
    "points_transferred",
    "fees",
    "declined",
    "cancelled",
    "expired",
    "reversed",
    "points_reversed",
    "pending",
    "senders",
    "recipients",
]


def run_summary(uow, params: ReportParams) -> ReportResult:
    """Transfers grouped by the period they were requested in (``--period``, ``--calendar``)."""
    lo, hi = params.utc_bounds()
    query = select(
        Transfer.created_at,
        Transfer.status,
        Transfer.points,
        Transfer.fee,
        Transfer.sender_id,
        Transfer.recipient_id,
    )
    if lo is not None:
        query = query.where(Transfer.created_at >= lo)
    if hi is not None:
        query = query.where(Transfer.created_at < hi)
    rows: dict[str, dict] = defaultdict(
        lambda: {c: 0 for c in COLUMNS[1:11]} | {"s": set(), "r": set()}
    )
    for at, status, points, fee, sender, recipient in uow.session.execute(query):
        row = rows[params.period_key(at)]
        row["requested"] += 1
        if status in ("completed", "reversed"):
            row["completed"] += 1
            row["points_transferred"] += points
            row["fees"] += fee
            row["s"].add(sender)
            row["r"].add(recipient)
        if status == "reversed":
            row["reversed"] += 1
            row["points_reversed"] += points
            row["fees"] -= fee  # refunded with the reversal
        elif status in ("declined", "cancelled", "expired", "pending"):
            row[status] += 1
    out = [
        [key, *(row[c] for c in COLUMNS[1:11]), len(row["s"]), len(row["r"])]
        for key, row in sorted(rows.items())
    ]
    totals = {c: sum(r[i + 1] for r in out) for i, c in enumerate(COLUMNS[1:11])}
    totals["net_points_transferred"] = totals["points_transferred"] - totals["points_reversed"]
    return ReportResult(columns=COLUMNS, rows=out, totals=totals)


REPORTS = [
    Report(
        name="transfers.summary",
        title="Point transfers",
        title_fa="خلاصه انتقال امتیاز",
        description="Transfers requested, completed, declined, cancelled, expired and reversed per period; "
        "points moved and fees kept; distinct senders and recipients.",
        run=run_summary,
    )
]
