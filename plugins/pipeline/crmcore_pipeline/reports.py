"""The pipeline's reports in the kernel registry (``crm reports run pipeline.…``).

Amounts are exact decimal strings; percentages are decimal strings with one decimal (half up); weighted
amounts are summed exactly and rounded half up to the currency's minor unit once, per row and per total.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select

from crmcore.api import (
    Customer,
    Money,
    Report,
    ReportParams,
    ReportResult,
    ValidationError,
    format_date,
)

from .catalog import ensure_defaults, get_pipeline
from .deals import readable_deals, weighted_minor
from .models import Deal, Lead, LeadSource, SalesRep, SalesTarget, Stage, StageHistory
from .reps import get_rep


def percent(part: int, whole: int) -> str | None:
    if not whole:
        return None
    return str(
        (Decimal(part * 100) / Decimal(whole)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    )


def _amount(minor: int, currency: str) -> str:
    return str(Money(minor, currency).amount)


def _int_option(params: ReportParams, name: str, default: int) -> int:
    raw = params.option(name)
    if raw is None:
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationError(
            f"option {name} must be a whole number, not {raw!r}", field=name
        ) from None
    if value < 0:
        raise ValidationError(f"option {name} cannot be negative", field=name)
    return value


class _PeriodKeys:
    """Period labels of days and moments, computed once per local day (Jalali conversion is not free)."""

    def __init__(self, params: ReportParams):
        self.params = params
        self.zone = ZoneInfo(params.timezone)
        self.cache: dict[date, str] = {}

    def of_day(self, day: date) -> str:
        key = self.cache.get(day)
        if key is None:
            key = self.cache[day] = self.params.period_key(day)
        return key

    def of_moment(self, moment: datetime) -> str:
        return self.of_day(moment.astimezone(self.zone).date())


def funnel(uow, params: ReportParams) -> ReportResult:
    """Per period and stage: deals that entered the stage, how many later went further, and the rate."""
    pipe = get_pipeline(uow, params.option("pipeline"))
    stages = {s.id: s for s in pipe.stages}
    lo, hi = params.utc_bounds()
    rows_q = (
        select(StageHistory.deal_id, StageHistory.to_stage_id, StageHistory.at)
        .join(Stage, Stage.id == StageHistory.to_stage_id)
        .where(Stage.pipeline_id == pipe.id)
        .order_by(StageHistory.deal_id, StageHistory.at, StageHistory.id)
    )
    entries: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
    for deal_id, stage_id, at in uow.session.execute(rows_q):
        entries[deal_id].append((stage_id, at))
    entered: dict[tuple[str, int], set[int]] = defaultdict(set)
    advanced: dict[tuple[str, int], set[int]] = defaultdict(set)
    overall_entered: dict[int, set[int]] = defaultdict(set)
    overall_advanced: dict[int, set[int]] = defaultdict(set)
    keys = _PeriodKeys(params)
    for deal_id, path in entries.items():
        for i, (stage_id, at) in enumerate(path):
            if (lo is not None and at < lo) or (hi is not None and at >= hi):
                continue
            key = (keys.of_moment(at), stage_id)
            entered[key].add(deal_id)
            overall_entered[stage_id].add(deal_id)
            here = stages[stage_id]
            if here.kind == "open" and any(
                stages[s].kind != "lost" and stages[s].position > here.position
                for s, _ in path[i + 1 :]
            ):
                advanced[key].add(deal_id)
                overall_advanced[stage_id].add(deal_id)
    periods = sorted({p for p, _ in entered})
    rows = []
    for period in periods:
        for stage in pipe.stages:
            n = len(entered.get((period, stage.id), ()))
            if stage.kind == "open":
                m = len(advanced.get((period, stage.id), ()))
                rows.append([period, stage.code, stage.name, n, m, percent(m, n)])
            else:
                rows.append([period, stage.code, stage.name, n, None, None])
    by_stage = {}
    for stage in pipe.stages:
        n = len(overall_entered.get(stage.id, ()))
        m = len(overall_advanced.get(stage.id, ())) if stage.kind == "open" else None
        by_stage[stage.code] = {
            "entered": n,
            "advanced": m,
            "conversion": percent(m, n) if m is not None else None,
        }
    return ReportResult(
        columns=["period", "stage", "stage_name", "entered", "advanced", "conversion_pct"],
        rows=rows,
        totals={
            "pipeline": pipe.code,
            "period": params.period,
            "calendar": params.calendar,
            "by_stage": by_stage,
        },
    )


def forecast(uow, params: ReportParams) -> ReportResult:
    """Open deals per expected-close period and currency: count, amount, and amount weighted by probability."""
    ensure_defaults(uow)
    q = (
        select(
            Deal.amount_minor,
            Deal.currency,
            Deal.expected_close,
            func.coalesce(Deal.probability, Stage.probability),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Deal.status == "open")
    )
    if params.option("pipeline"):
        q = q.where(Deal.pipeline_id == get_pipeline(uow, params.option("pipeline")).id)
    if params.option("owner"):
        q = q.where(Deal.owner_id == get_rep(uow, params.option("owner")).id)
    today = uow.now().astimezone(ZoneInfo(params.timezone)).date()
    buckets: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    undated = no_amount = overdue = 0
    keys = _PeriodKeys(params)
    for minor, currency, closes, probability in uow.session.execute(q):
        if minor is None:
            no_amount += 1
            continue
        if closes is None:
            undated += 1
            continue
        if (params.start and closes < params.start) or (params.end and closes > params.end):
            continue
        overdue += closes < today
        b = buckets[(keys.of_day(closes), currency)]
        b[0] += 1
        b[1] += minor
        b[2] += minor * probability
    rows, totals = [], {}
    for (period, cur), (n, amount, weighted) in sorted(buckets.items()):
        rows.append([period, cur, n, _amount(amount, cur), _amount(weighted_minor(weighted), cur)])
        t = totals.setdefault(cur, [0, 0, 0])
        t[0] += n
        t[1] += amount
        t[2] += weighted
    return ReportResult(
        columns=["period", "currency", "deals", "amount", "weighted_amount"],
        rows=rows,
        totals={
            "by_currency": {
                cur: {
                    "deals": n,
                    "amount": _amount(a, cur),
                    "weighted_amount": _amount(weighted_minor(w), cur),
                }
                for cur, (n, a, w) in sorted(totals.items())
            },
            "overdue": overdue,
            "without_expected_close": undated,
            "without_amount": no_amount,
            "period": params.period,
            "calendar": params.calendar,
        },
    )


def stages(uow, params: ReportParams) -> ReportResult:
    """Open deals now, per open stage of a pipeline: count, amount and weighted amount per
    currency."""
    pipe = get_pipeline(uow, params.option("pipeline"))
    weighted_sum = func.sum(Deal.amount_minor * func.coalesce(Deal.probability, Stage.probability))
    q = (
        select(
            Deal.stage_id,
            Deal.currency,
            func.count(Deal.id),
            func.coalesce(func.sum(Deal.amount_minor), 0),
            func.coalesce(weighted_sum, 0),
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(Deal.status == "open", Deal.pipeline_id == pipe.id)
        .group_by(Deal.stage_id, Deal.currency)
    )
    if params.option("owner"):
        q = q.where(Deal.owner_id == get_rep(uow, params.option("owner")).id)
    found = {
        (stage_id, cur): (n, amount, weighted)
        for stage_id, cur, n, amount, weighted in uow.session.execute(q)
    }
    currencies = sorted({cur for _, cur in found}) or ["IRR"]
    rows, totals = [], {}
    for stage in (s for s in pipe.stages if s.kind == "open"):
        for cur in currencies:
            n, amount, weighted = found.get((stage.id, cur), (0, 0, 0))
            rows.append(
                [
                    stage.code,
                    stage.name,
                    stage.name_en,
                    cur,
                    n,
                    _amount(amount, cur),
                    _amount(weighted_minor(weighted), cur),
                ]
            )
            t = totals.setdefault(cur, [0, 0, 0])
            t[0] += n
            t[1] += amount
            t[2] += weighted
    by_currency = {
        cur: {
            "deals": n,
            "amount": _amount(a, cur),
            "weighted_amount": _amount(weighted_minor(w), cur),
        }
        for cur, (n, a, w) in sorted(totals.items())
    }
    return ReportResult(
        columns=[
            "stage",
            "stage_name",
            "stage_name_en",
            "currency",
            "deals",
            "amount",
            "weighted_amount",
        ],
        rows=rows,
        totals={"pipeline": pipe.code, "by_currency": by_currency},
    )


def sources(uow, params: ReportParams) -> ReportResult:
    """Leads created in the range per source: converted, disqualified, conversion rate; deals
    opened with the source and no lead (``deals add --source phone``); deals won from either, and
    their amount."""
    ensure_defaults(uow)
    currency = (params.option("currency") or "IRR").upper()
    lo, hi = params.utc_bounds()
    q = select(
        Lead.source_id, Lead.status, Deal.status, Deal.amount_minor, Deal.currency
    ).outerjoin(Deal, Deal.lead_id == Lead.id)
    direct = select(Deal.source_id, Deal.status, Deal.amount_minor, Deal.currency).where(
        Deal.lead_id.is_(None), Deal.source_id.is_not(None)
    )
    if lo is not None:
        q = q.where(Lead.created_at >= lo)
        direct = direct.where(Deal.created_at >= lo)
    if hi is not None:
        q = q.where(Lead.created_at < hi)
        direct = direct.where(Deal.created_at < hi)
    # per source: leads, converted, disqualified, won deals, won amount, deals without a lead
    stats: dict[int, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    other: dict[str, int] = defaultdict(int)

    def won(s: list[int], deal_status, minor, cur) -> None:
        if deal_status == "won":
            s[3] += 1
            if cur == currency:
                s[4] += minor
            else:
                other[cur] += minor

    for source_id, lead_status, deal_status, minor, cur in uow.session.execute(q):
        s = stats[source_id]
        s[0] += 1
        s[1] += lead_status == "converted"
        s[2] += lead_status == "disqualified"
        won(s, deal_status, minor, cur)
    for source_id, deal_status, minor, cur in uow.session.execute(direct):
        s = stats[source_id]
        s[5] += 1
        won(s, deal_status, minor, cur)
    rows = []
    total = [0, 0, 0, 0, 0, 0]
    for src in uow.session.scalars(select(LeadSource).order_by(LeadSource.id)):
        if src.id not in stats and not src.active:
            continue
        leads, converted, disq, won_deals, amount, direct_deals = stats.get(src.id, [0] * 6)
        rows.append(
            [
                src.code,
                src.name,
                leads,
                converted,
                disq,
                percent(converted, leads),
                direct_deals,
                won_deals,
                _amount(amount, currency),
            ]
        )
        total = [
            a + b
            for a, b in zip(
                total, (leads, converted, disq, won_deals, amount, direct_deals), strict=True
            )
        ]
    return ReportResult(
        columns=[
            "source",
            "source_name",
            "leads",
            "converted",
            "disqualified",
            "conversion_pct",
            "direct_deals",
            "won_deals",
            "won_amount",
        ],
        rows=rows,
        totals={
            "leads": total[0],
            "converted": total[1],
            "disqualified": total[2],
            "conversion_pct": percent(total[1], total[0]),
            "direct_deals": total[5],
            "won_deals": total[3],
            "won_amount": _amount(total[4], currency),
            "currency": currency,
            "won_in_other_currencies": {c: _amount(m, c) for c, m in sorted(other.items())},
        },
    )


def targets(uow, params: ReportParams) -> ReportResult:
    """Each rep's target per period against what they won (deals closed won in that period, same currency)."""
    zone = ZoneInfo(params.timezone)
    q = select(SalesTarget).order_by(
        SalesTarget.starts_on, SalesTarget.rep_id, SalesTarget.currency
    )
    if params.start:
        q = q.where(SalesTarget.ends_on > params.start)
    if params.end:
        q = q.where(SalesTarget.starts_on <= params.end)
    if params.option("rep"):
        q = q.where(SalesTarget.rep_id == get_rep(uow, params.option("rep"), field="rep").id)
    rows, totals = [], {}
    for t in uow.session.scalars(q):
        lo = datetime.combine(t.starts_on, time(0), zone)
        hi = datetime.combine(t.ends_on, time(0), zone)
        won = (
            uow.session.execute(
                select(Deal.amount_minor).where(
                    Deal.owner_id == t.rep_id,
                    Deal.status == "won",
                    Deal.currency == t.currency,
                    and_(Deal.closed_at >= lo, Deal.closed_at < hi),
                )
            )
            .scalars()
            .all()
        )
        amount = sum(won)
        rows.append(
            [
                t.rep.username,
                t.rep.name,
                t.label,
                t.currency,
                _amount(t.amount_minor, t.currency),
                _amount(amount, t.currency),
                len(won),
                percent(amount, t.amount_minor),
                _amount(max(t.amount_minor - amount, 0), t.currency),
            ]
        )
        tot = totals.setdefault(t.currency, [0, 0])
        tot[0] += t.amount_minor
        tot[1] += amount
    return ReportResult(
        columns=[
            "rep",
            "rep_name",
            "period",
            "currency",
            "target",
            "won",
            "won_deals",
            "attainment_pct",
            "remaining",
        ],
        rows=rows,
        totals={
            "by_currency": {
                c: {"target": _amount(a, c), "won": _amount(w, c), "attainment_pct": percent(w, a)}
                for c, (a, w) in sorted(totals.items())
            }
        },
    )


