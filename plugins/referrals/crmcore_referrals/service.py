"""Referrals: attaching a friend to the member who brought them (with the abuse checks), qualifying on the
friend's purchases, rewarding up to the program's levels under the monthly cap, reversing on refunds.

Every function takes the unit of work first. Refusals are one-line :class:`ValidationError` s that say
which check refused and why; nothing is stored then.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, literal, select

from crmcore.api import (
    Customer,
    CustomerEmail,
    CustomerPhone,
    Interaction,
    NotFound,
    ValidationError,
    jalali_month_key,
    to_local,
)

from . import codes
from . import program as programs
from .models import Referral, ReferralReward

SOURCES = ("signup", "staff", "form", "import")
MAX_CHAIN = 64  # a chain is walked at most this far looking for a cycle (levels are at most 3)


def code_of(uow, customer_id: int) -> str:
    return codes.encode(codes.code_key(uow), customer_id)


def referrer_of_code(uow, code: str) -> Customer:
    """The active customer a code belongs to (following merges); refuses unknown and expired codes."""
    customer_id = codes.decode(codes.code_key(uow), code)
    customer = uow.session.get(Customer, customer_id)
    seen = 0
    while customer is not None and customer.merged_into_id is not None and seen < MAX_CHAIN:
        customer, seen = uow.session.get(Customer, customer.merged_into_id), seen + 1
    if customer is None:
        raise ValidationError(f"unknown referral code {code!r}", field="code")
    if customer.forgotten_at is not None:
        raise ValidationError(
            f"referral code {code!r} has expired: its member left the club", field="code"
        )
    return customer


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _phones(uow, customer_id: int) -> set[str]:
    return set(
        uow.session.scalars(
            select(CustomerPhone.e164).where(CustomerPhone.customer_id == customer_id)
        )
    )


def _emails(uow, customer_id: int) -> set[str]:
    return set(
        uow.session.scalars(
            select(CustomerEmail.email).where(CustomerEmail.customer_id == customer_id)
        )
    )


def referral_of(uow, friend_id: int) -> Referral | None:
    return uow.session.scalar(select(Referral).where(Referral.friend_id == friend_id))


def chain(uow, customer_id: int, depth: int) -> list[int]:
    """The referrers above ``customer_id``, nearest first, at most ``depth`` of them."""
    found: list[int] = []
    current = customer_id
    while len(found) < depth:
        above = uow.session.scalar(
            select(Referral.referrer_id).where(Referral.friend_id == current)
        )
        if above is None or above in found:
            break
        found.append(above)
        current = above
    return found


def _check(
    uow,
    friend: Customer,
    referrer: Customer,
    *,
    source: str,
    device: str | None,
    now: datetime,
    prog: programs.Program,
) -> None:
    name = friend.display_name
    if friend.id == referrer.id:
        raise ValidationError("a member cannot use their own referral code", field="code")
    existing = referral_of(uow, friend.id)
    if existing is not None:
        raise ValidationError(
            f"{name} was already referred by customer {existing.referrer_id}", field="friend"
        )
    shared = _phones(uow, friend.id) & _phones(uow, referrer.id)
    if shared:
        raise ValidationError(
            f"self-referral: {name} and the referrer share the phone {sorted(shared)[0]}",
            field="code",
        )
    shared = _emails(uow, friend.id) & _emails(uow, referrer.id)
    if shared:
        raise ValidationError(
            f"self-referral: {name} and the referrer share the email {sorted(shared)[0]}",
            field="code",
        )
    for reason in uow.call("referrals_same_household", first=friend, second=referrer):
        if reason:
            raise ValidationError(
                f"self-referral: {name} and the referrer are in {reason}", field="code"
            )
    if friend.id in chain(uow, referrer.id, MAX_CHAIN):
        raise ValidationError(
            f"a referral cycle: {name} already stands above the referrer", field="code"
        )
    if source == "staff":
        joined = friend.created_at
        if now - joined > timedelta(days=prog.attach_window_days):
            raise ValidationError(
                f"{name} joined on {joined.date().isoformat()}, more than "
                f"{prog.attach_window_days} days ago: only new customers can be referred",
                field="friend",
            )
    bought = uow.session.scalar(
        select(
            exists().where(
                Interaction.customer_id == friend.id,
                Interaction.kind == "purchase",
                Interaction.occurred_at < now,
            )
        )
    )
    if bought:
        raise ValidationError(
            f"{name} was already a customer (bought before being referred)", field="friend"
        )
    digests = [_digest(p) for p in sorted(_phones(uow, friend.id))]
    if digests:
        reused = uow.session.scalar(
            select(func.count()).select_from(Referral).where(Referral.phone_digest.in_(digests))
        )
        if reused:
            raise ValidationError(
                f"the phone of {name} was already used by another referred friend", field="friend"
            )
    if device:
        same = uow.session.scalar(
            select(func.count()).select_from(Referral).where(Referral.device == device)
        )
        if same >= prog.max_friends_per_device:
            raise ValidationError(
                f"{same} friends already signed up from this device "
                f"(the program allows {prog.max_friends_per_device})",
                field="device",
            )


def attach(
    uow,
    friend: Customer,
    code: str,
    *,
    source: str = "staff",
    device: str | None = None,
    check_only: bool = False,
) -> Referral | None:
    """Attach ``friend`` to the owner of ``code`` after every abuse check; emits
    ``referrals_referral_attached``. ``device``: the web form's fingerprint (stored as a digest)."""
    if source not in SOURCES:
        raise ValueError(f"unknown referral source {source!r}")
    referrer = referrer_of_code(uow, code)
    prog = programs.active(uow)
    now = uow.now()
    device_digest = _digest(device) if device else None
    with uow.session.no_autoflush:  # the checks read committed rows; one flush for the new referral
        _check(uow, friend, referrer, source=source, device=device_digest, now=now, prog=prog)
    if check_only:
        return None
    phones = sorted(_phones(uow, friend.id))
    referral = Referral(
        friend_id=friend.id,
        referrer_id=referrer.id,
        code=codes.encode(codes.code_key(uow), referrer.id),
        source=source,
        attached_at=now,
        attached_by=uow.actor,
        device=device_digest,
        phone_digest=_digest(phones[0]) if phones else None,
        status="pending",
        spent_minor=0,
    )
    uow.session.add(referral)
    uow.session.flush()
    uow.audit(
        "attach",
        "referral",
        str(referral.id),
        {"friend": friend.id, "referrer": referrer.id, "source": source},
    )
    uow.emit(
        "referrals_referral_attached",
        customer_id=friend.id,
        data=referral_to_dict(referral),
        referral=referral,
        friend=friend,
        referrer=referrer,
    )
    return referral


