"""What tiers adds to ``crm web`` (issue 28): the ladder page (each tier's rule, benefits and
members) and the members page (each member's progress toward the next tier and the day a downgrade
would happen), with the same JSON under ``/api/p/tiers/``. Built on loyalty's page kit (tiers
requires loyalty)."""

from __future__ import annotations

from datetime import date

from crmcore.api import Customer, Formatter, Money, formatter_for, ui

PREFIX = "/p/tiers"
L = ui.Label
PAGE_SIZE = 50


def _title(tier) -> ui.Label:
    return L(tier.title or tier.name, tier.title_fa or tier.title or tier.name)


def _counts(uow) -> dict[str, int]:
    from sqlalchemy import func, select

    from .models import TierMember

    return dict(
        uow.session.execute(select(TierMember.tier, func.count()).group_by(TierMember.tier)).all()
    )


def rule_text(tier, currency: str, fmt: Formatter) -> str:
    """A tier's qualifying rule in the reader's language, amounts in the currency's major unit."""
    if tier.is_base:
        return "سطح شروع همه اعضا" if fmt.persian else "where every member starts"
    parts = []
    for c in tier.criteria:
        minor = c.minor(currency)
        if c.metric == "spend":
            amount = fmt.money(Money(minor, currency))
            parts.append(f"{amount} خرید" if fmt.persian else f"{amount} spent")
        elif c.metric == "purchases":
            parts.append(f"{fmt.number(minor)} " + ("خرید" if fmt.persian else "purchases"))
        else:
            parts.append(f"{fmt.number(minor)} " + ("امتیاز" if fmt.persian else "points"))
    window = tier.window.describe_fa() if fmt.persian else tier.window.describe()
    joined = (" یا " if fmt.persian else " or ").join(parts)
    return f"{joined} در {fmt.digits(window)}" if fmt.persian else f"{joined} in {window}"


def ladder_page(ctx):
    from crmcore_loyalty.api import Block, page

    from .service import currency_of, require_ladder

    ladder = require_ladder(ctx.uow)
    currency = currency_of(ctx.uow)
    fmt = formatter_for(ctx.uow, ctx.lang)
    counts = _counts(ctx.uow)
    rows = [
        {
            "tier": ui.Link(_title(t), f"{PREFIX}/members?tier={t.name}"),
            "rule": rule_text(t, currency, fmt),
            "multiplier": t.multiplier,
            "discount": t.discount_percent or None,
            "grace": t.grace_days or None,
            "members": counts.get(t.name, 0),
        }
        for t in ladder.tiers
    ]
    table = ui.Table(
        columns=[
            ui.Column("tier", L("Tier", "سطح"), "link"),
            ui.Column("rule", L("How to reach it", "شرط رسیدن"), "text"),
            ui.Column("multiplier", L("Points ×", "ضریب امتیاز"), "number"),
            ui.Column("discount", L("Discount", "تخفیف"), "percent"),
            ui.Column("grace", L("Grace (days)", "مهلت (روز)"), "number"),
            ui.Column("members", L("Members", "اعضا"), "number"),
        ],
        rows=rows,
        title=L("The ladder", "نردبان سطح‌ها"),
    )
    chart = ui.Chart(
        [(_title(t), counts.get(t.name, 0)) for t in ladder.tiers],
        title=L("Members per tier", "اعضا در هر سطح"),
    )
    return page(
        ctx,
        L("Membership tiers", "سطح‌های عضویت"),
        [
            Block(None, [table], wide=True),
            Block(
                None,
                [
                    chart,
                    ui.Link(
                        L("Members and their progress", "اعضا و پیشرفتشان"), f"{PREFIX}/members"
                    ),
                ],
            ),
        ],
    )


def member_rows(ctx, tier_name: str | None, offset: int) -> tuple[list[dict], int]:
    """One page of members with the data of their profile panel (``crm tiers show --json``)."""
    from sqlalchemy import func, select

    from crmcore.api import customer_clause

    from .models import TierMember
    from .profile import profile_section

    # points are loyalty's: a user who may not read loyalty sees the other criteria only
    ctx.uow.may_read = lambda plugin: ctx.user.can("read", plugin)
    q = select(TierMember.customer_id).join(Customer, Customer.id == TierMember.customer_id)
    clause = customer_clause(ctx.uow)
    if clause is not None:
        q = q.where(clause)
    if tier_name:
        q = q.where(TierMember.tier == tier_name)
    total = ctx.uow.session.scalar(select(func.count()).select_from(q.subquery()))
    ids = list(
        ctx.uow.session.scalars(q.order_by(TierMember.customer_id).offset(offset).limit(PAGE_SIZE))
    )
    rows = []
    for cid in ids:
        customer = ctx.uow.session.get(Customer, cid)
        rows.append({"customer": customer, **profile_section(ctx.uow, customer).data})
    return rows, total