def stale(uow, params: ReportParams) -> ReportResult:
    """Open deals with no activity (stage move, update, logged activity, call or message) for N days."""
    days = _int_option(params, "days", 14)
    now = uow.now()
    cutoff = now - timedelta(days=days)
    q = (
        select(
            Deal.id,
            Deal.title,
            Customer.display_name,
            Stage.code,
            SalesRep.username,
            Deal.last_activity_at,
            Deal.amount_minor,
            Deal.currency,
        )
        .join(Customer, Customer.id == Deal.customer_id)
        .join(Stage, Stage.id == Deal.stage_id)
        .outerjoin(SalesRep, SalesRep.id == Deal.owner_id)
        .where(Deal.status == "open", Deal.last_activity_at < cutoff)
    )
    if params.option("pipeline"):
        q = q.where(Deal.pipeline_id == get_pipeline(uow, params.option("pipeline")).id)
    if params.option("owner"):
        q = q.where(Deal.owner_id == get_rep(uow, params.option("owner")).id)
    readable = readable_deals(uow)  # record rules: deals follow their rep
    if readable is not None:
        q = q.where(readable)
    found = []
    for deal_id, title, name, stage, owner, last, minor, currency in uow.session.execute(q):
        idle = (now - last).days
        found.append(
            (
                -idle,
                deal_id,
                [
                    deal_id,
                    title,
                    name,
                    stage,
                    owner,
                    format_date(last, params.calendar, tz=params.timezone),
                    idle,
                    None if minor is None else _amount(minor, currency),
                    currency,
                ],
            )
        )
    rows = [r for _, _, r in sorted(found, key=lambda x: (x[0], x[1]))]
    return ReportResult(
        columns=[
            "deal",
            "title",
            "customer",
            "stage",
            "owner",
            "last_activity",
            "idle_days",
            "amount",
            "currency",
        ],
        rows=rows,
        totals={"deals": len(rows), "days": days},
    )


