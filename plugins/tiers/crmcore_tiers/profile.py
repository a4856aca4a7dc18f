"""The tiers part of the customer profile, and the search fields ``tier`` and ``tier_rank``."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from crmcore.api import (
    Customer,
    Money,
    SearchField,
    ValidationError,
    compare,
    money_unit_of,
    normalize,
    to_ascii_digits,
    ui,
)

from .models import TierMember
from .qualify import TICK, Measurer, lapse_day, local_day, progress
from .service import change_to_dict, currency_of, get_member, history, ladder_of
from .texts import more_to

L = ui.Label
METRICS = {
    "points": L("Points", "امتیاز"),
    "purchases": L("Purchases", "تعداد خرید"),
    "spend": L("Spend", "مبلغ خرید"),
}
DIRECTIONS = {
    "join": (L("joined", "عضویت"), "info"),
    "up": (L("upgraded", "ارتقا"), "success"),
    "down": (L("downgraded", "تنزل"), "warning"),
    "merge": (L("merged", "ادغام"), "neutral"),
}


def _title(tier) -> ui.Label:
    return L(tier.title or tier.name, tier.title_fa or tier.title or tier.name)


def profile_section(uow, customer) -> ui.Panel | None:
    """The member's tier, benefits, progress and recent changes. Points are loyalty's data: a viewer
    who may not read loyalty sees the progress on the other criteria only, and the changes without
    their reasons."""
    points_shown = uow.may_read("loyalty")
    ladder = ladder_of(uow)
    if ladder is None:
        return None
    member = get_member(uow, customer.id)
    tier = (ladder.get(member.tier) if member else None) or ladder.base
    currency = currency_of(uow)
    now = uow.now()
    today = local_day(now, uow.app.timezone)
    m = Measurer(uow, customer.id, currency, uow.app.timezone)
    data = {
        "tier": tier.name,
        "title": tier.title,
        "title_fa": tier.title_fa,
        "rank": tier.rank,
        "member": member is not None,
        "since": member.since.isoformat() if member else None,
        "benefits": {
            "multiplier": str(tier.multiplier),
            "discount_percent": tier.discount_percent,
            "perks": list(tier.perks),
        },
        "next_tier": None,
        "reevaluated_on": None,
        "downgrade_on": None,
        "in_grace": bool(member and member.grace_until),
    }
    upper = ladder.next_above(tier.name)
    steps: list = []
    if upper is not None:
        steps = [
            s
            for s in progress(ladder, upper, m, now + TICK)
            if points_shown or s["metric"] != "points"
        ]
        text = text_fa = None
        if steps:
            closest = min(steps, key=lambda s: s["needed"] / max(s["threshold"], 1))
            text, text_fa = more_to(
                closest["metric"],
                closest["needed"],
                currency,
                upper.title,
                upper.title_fa,
                money_unit_of(uow),
            )
        data["next_tier"] = {
            "name": upper.name,
            "title": upper.title,
            "title_fa": upper.title_fa,
            "progress": steps,
            "text": text,
            "text_fa": text_fa,
        }
    if not tier.is_base:
        if member and member.grace_until:
            data["reevaluated_on"] = data["downgrade_on"] = member.grace_until.isoformat()
        else:
            lapse = lapse_day(ladder, tier, m, today) or today
            data["reevaluated_on"] = lapse.isoformat()
            data["downgrade_on"] = (lapse + timedelta(days=tier.grace_days)).isoformat()
    changes = history(uow, customer.id, limit=5, newest_first=True) if member else []
    if member:
        dicts = [change_to_dict(c) for c in changes]
        data["history"] = dicts if points_shown else [_without_points(c) for c in dicts]

    fields = [
        ui.Field(
            L("Tier", "سطح"), ui.Badge(_title(tier), tone="info" if tier.is_base else "success")
        )
    ]
    if member:
        fields.append(ui.Field(L("Member since", "عضو از"), member.since, kind="date"))
    if tier.multiplier != 1:
        fields.append(
            ui.Field(L("Points multiplier", "ضریب امتیاز"), tier.multiplier, kind="number")
        )
    if tier.discount_percent:
        fields.append(ui.Field(L("Discount", "تخفیف"), tier.discount_percent, kind="percent"))
    if tier.perks:
        fields.append(ui.Field(L("Perks", "مزایا"), list(tier.perks)))
    if data["downgrade_on"]:
        fields.append(
            ui.Field(L("Re-evaluated on", "بازبینی در"), date.fromisoformat(data["reevaluated_on"]))
        )
        fields.append(
            ui.Field(L("Downgrade on", "تنزل سطح در"), date.fromisoformat(data["downgrade_on"]))
        )
    if data["in_grace"]:
        fields.append(
            ui.Field(L("Status", "وضعیت"), ui.Badge(L("in grace", "در مهلت"), tone="warning"))
        )
    items: list = [ui.FieldList(fields)]
    if upper is not None:
        text, text_fa = data["next_tier"]["text"], data["next_tier"]["text_fa"]
        bars = []
        for step in steps:
            money = step["metric"] == "spend"
            value = Money(int(step["have"]), currency) if money else step["have"]
            goal = Money(int(step["threshold"]), currency) if money else step["threshold"]
            bars.append(
                ui.Progress(
                    METRICS.get(step["metric"], L(step["metric"])),
                    value,
                    goal,
                    kind="money" if money else "number",
                )
            )
        title = _title(upper)
        hint = [ui.Badge(L(text, text_fa))] if text else []
        items.append(ui.Section(L(f"Toward {title.en}", f"تا سطح {title.fa}"), bars + hint))
    if changes:
        items += [_change_entry(ladder, c) for c in changes]
    return ui.Panel(
        key="tiers", title=L("Membership tier", "سطح عضویت"), items=items, order=45, data=data
    )


def _without_points(change: dict) -> dict:
    """A tier change without the reason and evidence when they measured points."""
    evidence = change["details"].get("evidence")
    measured = evidence if isinstance(evidence, list) else [evidence] if evidence else []
    if any(e.get("metric") == "points" for e in measured):
        return {**change, "reason": None, "details": {}}
    return change


def _change_entry(ladder, change) -> ui.TimelineEntry:
    new = ladder.get(change.new_tier)
    title = _title(new) if new is not None else L(change.new_tier)
    kind, tone = DIRECTIONS.get(change.direction, (L(change.direction), "neutral"))
    return ui.TimelineEntry(change.occurred_at, title, kind=kind, tone=tone)


def _tier_condition(op: str, value: str, uow=None):
    """``tier=gold``, ``tier!=red``, and ordered comparisons along the ladder: ``tier>=silver``. A
    tier may be
    named by its name or its Persian or English title (``tier=طلایی``)."""
    wanted = normalize(value).strip().lower()
    ladder = ladder_of(uow) if uow is not None else None
    tier = None
    if ladder is not None:
        tier = next(
            (
                t
                for t in ladder.tiers
                if wanted
                in {normalize(t.name), normalize(t.title or ""), normalize(t.title_fa or "")}
            ),
            None,
        )
        if tier is None:
            known = ", ".join(t.name for t in ladder.tiers)
            raise ValidationError(f"unknown tier {value!r} (the ladder has: {known})", field="tier")
    name = tier.name if tier is not None else wanted
    if op in ("=", "!="):
        members = select(TierMember.customer_id).where(TierMember.tier == name)
        return Customer.id.in_(members) if op == "=" else Customer.id.not_in(members)
    if tier is None:
        raise ValidationError("comparing tiers needs a ladder in the loyalty program", field="tier")
    return Customer.id.in_(
        select(TierMember.customer_id).where(compare(TierMember.rank, op, tier.rank))
    )


def _rank_condition(op: str, value: str):
    try:
        rank = int(to_ascii_digits(value).strip())
    except ValueError:
        raise ValidationError(
            f"{value!r} is not a whole-number rank (see `crm tiers ladder`)", field="tier_rank"
        ) from None
    return Customer.id.in_(select(TierMember.customer_id).where(compare(TierMember.rank, op, rank)))


def _tier_choices(uow) -> list[tuple[str, str, str | None]]:
    ladder = ladder_of(uow)
    return [(t.name, t.title, t.title_fa) for t in ladder.tiers] if ladder is not None else []


SEARCH_FIELDS = [
    SearchField(
        name="tier",
        description="membership tier by name or title, or along the ladder (tier>=silver)",
        condition=_tier_condition,
        ops=("=", "!=", ">", ">=", "<", "<="),
        with_uow=True,
        choices=_tier_choices,
        label="Tier",
        label_fa="سطح عضویت",
    ),
    SearchField(
        name="tier_rank",
        description="membership tier rank (tier_rank>=1: silver and above)",
        condition=_rank_condition,
        type="int",
        ops=("=", "!=", ">", ">=", "<", "<="),
    ),
]


def summary_badge(uow, customer) -> list:
    """The member's tier as a badge beside the name on the customer page."""
    ladder = ladder_of(uow)
    if ladder is None:
        return []
    member = get_member(uow, customer.id)
    tier = (ladder.get(member.tier) if member else None) or ladder.base
    return [ui.Badge(_title(tier), tone="info" if tier.is_base else "success")]


