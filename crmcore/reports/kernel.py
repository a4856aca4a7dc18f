"""The kernel's reports: ``customers.summary`` and ``sales.by_period``."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from ..domain.money import Money
from ..storage.models import Customer, Interaction
from . import Report, ReportParams, ReportResult


def customers_summary(uow, params: ReportParams) -> ReportResult:
    session = uow.session
    lo, hi = params.utc_bounds()
    cq = select(func.count(Customer.id)).where(Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None))
    iq = select(Interaction.kind, func.count(Interaction.id)).group_by(Interaction.kind).order_by(Interaction.kind)
    if lo is not None:
        cq = cq.where(Customer.created_at >= lo)
        iq = iq.where(Interaction.occurred_at >= lo)
    if hi is not None:
        cq = cq.where(Customer.created_at < hi)
        iq = iq.where(Interaction.occurred_at < hi)
    customers = session.scalar(cq) or 0
    rows = [[kind, count] for kind, count in session.execute(iq)]
    total = sum(r[1] for r in rows)
    return ReportResult(columns=["kind", "interactions"], rows=rows,
                        totals={"customers": customers, "interactions": total})


def sales_by_period(uow, params: ReportParams) -> ReportResult:
    session = uow.session
    lo, hi = params.utc_bounds()
    q = select(Interaction.occurred_at, Interaction.kind, Interaction.amount_minor, Interaction.currency).where(
        Interaction.kind.in_(("purchase", "refund")), Interaction.amount_minor.is_not(None))
    if lo is not None:
        q = q.where(Interaction.occurred_at >= lo)
    if hi is not None:
        q = q.where(Interaction.occurred_at < hi)
    buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    key_cache: dict = {}
    for at, kind, minor, currency in session.execute(q.execution_options(yield_per=5000)):
        local_day = at.astimezone(__import__("zoneinfo").ZoneInfo(params.timezone)).date()
        period = key_cache.get(local_day)
        if period is None:
            period = key_cache[local_day] = params.period_key(local_day)
        b = buckets[(period, currency or "IRR")]
        if kind == "purchase":
            b[0] += 1
            b[1] += minor
        else:
            b[2] += 1
            b[3] += minor
    rows = []
    totals: dict[str, dict[str, object]] = {}
    for (period, currency), (n, amount, rn, refunded) in sorted(buckets.items()):
        rows.append([period, currency, n, _dec(amount, currency), rn, _dec(refunded, currency),
                     _dec(amount - refunded, currency)])
        t = totals.setdefault(currency, {"purchases": 0, "amount": 0, "refunds": 0, "refunded": 0})
        t["purchases"] += n
        t["amount"] += amount
        t["refunds"] += rn
        t["refunded"] += refunded
    out_totals = {cur: {"purchases": t["purchases"], "amount": _dec(t["amount"], cur), "refunds": t["refunds"],
                        "refunded": _dec(t["refunded"], cur), "net": _dec(t["amount"] - t["refunded"], cur)}
                  for cur, t in sorted(totals.items())}
    return ReportResult(columns=["period", "currency", "purchases", "amount", "refunds", "refunded", "net"],
                        rows=rows, totals={"by_currency": out_totals, "period": params.period,
                                           "calendar": params.calendar})


def _dec(minor: int, currency: str) -> str:
    return str(Money(minor, currency).amount)


KERNEL_REPORTS = [
    Report("customers.summary", "Customers and interactions",
           "Active customers, and interactions per kind, in the range.", customers_summary,
           title_fa="خلاصه مشتریان و تعاملات"),
    Report("sales.by_period", "Sales by period",
           "Purchases, refunds and net amount per day, week, month or Jalali month, per currency.", sales_by_period,
           title_fa="فروش به تفکیک دوره"),
]
