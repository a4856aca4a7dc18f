"""Reports: ``loyalty.summary`` (points issued, redeemed, expired, reversed per period; outstanding and
liability) and ``loyalty.members`` (active, new and redeeming members per period)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import func, select

from crmcore.api import Report, ReportParams, ReportResult

from .models import LoyaltyAccount, LoyaltyEntry, LoyaltyLot
from .programs import active_program

SPEND_KINDS = ("redeem",)


def _entries(uow, params: ReportParams):
    lo, hi = params.utc_bounds()
    q = select(
        LoyaltyEntry.customer_id, LoyaltyEntry.kind, LoyaltyEntry.points, LoyaltyEntry.occurred_at
    )
    if lo is not None:
        q = q.where(LoyaltyEntry.occurred_at >= lo)
    if hi is not None:
        q = q.where(LoyaltyEntry.occurred_at < hi)
    return uow.session.execute(
        q.order_by(LoyaltyEntry.occurred_at).execution_options(yield_per=5000)
    )


def run_summary(uow, params: ReportParams) -> ReportResult:
    columns = ["period", "issued", "redeemed", "expired", "reversed", "other_out", "net"]
    rows: dict[str, list[int]] = defaultdict(lambda: [0] * 6)
    for _cid, kind, points, at in _entries(uow, params):
        r = rows[params.period_key(at)]
        if points > 0:
            r[0] += points
        elif kind in SPEND_KINDS:
            r[1] -= points
        elif kind == "expire":
            r[2] -= points
        elif kind in ("reverse", "clawback"):
            r[3] -= points
        else:
            r[4] -= points
        r[5] += points
    program = active_program(uow)
    outstanding, owed, absorbed = uow.session.execute(
        select(
            func.coalesce(func.sum(LoyaltyAccount.balance), 0),
            func.coalesce(func.sum(LoyaltyAccount.owed), 0),
            func.coalesce(func.sum(LoyaltyAccount.absorbed), 0),
        )
    ).one()
    # lots past their expiry are no longer owed, even before the job writes their expire entry
    outstanding -= (
        uow.session.scalar(
            select(func.coalesce(func.sum(LoyaltyLot.remaining), 0)).where(
                LoyaltyLot.remaining > 0,
                LoyaltyLot.expires_at.is_not(None),
                LoyaltyLot.expires_at <= uow.now(),
            )
        )
        or 0
    )
    out_rows = [[k, *v] for k, v in sorted(rows.items())]
    totals = {c: sum(r[i + 1] for r in out_rows) for i, c in enumerate(columns[1:])}
    totals.update(
        {
            "outstanding": int(outstanding),
            "owed": int(owed),
            "absorbed": int(absorbed),
            "liability": str(int(outstanding) * program.point_value_minor),
            "currency": program.currency,
        }
    )
    return ReportResult(columns=columns, rows=out_rows, totals=totals)


def run_members(uow, params: ReportParams) -> ReportResult:
    first_seen = dict(
        uow.session.execute(
            select(LoyaltyEntry.customer_id, func.min(LoyaltyEntry.occurred_at)).group_by(
                LoyaltyEntry.customer_id
            )
        ).all()
    )
    active: dict[str, set[int]] = defaultdict(set)
    earning: dict[str, set[int]] = defaultdict(set)
    redeeming: dict[str, set[int]] = defaultdict(set)
    new: dict[str, set[int]] = defaultdict(set)
    for cid, kind, points, at in _entries(uow, params):
        key = params.period_key(at)
        if kind in ("earn", "redeem") or kind.startswith("transfer"):
            active[key].add(cid)
        if kind == "earn":
            earning[key].add(cid)
        if kind in SPEND_KINDS:
            redeeming[key].add(cid)
        if first_seen.get(cid) == at:
            new[key].add(cid)
    keys = sorted(set(active) | set(new))
    rows = [[k, len(active[k]), len(new[k]), len(earning[k]), len(redeeming[k])] for k in keys]
    members = uow.session.scalar(select(func.count()).select_from(LoyaltyAccount))
    return ReportResult(
        columns=["period", "active", "new", "earning", "redeeming"],
        rows=rows,
        totals={
            "members": int(members or 0),
            "active_in_range": len(set().union(*active.values()) if active else set()),
        },
    )


REPORTS = [
    Report(
        name="loyalty.summary",
        title="Loyalty points summary",
        title_fa="خلاصه امتیازهای باشگاه",
        description="Points issued, redeemed, expired and reversed per period; outstanding points and their "
        "liability at the program's point value.",
        run=run_summary,
    ),
    Report(
        name="loyalty.members",
        title="Loyalty members",
        title_fa="اعضای فعال باشگاه",
        description="Members active (earning, redeeming or transferring), new, earning and redeeming per period.",
        run=run_members,
    ),
]