def timeline_entries(uow, customer, before, limit: int) -> list:
    """The member's tier changes for the unified timeline."""
    from .models import TierChange

    ladder = ladder_of(uow)
    if ladder is None:
        return []
    q = select(TierChange).where(TierChange.customer_id == customer.id)
    if before is not None:
        q = q.where(TierChange.occurred_at < before)
    q = q.order_by(TierChange.occurred_at.desc(), TierChange.id.desc()).limit(limit)
    return [_timeline_entry(ladder, c) for c in uow.session.scalars(q)]


def _timeline_entry(ladder, change) -> ui.TimelineEntry:
    new = ladder.get(change.new_tier)
    title = _title(new) if new is not None else L(change.new_tier)
    word, tone = DIRECTIONS.get(change.direction, (L(change.direction), "neutral"))
    return ui.TimelineEntry(
        change.occurred_at, title, kind=L("tier", "سطح"), tone=tone, detail=word
    )


def list_badges(uow, customer_ids: list[int]) -> dict[int, ui.Badge]:
    """Each member's tier beside the name in the customer list (``crm_web_customer_badges``):
    one query for the page; customers who are not members get none (no row of base tiers)."""
    ladder = ladder_of(uow)
    if ladder is None:
        return {}
    out = {}
    for cid, code in uow.session.execute(
        select(TierMember.customer_id, TierMember.tier).where(
            TierMember.customer_id.in_(customer_ids)
        )
    ):
        tier = ladder.get(code)
        if tier is not None:
            out[cid] = ui.Badge(_title(tier), tone="info" if tier.is_base else "success")
    return out
