"""Helpers of the referrals tests."""

from crmcore_referrals import program, service

from crmcore.api import get_customer

PROGRAM = """
[program]
name = "test"
levels = {levels}
attach_window_days = 14
max_friends_per_device = 2

[qualify]
event = "{event}"
min_amount = "{min_amount}"
currency = "IRR"
within_days = 30

[rewards]
referrer = {referrer}
friend = {friend}
monthly_cap = {cap}
"""


def load_rules(
    app,
    *,
    levels=1,
    event="first_purchase",
    min_amount="500000",
    referrer="[1000]",
    friend=500,
    cap=0,
):
    text = PROGRAM.format(
        levels=levels, event=event, min_amount=min_amount, referrer=referrer, friend=friend, cap=cap
    )
    with app.unit_of_work() as uow:
        return program.load(uow, text)[0]


def code(app, customer_id: int) -> str:
    with app.unit_of_work(readonly=True) as uow:
        return service.code_of(uow, customer_id)


def attach(app, friend_id: int, referrer_id: int, *, source="staff", device=None):
    with app.unit_of_work() as uow:
        friend = get_customer(uow.session, friend_id)
        return service.attach(
            uow, friend, service.code_of(uow, referrer_id), source=source, device=device
        ).id


def rewards(app, **where):
    from crmcore_referrals.models import ReferralReward
    from sqlalchemy import select

    with app.unit_of_work(readonly=True) as uow:
        q = select(ReferralReward).order_by(ReferralReward.id)
        for k, v in where.items():
            q = q.where(getattr(ReferralReward, k) == v)
        return [
            (r.beneficiary_id, r.role, r.level, r.points, r.status) for r in uow.session.scalars(q)
        ]


def balance(app, cid: int) -> int:
    from crmcore_loyalty import api as loyalty

    with app.unit_of_work(readonly=True) as uow:
        return loyalty.balance(uow, cid)
