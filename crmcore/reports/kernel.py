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
    cq = select(func.count(Customer.id)).where(
        Customer.merged_into_id.is_(None), Customer.forgotten_at.is_(None)
    )
    iq = (
        select(Interaction.kind, func.count(Interaction.id))
        .group_by(Interaction.kind)
        .order_by(Interaction.kind)
    )
    if lo is not None:
        cq = cq.where(Customer.created_at >= lo)
        iq = iq.where(Interaction.occurred_at >= lo)
    if hi is not None:
        cq = cq.where(Customer.created_at < hi)
        iq = iq.where(Interaction.occurred_at < hi)
    customers = session.scalar(cq) or 0
    rows = [[kind, count] for kind, count in session.execute(iq)]
    total = sum(r[1] for r in rows)
    return ReportResult(
        columns=["kind", "interactions"],
        rows=rows,
        totals={"customers": customers, "interactions": total},
    )


def sales_by_period(uow, params: ReportParams) -> ReportResult:
    session = uow.session
    lo, hi = params.utc_bounds()
    q = select(
        Interaction.occurred_at, Interaction.kind, Interaction.amount_minor, Interaction.currency
    ).where(Interaction.kind.in_(("purchase", "refund")), Interaction.amount_minor.is_not(None))
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
        rows.append(
            [
                period,
                currency,
                n,
                _dec(amount, currency),
                rn,
                _dec(refunded, currency),
                _dec(amount - refunded, currency),
            ]
        )
        t = totals.setdefault(currency, {"purchases": 0, "amount": 0, "refunds": 0, "refunded": 0})
        t["purchases"] += n
        t["amount"] += amount
        t["refunds"] += rn
        t["refunded"] += refunded
    out_totals = {
        cur: {
            "purchases": t["purchases"],
            "amount": _dec(t["amount"], cur),
            "refunds": t["refunds"],
            "refunded": _dec(t["refunded"], cur),
            "net": _dec(t["amount"] - t["refunded"], cur),
        }
        for cur, t in sorted(totals.items())
    }
    return ReportResult(
        columns=["period", "currency", "purchases", "amount", "refunds", "refunded", "net"],
        rows=rows,
        totals={"by_currency": out_totals, "period": params.period, "calendar": params.calendar},
    )


#: customer retention rates the club documents cite, per industry (percent of last year's customers
#: who buy again)
RETENTION_BENCHMARKS = {"retail": 63, "it_services": 81, "professional_services": 84}


def customers_retention(uow, params: ReportParams) -> ReportResult:
    """Of the customers who bought in the year before ``--from``, the share who bought again from
    ``--from`` to ``--to`` (by default the 12 months up to today), beside the industry figures."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    today = uow.now().astimezone(ZoneInfo(params.timezone)).date()
    end = params.end or today
    start = params.start or _months_before(end, 12) + timedelta(days=1)
    window = ReportParams(start=start, end=end, timezone=params.timezone)
    before = ReportParams(
        start=_months_before(start, 12), end=start - timedelta(days=1), timezone=params.timezone
    )

    def buyers(p: ReportParams):
        lo, hi = p.utc_bounds()
        return (
            select(Interaction.customer_id)
            .where(
                Interaction.kind == "purchase",
                Interaction.occurred_at >= lo,
                Interaction.occurred_at < hi,
            )
            .distinct()
        )

    base_q = buyers(before).subquery()
    base = uow.session.scalar(select(func.count()).select_from(base_q)) or 0
    again_q = buyers(window).where(Interaction.customer_id.in_(select(base_q.c.customer_id)))
    retained = uow.session.scalar(select(func.count()).select_from(again_q.subquery())) or 0
    rate = _percent(retained, base)
    rows = [[start.isoformat(), end.isoformat(), base, retained, rate]]
    return ReportResult(
        columns=["from", "to", "customers_before", "bought_again", "retention_pct"],
        rows=rows,
        totals={
            "customers_before": base,
            "bought_again": retained,
            "retention_pct": rate,
            "benchmarks_pct": dict(RETENTION_BENCHMARKS),
        },
    )


def _months_before(day, months: int):
    import calendar as _calendar

    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return day.replace(year=year, month=month + 1, day=min(day.day, last))


def _percent(part: int, whole: int) -> str | None:
    from decimal import ROUND_HALF_UP, Decimal

    if not whole:
        return None
    return str((Decimal(part) * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _dec(minor: int, currency: str) -> str:
    return str(Money(minor, currency).amount)


KERNEL_REPORTS = [
    Report(
        "customers.summary",
        "Customers and interactions",
        "Active customers, and interactions per kind, in the range.",
        customers_summary,
        title_fa="خلاصه مشتریان و تعاملات",
    ),
    Report(
        "sales.by_period",
        "Sales by period",
        "Purchases, refunds and net amount per day, week, month or Jalali month, per currency.",
        sales_by_period,
        title_fa="فروش به تفکیک دوره",
    ),
    Report(
        "customers.retention",
        "Customer retention",
        "Of the customers who bought in the year before --from, the share who bought again "
        "up to --to (default: the last 12 months), beside retail 63%, IT services 81%, "
        "professional services 84%.",
        customers_retention,
        title_fa="نرخ نگهداشت مشتری",
    ),
]
