"""Reports: backlog, SLA compliance, response times in business hours — grouped per period, agent, priority,
category or team (``--option by=agent``). Tickets merged into another are left out (they are duplicates)."""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable

from sqlalchemy import select

from crmcore.api import Report, ReportParams, ReportResult, ValidationError

GROUPINGS = ("period", "agent", "priority", "category", "team")
NONE_LABEL = "(none)"


def _tickets(uow, params: ReportParams, *, unsolved_only: bool = False):
    from .models import UNSOLVED, Ticket

    q = select(Ticket).where(Ticket.merged_into_id.is_(None)).order_by(Ticket.id)
    lo, hi = params.utc_bounds()
    if lo is not None:
        q = q.where(Ticket.created_at >= lo)
    if hi is not None:
        q = q.where(Ticket.created_at < hi)
    if unsolved_only:
        q = q.where(Ticket.state.in_(UNSOLVED))
    return list(uow.session.scalars(q))


def _grouper(params: ReportParams, default: str) -> tuple[str, Callable[[Any], str]]:
    by = params.option("by", default)
    if by not in GROUPINGS:
        raise ValidationError(f"unknown grouping {by!r} (by={', by='.join(GROUPINGS)})", field="by")
    if by == "period":
        return by, lambda t: params.period_key(t.created_at)
    if by == "agent":
        return by, lambda t: t.assignee.username if t.assignee else NONE_LABEL
    if by == "team":
        return by, lambda t: t.team.name if t.team else NONE_LABEL
    return by, lambda t: getattr(t, by) or NONE_LABEL


def _grouped(tickets, key) -> dict[str, list]:
    groups: dict[str, list] = defaultdict(list)
    for t in tickets:
        groups[key(t)].append(t)
    return dict(sorted(groups.items()))


def percent(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str((Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def hours(seconds: Decimal | int | None) -> str | None:
    if seconds is None:
        return None
    return str((Decimal(seconds) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def median(values: list[int]) -> Decimal | None:
    if not values:
        return None
    v, n = sorted(values), len(values)
    return Decimal(v[n // 2]) if n % 2 else (Decimal(v[n // 2 - 1]) + Decimal(v[n // 2])) / 2


def p90(values: list[int]) -> int | None:
    """The 90th percentile by nearest rank: the smallest value with at least 90 % of values at or below it."""
    if not values:
        return None
    return sorted(values)[math.ceil(0.9 * len(values)) - 1]


# --- tickets.backlog -----------------------------------------------------------------------------------
def backlog(uow, params: ReportParams) -> ReportResult:
    by, key = _grouper(params, "agent")
    now = uow.now()
    rows, totals = [], defaultdict(int)
    for label, group in _grouped(_tickets(uow, params, unsolved_only=True), key).items():
        counts = {s: sum(t.state == s for t in group) for s in ("new", "open", "pending_customer")}
        overdue = sum(_overdue(t, now) for t in group)
        row = [
            label,
            counts["new"],
            counts["open"],
            counts["pending_customer"],
            len(group),
            overdue,
        ]
        rows.append(row)
        for name, value in zip(("new", "open", "pending_customer", "total", "overdue"), row[1:]):
            totals[name] += value
    return ReportResult(
        [by, "new", "open", "pending_customer", "total", "overdue"], rows, dict(totals)
    )


def _overdue(t, now) -> bool:
    if t.first_response_breached_at or t.resolution_breached_at:
        return True
    if t.sla_paused_at is not None:
        return False
    return bool(
        (t.first_response_at is None and t.first_response_due_at and t.first_response_due_at <= now)
        or (t.resolution_due_at and t.resolution_due_at <= now)
    )


# --- tickets.sla -----------------------------------------------------------------------------------------
def _outcomes(group) -> list[int]:
    fr_met = sum(
        t.first_response_at is not None and t.first_response_breached_at is None for t in group
    )
    fr_missed = sum(t.first_response_breached_at is not None for t in group)
    res_met = sum(t.resolved_at is not None and t.resolution_breached_at is None for t in group)
    res_missed = sum(t.resolution_breached_at is not None for t in group)
    return [len(group), fr_met, fr_missed, res_met, res_missed]


def compliance(uow, params: ReportParams) -> ReportResult:
    by, key = _grouper(params, "period")
    measured = [t for t in _tickets(uow, params) if t.sla_policy_id is not None]
    rows = []
    for label, group in _grouped(measured, key).items():
        n, fm, fx, rm, rx = _outcomes(group)
        rows.append([label, n, fm, fx, percent(fm, fm + fx), rm, rx, percent(rm, rm + rx)])
    n, fm, fx, rm, rx = _outcomes(measured)
    totals = {
        "tickets": n,
        "first_response_met": fm,
        "first_response_missed": fx,
        "first_response_pct": percent(fm, fm + fx),
        "resolution_met": rm,
        "resolution_missed": rx,
        "resolution_pct": percent(rm, rm + rx),
    }
    return ReportResult([by, *totals], rows, totals)


# --- tickets.response_times ------------------------------------------------------------------------------
def _times(group) -> list[Any]:
    fr = [t.first_response_seconds for t in group if t.first_response_seconds is not None]
    res = [
        t.resolution_seconds
        for t in group
        if t.resolution_seconds is not None and t.resolved_at is not None
    ]
    return [
        len(fr),
        hours(median(fr)),
        hours(p90(fr)),
        len(res),
        hours(median(res)),
        hours(p90(res)),
    ]


def response_times(uow, params: ReportParams) -> ReportResult:
    by, key = _grouper(params, "period")
    tickets = _tickets(uow, params)
    rows = [[label, *_times(group)] for label, group in _grouped(tickets, key).items()]
    names = [
        "first_responses",
        "first_response_median_hours",
        "first_response_p90_hours",
        "resolutions",
        "resolution_median_hours",
        "resolution_p90_hours",
    ]
    return ReportResult([by, *names], rows, dict(zip(names, _times(tickets))))


REPORTS = [
    Report(
        "tickets.backlog",
        "Ticket backlog",
        "Unsolved tickets per agent (by=…): new, open, pending, overdue.",
        backlog,
        title_fa="تیکت‌های باز",
    ),
    Report(
        "tickets.sla",
        "SLA compliance",
        "First-response and resolution targets met or missed, % per period (by=agent, priority…).",
        compliance,
        title_fa="رعایت توافق سطح خدمت",
    ),
    Report(
        "tickets.response_times",
        "Response times",
        "Median and 90th percentile of first response and resolution, in business hours.",
        response_times,
        title_fa="زمان پاسخ‌گویی",
    ),
]
