"""Rewards (from the program's ``[[rewards]]``), redemption, and vouchers unique to their member.

A redemption checks the reward's availability dates and limits (per member and global), debits its cost (or,
for ``points_payment``, the points the member chooses to pay with), and issues a voucher code that only that
member can use, valid for ``valid_days``. Vouchers are used once; the ``loyalty.expiry`` job marks the
out-of-date ones expired.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from crmcore.api import Conflict, Customer, Interaction, NotFound, ValidationError, format_datetime

from .accrual import local_day
from .ledger import customer_or_404, debit, lock_account
from .models import LoyaltyProgram, LoyaltyRedemption, LoyaltyVoucher
from .program import Program, Reward
from .programs import active_program

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def find_reward(program: Program, code: str) -> Reward:
    reward = program.rewards.get(code)
    if reward is None:
        known = ", ".join(program.rewards) or "none: load a program with [[rewards]]"
        raise NotFound(
            f"no reward {code!r} in program version {program.version} (rewards: {known})",
            field="reward",
        )
    return reward


def _check_available(uow, reward: Reward) -> None:
    today = local_day(uow.now(), uow.app.timezone)
    if reward.available_until is not None and today > reward.available_until:
        raise ValidationError(
            f"the reward {reward.code!r} expired on {reward.available_until}", field="reward"
        )
    if reward.available_from is not None and today < reward.available_from:
        raise ValidationError(
            f"the reward {reward.code!r} is available from {reward.available_from}", field="reward"
        )


def _check_limits(uow, customer_id: int, reward: Reward, program: Program) -> None:
    session = uow.session
    if reward.global_limit is not None:
        # one row every redeemer of this program locks, so two members cannot both take the last one
        session.scalar(
            select(LoyaltyProgram.id)
            .where(LoyaltyProgram.version == program.version)
            .with_for_update()
        )
        taken = session.scalar(
            select(func.count())
            .select_from(LoyaltyRedemption)
            .where(
                LoyaltyRedemption.reward_code == reward.code, LoyaltyRedemption.source == "redeem"
            )
        )
        if taken >= reward.global_limit:
            raise ValidationError(
                f"the reward {reward.code!r} is sold out ({reward.global_limit} redeemed)",
                field="reward",
            )
    if reward.per_customer_limit is not None:
        mine = session.scalar(
            select(func.count())
            .select_from(LoyaltyRedemption)
            .where(
                LoyaltyRedemption.reward_code == reward.code,
                LoyaltyRedemption.customer_id == customer_id,
                LoyaltyRedemption.source == "redeem",
            )
        )
        if mine >= reward.per_customer_limit:
            raise ValidationError(
                f"customer {customer_id} already redeemed {reward.code!r} {mine} time(s), "
                f"the limit per member",
                field="reward",
            )


def new_voucher_code(uow) -> str:
    while True:
        raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        code = f"LY-{raw[:4]}-{raw[4:]}"
        if uow.session.scalar(select(LoyaltyVoucher.id).where(LoyaltyVoucher.code == code)) is None:
            return code


def _issue_voucher(
    uow,
    redemption: LoyaltyRedemption,
    reward: Reward,
    program: Program,
    points_paid: int,
    at: datetime | None = None,
) -> LoyaltyVoucher:
    """``at``: when it was earned (imported history: the purchase's time); valid from then, and
    recorded as expired if that validity is already over."""
    now = uow.now() if at is None else at
    amount = reward.amount_minor
    if reward.kind == "points_payment":
        amount = points_paid * program.point_value_minor
    voucher = LoyaltyVoucher(
        code=new_voucher_code(uow),
        customer_id=redemption.customer_id,
        redemption_id=redemption.id,
        reward_code=reward.code,
        kind=reward.kind,
        percent=reward.percent,
        amount_minor=amount,
        currency=program.currency if amount is not None else None,
        sku=reward.sku,
        issued_at=now,
        valid_until=now + timedelta(days=reward.valid_days) if reward.valid_days else None,
        status="active",
    )
    voucher.status = _effective_status(voucher, uow.now())
    uow.session.add(voucher)
    uow.session.flush()
    return voucher


def _repeat(uow, key: str | None, customer_id: int, code: str) -> LoyaltyRedemption | None:
    if key is None:
        return None
    found = uow.session.scalar(select(LoyaltyRedemption).where(LoyaltyRedemption.key == key))
    if found is not None and (found.customer_id != customer_id or found.reward_code != code):
        raise Conflict(
            f"the idempotency key {key!r} was already used for redemption {found.id} "
            f"({found.reward_code} for customer {found.customer_id})",
            field="key",
        )
    return found


def redeem_reward(
    uow, customer_id: int, code: str, *, points: int | None = None, key: str | None = None
) -> LoyaltyRedemption:
    """Spend points on the reward ``code`` and issue its voucher. ``points`` only for ``points_payment``."""
    lock_account(uow, customer_id)
    repeated = _repeat(uow, key, customer_id, code)
    if repeated is not None:
        return repeated
    program = active_program(uow)
    reward = find_reward(program, code)
    _check_available(uow, reward)
    if reward.kind == "points_payment":
        if points is None:
            raise ValidationError(
                f"say how many points to pay with (at least {reward.min_points})", field="points"
            )
        if isinstance(points, bool) or not isinstance(points, int) or points < reward.min_points:
            raise ValidationError(
                f"pay with at least {reward.min_points} points, not {points}", field="points"
            )
        cost = points
    else:
        if points is not None and points != reward.cost:
            raise ValidationError(
                f"the reward {code!r} costs {reward.cost} points; --points is only for paying "
                f"part of a purchase",
                field="points",
            )
        cost = reward.cost
    _check_limits(uow, customer_id, reward, program)
    redemption = LoyaltyRedemption(
        customer_id=customer_id,
        reward_code=code,
        points=cost,
        program_version=program.version,
        redeemed_at=uow.now(),
        key=key,
        source="redeem",
    )
    uow.session.add(redemption)
    uow.session.flush()
    if cost:
        entry = debit(
            uow,
            customer_id,
            cost,
            kind="redeem",
            reason=f"reward {code}",
            ref=f"redemption:{redemption.id}",
            key=f"redemption:{redemption.id}",
            program=program,
        )
        redemption.entry_id = entry.id
    voucher = _issue_voucher(uow, redemption, reward, program, cost)
    _announce(uow, redemption, voucher)
    return redemption


def grant_reward(
    uow,
    customer_id: int,
    code: str,
    *,
    key: str,
    program: Program,
    source: str = "threshold",
    at: datetime | None = None,
) -> LoyaltyRedemption:
    """Give a reward without spending points (spending thresholds). Repeated ``key``: the first
    grant. ``at``: when it was earned, if not now (imported history): its voucher's validity runs
    from then."""
    repeated = _repeat(uow, key, customer_id, code)
    if repeated is not None:
        return repeated
    reward = find_reward(program, code)
    redemption = LoyaltyRedemption(
        customer_id=customer_id,
        reward_code=code,
        points=0,
        program_version=program.version,
        redeemed_at=at or uow.now(),
        key=key,
        source=source,
    )
    uow.session.add(redemption)
    uow.session.flush()
    voucher = _issue_voucher(uow, redemption, reward, program, 0, at)
    _announce(uow, redemption, voucher)
    return redemption


def _announce(uow, redemption: LoyaltyRedemption, voucher: LoyaltyVoucher) -> None:
    customer = uow.session.get(Customer, redemption.customer_id)
    uow.emit(
        "loyalty_reward_redeemed",
        customer_id=redemption.customer_id,
        data=redemption_to_dict(redemption, voucher),
        customer=customer,
        redemption=redemption,
    )


# -- vouchers ----------------------------------------------------------------------------------------------
def voucher_of(uow, redemption: LoyaltyRedemption) -> LoyaltyVoucher | None:
    return uow.session.scalar(
        select(LoyaltyVoucher).where(LoyaltyVoucher.redemption_id == redemption.id)
    )


def get_voucher(uow, code: str) -> LoyaltyVoucher:
    norm = (code or "").strip().upper()
    voucher = uow.session.scalar(select(LoyaltyVoucher).where(LoyaltyVoucher.code == norm))
    if voucher is None:
        raise NotFound(f"no voucher with code {code!r}", field="voucher")
    return voucher


def _effective_status(voucher: LoyaltyVoucher, now: datetime) -> str:
    if (
        voucher.status == "active"
        and voucher.valid_until is not None
        and voucher.valid_until <= now
    ):
        return "expired"
    return voucher.status


def _shown(uow, moment: datetime) -> str:
    return format_datetime(moment, uow.app.calendar, tz=uow.app.timezone)


def use_voucher(
    uow, code: str, *, customer_id: int | None = None, interaction_id: int | None = None
) -> LoyaltyVoucher:
    """Mark a voucher used (once), by its own member, before it expires."""
    voucher = get_voucher(uow, code)
    now = uow.now()
    if customer_id is not None and voucher.customer_id != customer_id:
        raise ValidationError(
            f"voucher {voucher.code} belongs to another customer", field="voucher"
        )
    status = _effective_status(voucher, now)
    if status == "used":
        raise Conflict(
            f"voucher {voucher.code} was already used on {_shown(uow, voucher.used_at)}",
            field="voucher",
        )
    if status == "expired":
        raise ValidationError(
            f"voucher {voucher.code} expired on {_shown(uow, voucher.valid_until)}", field="voucher"
        )
    if interaction_id is not None:
        purchase = uow.session.get(Interaction, interaction_id)
        if purchase is None or purchase.kind != "purchase":
            raise NotFound(f"no purchase with id {interaction_id}", field="purchase")
        if purchase.customer_id != voucher.customer_id:
            raise ValidationError(
                f"purchase {interaction_id} belongs to another customer", field="purchase"
            )
    voucher.status = "used"
    voucher.used_at = now
    voucher.used_interaction_id = interaction_id
    uow.emit(
        "loyalty_voucher_used", customer_id=voucher.customer_id, data=voucher_to_dict(voucher, now)
    )
    return voucher


def expire_vouchers(uow, now: datetime) -> int:
    due = list(
        uow.session.scalars(
            select(LoyaltyVoucher).where(
                LoyaltyVoucher.status == "active",
                LoyaltyVoucher.valid_until.is_not(None),
                LoyaltyVoucher.valid_until <= now,
            )
        )
    )
    for voucher in due:
        voucher.status = "expired"
    return len(due)


def customer_vouchers(uow, customer_id: int) -> list[LoyaltyVoucher]:
    customer_or_404(uow, customer_id)
    return list(
        uow.session.scalars(
            select(LoyaltyVoucher)
            .where(LoyaltyVoucher.customer_id == customer_id)
            .order_by(LoyaltyVoucher.issued_at.desc(), LoyaltyVoucher.id.desc())
        )
    )


def voucher_to_dict(v: LoyaltyVoucher, now: datetime | None = None) -> dict[str, Any]:
    return {
        "code": v.code,
        "customer_id": v.customer_id,
        "reward": v.reward_code,
        "kind": v.kind,
        "percent": v.percent,
        "amount": str(v.amount_minor) if v.amount_minor is not None else None,
        "currency": v.currency,
        "sku": v.sku,
        "issued_at": v.issued_at.isoformat(),
        "valid_until": v.valid_until.isoformat() if v.valid_until else None,
        "status": _effective_status(v, now) if now else v.status,
        "used_at": v.used_at.isoformat() if v.used_at else None,
        "used_purchase": v.used_interaction_id,
    }


def redemption_to_dict(
    r: LoyaltyRedemption, voucher: LoyaltyVoucher | None = None
) -> dict[str, Any]:
    return {
        "id": r.id,
        "customer_id": r.customer_id,
        "reward": r.reward_code,
        "points": r.points,
        "entry_id": r.entry_id,
        "program_version": r.program_version,
        "redeemed_at": r.redeemed_at.isoformat(),
        "source": r.source,
        "voucher": voucher.code if voucher else None,
    }
