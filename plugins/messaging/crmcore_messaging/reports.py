"""Report ``messages.delivery``: messages by period and channel (or template, trigger) and their outcome."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from crmcore.api import Report, ReportParams, ReportResult, ValidationError

from .models import STATUSES, Message

GROUPS = {"channel": Message.channel, "template": Message.template, "trigger": Message.trigger}


def delivery(uow, params: ReportParams) -> ReportResult:
    group = params.option("group", "channel")
    if group not in GROUPS:
        raise ValidationError(f"group is one of {', '.join(GROUPS)}", field="group")
    lo, hi = params.utc_bounds()
    q = select(Message.created_at, GROUPS[group], Message.status)
    if lo:
        q = q.where(Message.created_at >= lo)
    if hi:
        q = q.where(Message.created_at < hi)
    table: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: dict.fromkeys(STATUSES, 0))
    totals = dict.fromkeys(STATUSES, 0)
    for created, key, status in uow.session.execute(q):
        table[(params.period_key(created), key or "")][status] += 1
        totals[status] += 1
    rows = [
        [period, key, *counts.values(), sum(counts.values())]
        for (period, key), counts in sorted(table.items())
    ]
    return ReportResult(
        columns=["period", group, *STATUSES, "total"],
        rows=rows,
        totals={**totals, "total": sum(totals.values())},
    )


REPORTS = [
    Report(
        "messages.delivery",
        "Message delivery",
        "Messages by period and channel (option group=template|trigger) with their outcome: "
        "queued, sent, delivered, failed, blocked (consent/recipient), skipped (cap), unknown.",
        delivery,
        title_fa="گزارش ارسال پیام‌ها",
    )
]
