"""Reports: top referrers, the referral funnel, what referrals brought per period (Jalali months with
``--calendar jalali``). Amounts are exact decimal strings in the currency's major unit."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Integer, and_, func, select

from crmcore.api import (
    Customer,
    Interaction,
    Report,
    ReportParams,
    ReportResult,
    currency_exponent,
    customer_clause,
)

from .models import Referral, ReferralReward


def _between(query, column, params: ReportParams):
    lo, hi = params.utc_bounds()
    if lo is not None:
        query = query.where(column >= lo)
    if hi is not None:
        query = query.where(column < hi)
    return query


def run_top(uow, params: ReportParams) -> ReportResult:
    """Referrers by friends brought (attached in the range), with qualified friends and points earned."""
    limit = int(params.option("limit", "20"))
    qualified = func.sum((Referral.status == "qualified").cast(Integer))
    query = _between(
        select(
            Referral.referrer_id, Customer.display_name, func.count(Referral.id), qualified
        ).join(Customer, Customer.id == Referral.referrer_id),
        Referral.attached_at,
        params,
    )
    readable = customer_clause(uow, "read")  # record rules: the reader's customers only
    if readable is not None:
        query = query.where(readable)
    rows = uow.session.execute(
        query.group_by(Referral.referrer_id, Customer.display_name)
        .order_by(func.count(Referral.id).desc(), Referral.referrer_id)
        .limit(limit)
    ).all()
    ids = [r[0] for r in rows]
    points = (
        dict(
            uow.session.execute(
                select(ReferralReward.beneficiary_id, func.sum(ReferralReward.points))
                .where(ReferralReward.status == "earned", ReferralReward.beneficiary_id.in_(ids))
                .group_by(ReferralReward.beneficiary_id)
            ).all()
        )
        if ids
        else {}
    )
    out = [[cid, name, n, int(q or 0), int(points.get(cid) or 0)] for cid, name, n, q in rows]
    totals = {"referrers": len(out), "friends": sum(r[2] for r in out)}
    return ReportResult(
        columns=["customer_id", "name", "friends", "qualified", "points"], rows=out, totals=totals
    )


def run_conversion(uow, params: ReportParams) -> ReportResult:
    """Friends attached in the range: referred → bought at least once → qualified → bought again."""
    friends = _between(
        select(Referral.friend_id, Referral.status), Referral.attached_at, params
    ).subquery()
    purchases = (
        select(Interaction.customer_id, func.count().label("n"))
        .where(Interaction.kind == "purchase")
        .group_by(Interaction.customer_id)
        .subquery()
    )
    referred, bought, qualified, repeat = uow.session.execute(
        select(
            func.count(friends.c.friend_id),
            func.count(purchases.c.customer_id),
            func.coalesce(func.sum((friends.c.status == "qualified").cast(Integer)), 0),
            func.coalesce(func.sum((purchases.c.n >= 2).cast(Integer)), 0),
        )
        .select_from(friends)
        .outerjoin(purchases, purchases.c.customer_id == friends.c.friend_id)
    ).one()

    def share(n: int) -> str:
        return str((Decimal(100 * n) / referred).quantize(Decimal("0.1"))) if referred else "0.0"

    rows = [
        [stage, int(n), share(int(n))]
        for stage, n in (
            ("referred", referred),
            ("first_purchase", bought),
            ("qualified", qualified),
            ("repeat", repeat),
        )
    ]
    return ReportResult(columns=["stage", "people", "percent"], rows=rows)


def run_by_period(uow, params: ReportParams) -> ReportResult:
    """Revenue of referred friends (purchases after they were referred) and referral points, per period."""
    revenue: dict[tuple[str, str], int] = defaultdict(int)
    query = _between(
        select(Interaction.occurred_at, Interaction.amount_minor, Interaction.currency)
        .join(
            Referral,
            and_(
                Referral.friend_id == Interaction.customer_id,
                Interaction.occurred_at >= Referral.attached_at,
            ),
        )
        .where(Interaction.kind == "purchase"),
        Interaction.occurred_at,
        params,
    )
    friends: dict[str, set[int]] = defaultdict(set)
    for at, amount, currency in uow.session.execute(query):
        revenue[(params.period_key(at), currency or "IRR")] += amount or 0
    points: dict[str, int] = defaultdict(int)
    rewards = _between(
        select(ReferralReward.earned_at, ReferralReward.points, ReferralReward.referral_id).where(
            ReferralReward.status == "earned"
        ),
        ReferralReward.earned_at,
        params,
    )
    for at, pts, referral_id in uow.session.execute(rewards):
        key = params.period_key(at)
        points[key] += pts
        friends[key].add(referral_id)
    rows = []
    for period in sorted({p for p, _ in revenue} | set(points)):
        currencies = sorted(c for p, c in revenue if p == period) or [""]
        for i, currency in enumerate(currencies):
            minor = revenue.get((period, currency), 0)
            amount = str(Decimal(minor).scaleb(-currency_exponent(currency))) if currency else "0"
            first = i == 0
            rows.append(
                [
                    period,
                    currency,
                    amount,
                    points[period] if first else 0,
                    len(friends[period]) if first else 0,
                ]
            )
    totals = {"points": sum(points.values())}
    return ReportResult(
        columns=["period", "currency", "revenue", "points", "qualified_friends"],
        rows=rows,
        totals=totals,
    )


REPORTS = [
    Report(
        "referrals.top_referrers",
        "Top referrers",
        "Members by friends brought, qualified friends and referral points (--option limit=20)",
        run_top,
        title_fa="معرف‌های برتر",
        customer_column="customer_id",
    ),
    Report(
        "referrals.conversion",
        "Referral conversion",
        "Referred friends → first purchase → qualified → repeat purchase",
        run_conversion,
        title_fa="تبدیل معرفی‌ها",
    ),
    Report(
        "referrals.by_period",
        "Referrals per period",
        "Revenue of referred friends and referral points per period (--calendar jalali for Jalali "
        "months)",
        run_by_period,
        title_fa="معرفی‌ها در هر دوره",
    ),
]