REPORTS = [
    Report(
        "pipeline.funnel",
        "Sales funnel",
        "Deals entering each stage per period and the share that went further (option pipeline=CODE).",
        funnel,
        title_fa="قیف فروش",
    ),
    Report(
        "pipeline.forecast",
        "Sales forecast",
        "Open deals per expected-close month (Jalali with --calendar jalali): amount and weighted amount "
        "(options pipeline=CODE, owner=USER).",
        forecast,
        title_fa="پیش‌بینی فروش",
    ),
    Report(
        "pipeline.stages",
        "Open deals per stage",
        "Open deals now in each open stage: count, amount and weighted amount (options "
        "pipeline=CODE, owner=USER).",
        stages,
        title_fa="معاملات باز در هر مرحله",
    ),
    Report(
        "pipeline.sources",
        "Lead sources",
        "Leads created per source: converted, conversion rate, deals won and won amount (option currency=IRR).",
        sources,
        title_fa="منابع سرنخ",
    ),
    Report(
        "pipeline.targets",
        "Targets vs won",
        "Each rep's target per period against the amount of deals won in it (option rep=USER).",
        targets,
        title_fa="هدف در برابر فروش",
    ),
    Report(
        "pipeline.stale",
        "Stale deals",
        "Open deals with no activity for N days (options days=14, pipeline=CODE, owner=USER).",
        stale,
        title_fa="معاملات راکد",
    ),
]