def referral_to_dict(r: Referral) -> dict[str, Any]:
    return {
        "id": r.id,
        "friend_id": r.friend_id,
        "referrer_id": r.referrer_id,
        "code": r.code,
        "source": r.source,
        "attached_at": r.attached_at.isoformat(),
        "status": r.status,
        "qualified_at": r.qualified_at.isoformat() if r.qualified_at else None,
        "interaction_id": r.interaction_id,
    }


def reward_to_dict(w: ReferralReward) -> dict[str, Any]:
    return {
        "id": w.id,
        "referral_id": w.referral_id,
        "beneficiary_id": w.beneficiary_id,
        "role": w.role,
        "level": w.level,
        "points": w.points,
        "status": w.status,
        "note": w.note,
        "earned_at": w.earned_at.isoformat(),
        "month": w.month,
        "interaction_id": w.interaction_id,
        "program_version": w.program_version,
    }


def _locked_referral(uow, friend_id: int) -> Referral | None:
    """The friend's referral row, locked for this transaction (PostgreSQL; SQLite writes are serialised
    by BEGIN IMMEDIATE), so two purchases of one friend at once qualify it once."""
    return uow.session.scalar(
        select(Referral)
        .where(Referral.friend_id == friend_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def _in_window(referral: Referral, moment: datetime, prog: programs.Program) -> bool:
    if moment < referral.attached_at:
        return False
    return prog.event == "first_purchase" or moment < referral.attached_at + timedelta(
        days=prog.within_days
    )


def on_purchase(uow, interaction: Interaction, customer: Customer) -> list[ReferralReward]:
    """Qualify the buyer's pending referral if this purchase meets the program; reward once."""
    referral = _locked_referral(uow, customer.id)
    if referral is None or referral.status != "pending":
        return []
    prog = programs.active(uow)
    amount = interaction.amount_minor or 0
    if (interaction.currency or "IRR") != prog.currency:
        return []
    if not _in_window(referral, interaction.occurred_at, prog):
        return []
    if prog.event == "spend":
        referral.spent_minor = (referral.spent_minor or 0) + amount
        if referral.spent_minor < prog.min_amount_minor:
            return []
    elif amount < prog.min_amount_minor:
        return []
    referral.status = "qualified"
    referral.qualified_at = interaction.occurred_at
    referral.interaction_id = interaction.id
    referral.program_version = prog.version
    return _reward(uow, referral, interaction, customer, prog)


def _reward(
    uow, referral: Referral, interaction: Interaction, friend: Customer, prog: programs.Program
) -> list[ReferralReward]:
    month = jalali_month_key(to_local(interaction.occurred_at, uow.app.timezone).date())
    plan: list[tuple[int, str, int, int]] = []
    if prog.friend_points:
        plan.append((friend.id, "friend", 0, prog.friend_points))
    for level, referrer_id in enumerate(
        [referral.referrer_id, *chain(uow, referral.referrer_id, prog.levels - 1)], 1
    ):
        points = prog.referrer_reward(level)
        if points:
            plan.append((referrer_id, "referrer", level, points))
    rewards = []
    for beneficiary_id, role, level, points in plan:
        status, note = "earned", ""
        if role == "referrer" and prog.monthly_cap:
            used = uow.session.scalar(
                select(func.count())
                .select_from(ReferralReward)
                .where(
                    ReferralReward.beneficiary_id == beneficiary_id,
                    ReferralReward.role == "referrer",
                    ReferralReward.month == month,
                    ReferralReward.status.in_(("earned", "reversed")),
                )
            )
            if used >= prog.monthly_cap:
                status, note = "capped", f"monthly cap of {prog.monthly_cap} friends reached"
                points = 0
        reward = ReferralReward(
            referral_id=referral.id,
            beneficiary_id=beneficiary_id,
            role=role,
            level=level,
            points=points,
            status=status,
            note=note,
            earned_at=interaction.occurred_at,
            month=month,
            interaction_id=interaction.id,
            amount_minor=interaction.amount_minor or 0,
            currency=interaction.currency or prog.currency,
            program_version=prog.version,
        )
        uow.session.add(reward)
        rewards.append(reward)
    uow.session.flush()
    loyalty = _loyalty(uow)
    for reward in rewards:
        beneficiary = uow.session.get(Customer, reward.beneficiary_id)
        if loyalty is not None and reward.points:
            loyalty.credit(
                uow,
                reward.beneficiary_id,
                reward.points,
                kind="referral",
                reason=f"referral of customer {friend.id}",
                key=_key(reward),
                ref=f"referral:{referral.id}",
                interaction_id=interaction.id,
                occurred_at=interaction.occurred_at,
            )
        uow.emit(
            "referrals_reward_earned",
            customer_id=reward.beneficiary_id,
            data=reward_to_dict(reward),
            reward=reward,
            beneficiary=beneficiary,
            friend=friend,
        )
    return rewards


def _key(reward: ReferralReward) -> str:
    return f"referral:{reward.referral_id}:{reward.role}:{reward.level}"


def _loyalty(uow):
    if not uow.has_plugin("loyalty"):
        return None
    from crmcore_loyalty import api as loyalty  # optional dependency: imported only when enabled

    return loyalty


def on_refund(uow, refund: Interaction) -> list[ReferralReward]:
    """Reverse a referral's rewards when a refund brings what qualified it below the program's amount."""
    if refund.related_id is None:
        return []
    purchase = uow.session.get(Interaction, refund.related_id)
    if purchase is None:
        return []
    referral = _locked_referral(uow, purchase.customer_id)
    if referral is None or referral.status == "reversed":
        return []
    prog = (
        programs.active(uow)
        if referral.program_version is None
        else programs.version(uow, referral.program_version)
    )
    if (purchase.currency or "IRR") != prog.currency or not _in_window(
        referral, purchase.occurred_at, prog
    ):
        return []
    refunded = min(refund.amount_minor or 0, purchase.amount_minor or 0)
    if prog.event == "spend":
        referral.spent_minor = (referral.spent_minor or 0) - refunded
        still = referral.spent_minor >= prog.min_amount_minor
    else:
        if purchase.id != referral.interaction_id:
            return []
        total = uow.session.scalar(
            select(func.coalesce(func.sum(Interaction.amount_minor), 0)).where(
                Interaction.kind == "refund", Interaction.related_id == purchase.id
            )
        )
        still = (purchase.amount_minor or 0) - total >= prog.min_amount_minor
    if referral.status != "qualified" or still:
        return []
    return reverse(uow, referral, refund)


def reverse(uow, referral: Referral, refund: Interaction) -> list[ReferralReward]:
    rewards = list(
        uow.session.scalars(
            select(ReferralReward).where(
                ReferralReward.referral_id == referral.id, ReferralReward.status != "reversed"
            )
        )
    )
    referral.status = "reversed"
    loyalty = _loyalty(uow)
    for reward in rewards:
        reward.status = "reversed"
        reward.reversed_at = refund.occurred_at
        if loyalty is not None and reward.points:
            loyalty.take_back(
                uow,
                reward.beneficiary_id,
                reward.points,
                kind="referral_reverse",
                reason=f"refund {refund.id} of a referral's qualifying purchase",
                key=f"reverse:{_key(reward)}",
                ref=f"referral:{referral.id}",
                interaction_id=refund.id,
                occurred_at=refund.occurred_at,
            )
        uow.emit(
            "referrals_reward_reversed",
            customer_id=reward.beneficiary_id,
            data=reward_to_dict(reward),
            reward=reward,
            beneficiary=uow.session.get(Customer, reward.beneficiary_id),
        )
    return rewards


def summary(uow, customer_id: int) -> dict[str, Any]:
    """A member's side of the network: code, who brought them, whom they brought, rewards."""
    referral = referral_of(uow, customer_id)
    friends = uow.session.execute(
        select(Referral.status, func.count())
        .where(Referral.referrer_id == customer_id)
        .group_by(Referral.status)
    ).all()
    rewards = uow.session.execute(
        select(
            ReferralReward.status, func.count(), func.coalesce(func.sum(ReferralReward.points), 0)
        )
        .where(ReferralReward.beneficiary_id == customer_id)
        .group_by(ReferralReward.status)
    ).all()
    by_status = {s: n for s, n in friends}
    earned = {s: (n, p) for s, n, p in rewards}
    return {
        "customer_id": customer_id,
        "code": code_of(uow, customer_id),
        "referred_by": referral.referrer_id if referral else None,
        "referral": referral_to_dict(referral) if referral else None,
        "friends": sum(by_status.values()),
        "friends_qualified": by_status.get("qualified", 0),
        "friends_pending": by_status.get("pending", 0),
        "rewards": sum(n for n, _ in earned.values()),
        "points_earned": int(earned.get("earned", (0, 0))[1]),
        "rewards_capped": earned.get("capped", (0, 0))[0],
        "rewards_reversed": earned.get("reversed", (0, 0))[0],
    }


def network(uow, customer_id: int, *, depth: int = 3, limit: int = 50) -> dict[str, Any]:
    """Who a member brought, to ``depth`` levels: counts per level and the nearest ``limit`` friends.

    One recursive query over the referrer index, so a member with 10,000 descendants costs one statement
    (plugins/referrals/benchmarks/network.py)."""
    if not 1 <= depth <= 10:
        raise ValidationError("depth must be between 1 and 10", field="depth")
    if uow.session.get(Customer, customer_id) is None:
        raise NotFound(f"no customer {customer_id}", field="customer")
    tree = (
        select(
            Referral.friend_id.label("friend_id"),
            Referral.referrer_id.label("referrer_id"),
            literal(1).label("level"),
            Referral.status.label("status"),
        )
        .where(Referral.referrer_id == customer_id)
        .cte("tree", recursive=True)
    )
    below = (
        select(Referral.friend_id, Referral.referrer_id, (tree.c.level + 1), Referral.status)
        .join(tree, Referral.referrer_id == tree.c.friend_id)
        .where(tree.c.level < depth)
    )
    tree = tree.union_all(below)
    levels = uow.session.execute(
        select(tree.c.level, tree.c.status, func.count())
        .group_by(tree.c.level, tree.c.status)
        .order_by(tree.c.level)
    ).all()
    per_level: dict[int, dict[str, int]] = {}
    for level, status, count in levels:
        per_level.setdefault(level, {"pending": 0, "qualified": 0, "reversed": 0})[status] = count
    nearest: list[tuple] = []
    frontier = [customer_id]
    for level in range(1, depth + 1):  # breadth first, each level an indexed query cut at the limit
        if len(nearest) >= limit or not frontier:
            break
        rows = uow.session.execute(
            select(
                Referral.friend_id,
                Referral.referrer_id,
                literal(level),
                Referral.status,
                Customer.display_name,
            )
            .join(Customer, Customer.id == Referral.friend_id)
            .where(Referral.referrer_id.in_(frontier))
            .order_by(Referral.friend_id)
            .limit(limit - len(nearest))
        ).all()
        nearest += rows
        frontier = [r[0] for r in rows]
    total = sum(sum(v.values()) for v in per_level.values())
    return {
        "customer_id": customer_id,
        "depth": depth,
        "total": total,
        "levels": [
            {"level": lv, "people": sum(c.values()), **c} for lv, c in sorted(per_level.items())
        ],
        "people": [
            {"customer_id": f, "name": n, "brought_by": r, "level": lv, "status": s}
            for f, r, lv, s, n in nearest
        ],
        "shown": len(nearest),
    }


def simulate(
    prog: programs.Program,
    amounts_minor: list[int],
    *,
    chain_length: int = 1,
    monthly_used: int = 0,
) -> dict[str, Any]:
    """What a friend's purchases (in order) would earn under ``prog``, without touching the database."""
    spent, qualified_at = 0, None
    for i, amount in enumerate(amounts_minor):
        if prog.event == "spend":
            spent += amount
            if spent >= prog.min_amount_minor:
                qualified_at = i
                break
        elif amount >= prog.min_amount_minor:
            qualified_at = i
            break
    rewards = []
    if qualified_at is not None:
        if prog.friend_points:
            rewards.append(
                {"role": "friend", "level": 0, "points": prog.friend_points, "status": "earned"}
            )
        for level in range(1, min(prog.levels, chain_length) + 1):
            points = prog.referrer_reward(level)
            if not points:
                continue
            capped = bool(prog.monthly_cap) and monthly_used >= prog.monthly_cap
            rewards.append(
                {
                    "role": "referrer",
                    "level": level,
                    "points": 0 if capped else points,
                    "status": "capped" if capped else "earned",
                }
            )
    return {
        "qualifies": qualified_at is not None,
        "purchase": None if qualified_at is None else qualified_at + 1,
        "rewards": rewards,
    }


def share_text(uow, customer: Customer, prog: programs.Program) -> str:
    """What a member sends a friend (Persian; the program's share link when it has one)."""
    code = code_of(uow, customer.id)
    link = prog.share_link.replace("{code}", code.replace("-", "")) if prog.share_link else ""
    text = f"با کد معرف {code} عضو باشگاه مشتریان ما شوید."
    return f"{text} {link}" if link else text


def list_referrals(
    uow, *, referrer_id: int | None = None, status: str | None = None, limit: int = 50
) -> tuple[list[dict[str, Any]], int]:
    """Referrals newest first (at most ``limit``) and how many there are in all."""
    from sqlalchemy.orm import aliased

    friend, referrer = aliased(Customer), aliased(Customer)
    where = []
    if referrer_id is not None:
        where.append(Referral.referrer_id == referrer_id)
    if status is not None:
        where.append(Referral.status == status)
    total = uow.session.scalar(select(func.count()).select_from(Referral).where(*where))
    rows = uow.session.execute(
        select(Referral, friend.display_name, referrer.display_name)
        .join(friend, friend.id == Referral.friend_id)
        .join(referrer, referrer.id == Referral.referrer_id)
        .where(*where)
        .order_by(Referral.attached_at.desc(), Referral.id.desc())
        .limit(limit)
    ).all()
    return [
        {**referral_to_dict(r), "friend_name": f, "referrer_name": n} for r, f, n in rows
    ], total