def _progress_cell(row, currency: str):
    nxt = row.get("next_tier")
    if not nxt or not nxt["progress"]:
        return None
    step = min(nxt["progress"], key=lambda s: s["needed"] / max(s["threshold"], 1))
    if step["metric"] == "spend":
        return ui.Progress(
            L("Spend", "خرید"),
            Money(int(step["have"]), currency),
            Money(int(step["threshold"]), currency),
            kind="money",
        )
    from .profile import METRICS

    return ui.Progress(
        METRICS.get(step["metric"], L(step["metric"])), step["have"], step["threshold"]
    )


def members_page(ctx):
    from crmcore_loyalty.api import Block, Form, Input, page

    from .service import currency_of, require_ladder

    ladder = require_ladder(ctx.uow)
    currency = currency_of(ctx.uow)
    tier_name = ctx.query.get("tier") or None
    if tier_name and ladder.get(tier_name) is None:
        tier_name = None
    try:
        offset = max(int(ctx.query.get("offset") or 0), 0)
    except ValueError:
        offset = 0
    rows, total = member_rows(ctx, tier_name, offset)
    table_rows = []
    for r in rows:
        nxt = r.get("next_tier")
        table_rows.append(
            {
                "name": ui.Link(r["customer"].display_name, f"/customers/{r['customer'].id}"),
                "tier": ui.Badge(
                    L(r["title"] or r["tier"], r["title_fa"] or r["title"] or r["tier"]),
                    tone="success" if r["rank"] else "info",
                ),
                "progress": _progress_cell(r, currency),
                "next": L(nxt["text"], nxt["text_fa"]) if nxt and nxt["text"] else None,
                "downgrade": date.fromisoformat(r["downgrade_on"]) if r["downgrade_on"] else None,
                "grace": ui.Badge(L("in grace", "در مهلت"), "warning") if r["in_grace"] else None,
            }
        )
    table = ui.Table(
        columns=[
            ui.Column("name", L("Member", "عضو"), "link"),
            ui.Column("tier", L("Tier", "سطح"), "badge"),
            ui.Column("progress", L("Toward the next tier", "تا سطح بعد"), "progress"),
            ui.Column("next", L("Still needed", "مانده"), "text"),
            ui.Column("downgrade", L("Downgrade on", "تنزل در"), "date"),
            ui.Column("grace", L("Grace", "مهلت"), "badge"),
        ],
        rows=table_rows,
        total=total,
        more_href=(
            f"{PREFIX}/members?offset={offset + PAGE_SIZE}"
            + (f"&tier={tier_name}" if tier_name else "")
        )
        if offset + PAGE_SIZE < total
        else None,
        empty=L("No members yet.", "هنوز عضوی نیست."),
    )
    choose = Form(
        f"{PREFIX}/members",
        [
            Input(
                "tier",
                L("Tier", "سطح"),
                "select",
                tier_name or "",
                options=[("", L("All tiers", "همه سطح‌ها"))]
                + [(t.name, _title(t)) for t in ladder.tiers],
            )
        ],
        L("Show", "نمایش"),
        method="get",
        key="tier",
    )
    return page(
        ctx,
        L("Members and their tiers", "اعضا و سطحشان"),
        [Block(None, [table], forms=[choose], wide=True)],
    )


def api_ladder(ctx):
    from .service import currency_of, require_ladder

    ladder = require_ladder(ctx.uow)
    counts = _counts(ctx.uow)
    return {
        "currency": currency_of(ctx.uow),
        "tiers": [t.to_dict() | {"members": counts.get(t.name, 0)} for t in ladder.tiers],
    }


def api_members(ctx):
    from crmcore.api import ValidationError

    from .service import require_ladder

    require_ladder(ctx.uow)
    try:
        offset = max(int(ctx.query.get("offset") or 0), 0)
    except ValueError:
        raise ValidationError("offset is a whole number", field="offset") from None
    rows, total = member_rows(ctx, ctx.query.get("tier") or None, offset)
    return {
        "total": total,
        "offset": offset,
        "members": [{"customer_id": r.pop("customer").id, **r} for r in rows],
    }


def api_member(ctx):
    from crmcore.api import NotFound, check_customer

    from .profile import profile_section
    from .service import require_ladder

    require_ladder(ctx.uow)
    customer = ctx.uow.session.get(Customer, ctx.path_params["customer_id"])
    if customer is None or not customer.active:
        raise NotFound(f"no customer with id {ctx.path_params['customer_id']}", field="customer")
    check_customer(ctx.uow, customer)
    ctx.uow.may_read = lambda plugin: ctx.user.can("read", plugin)
    return {
        "customer_id": customer.id,
        "name": customer.display_name,
        **profile_section(ctx.uow, customer).data,
    }


def routes() -> list:
    from crmcore.api import WebRoute as R

    return [
        R("/", ladder_page, kind="page"),
        R("/members", members_page, kind="page"),
        R("/ladder", api_ladder, summary="The tier ladder with members per tier"),
        R(
            "/members",
            api_members,
            summary="Members with their tier, progress and downgrade day (?tier=&offset=)",
        ),
        R(
            "/members/{customer_id:int}",
            api_member,
            summary="One member's tier, progress and downgrade day (as crm tiers show --json)",
        ),
    ]


def menu() -> list:
    from crmcore.api import MenuItem

    return [MenuItem("Tiers", f"{PREFIX}/", label_fa="سطح‌های عضویت")]
