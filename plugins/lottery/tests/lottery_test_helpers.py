"""Shared helpers of the lottery tests: a campaign in March 2025 (the test clock starts on 2025-03-21)."""

from datetime import datetime, timedelta, timezone

from crmcore_lottery.campaigns import create_campaign, get_campaign
from crmcore_lottery.drawing import draw_campaign
from crmcore_lottery.freeze import close_campaign
from sqlalchemy import func, select

UTC = timezone.utc
START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 4, 1, tzinfo=UTC)
IN_WINDOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


def new_campaign(app, name="spring", **fields):
    fields.setdefault("prizes", [{"name": "Gold coin", "quantity": 1}])
    fields.setdefault("per_purchase", 1)
    with app.unit_of_work() as uow:
        c = create_campaign(
            uow,
            name=name,
            title=fields.pop("title", "Spring raffle"),
            rules_text=fields.pop("rules_text", "Official rules: one entry per purchase."),
            entry_start=fields.pop("entry_start", START),
            entry_end=fields.pop("entry_end", END),
            **fields,
        )
        return c.id


def close(app, name="spring", **kwargs):
    kwargs.setdefault("early", True)
    with app.unit_of_work() as uow:
        return close_campaign(uow, get_campaign(uow, name, lock=True), **kwargs)


def draw(app, name="spring", **kwargs):
    if app.clock() < END:
        app.clock.set(END + timedelta(hours=1))
    with app.unit_of_work() as uow:
        return draw_campaign(uow, get_campaign(uow, name, lock=True), **kwargs)


def count(app, model, *where):
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model).where(*where))


def weights(app, name="spring"):
    """{customer id: entries} of a campaign."""
    from crmcore_lottery.entries import participant_totals

    with app.unit_of_work(readonly=True) as uow:
        return {
            r["customer_id"]: r["entries"] for r in participant_totals(uow, get_campaign(uow, name))
        }


def codes(app):
    """{customer id: lottery code}: what the frozen lists name members by."""
    from crmcore_lottery.models import LotteryMember

    with app.unit_of_work(readonly=True) as uow:
        rows = uow.session.execute(select(LotteryMember.customer_id, LotteryMember.code))
        return dict(rows.all())


def by_customer(app, participants):
    """Frozen-list participants (lottery codes) → customer ids, in the same order."""
    owner = {code: cid for cid, code in codes(app).items()}
    return [owner[p] for p in participants]
