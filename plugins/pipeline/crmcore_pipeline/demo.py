"""The pipeline's part of ``crm demo``: reps, leads from every source, deals at every stage over the last
four months (so the funnel, forecast and stale reports have something to say), and this month's targets."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

from crmcore.api import Money, format_money, jalali_month_key

from .deals import create_deal, lose_deal, move_deal, win_deal
from .leads import convert_lead, create_lead, disqualify_lead
from .reps import add_rep
from .targets import set_target

REPS = [("sara", "سارا احمدی"), ("reza", "رضا کریمی"), ("niloofar", "نیلوفر موسوی")]
TITLES = [
    "خرید عمده زعفران",
    "سفارش سازمانی پسته",
    "سبد هدیه نوروزی کارکنان",
    "تأمین خرما برای فروشگاه",
    "قرارداد سالانه چای",
    "پذیرایی همایش شرکت",
    "برنج ماهانه رستوران",
]
NEW_CONTACTS = [
    "کامران صالحی",
    "شرکت پخش البرز",
    "هتل پارسیان",
    "ستاره نیک‌نام",
    "رستوران شب‌های تهران",
]
SOURCES = ["website", "referral", "exhibition", "phone", "social", "campaign"]
LOST = ["price", "competitor", "budget", "no_response", "timing"]
WON = ["price", "quality", "relationship", "speed"]


@contextmanager
def _at(uow, moment: datetime):
    """Record what happens inside as happening at ``moment`` (the demo replays four months of work)."""
    app = uow.app
    saved = app.clock
    app.clock = lambda: moment
    try:
        yield
    finally:
        app.clock = saved


def seed(uow, customers, rng) -> list[str]:
    now = uow.now()
    for username, name in REPS:
        add_rep(uow, username, name)
    leads = converted = 0
    deals = []
    for i in range(30):
        start = now - timedelta(days=rng.randrange(5, 125), hours=rng.randrange(0, 8))
        with _at(uow, start):
            if i % 3 == 2:
                contact = NEW_CONTACTS[i % len(NEW_CONTACTS)]
                lead = create_lead(
                    uow,
                    title=rng.choice(TITLES),
                    source=rng.choice(SOURCES),
                    contact_name=contact,
                    phone=f"0935{4000000 + i * 17:07d}",
                    note="درخواست پیش‌فاکتور",
                )
            else:
                customer = customers[(i * 7) % len(customers)]
                lead = create_lead(
                    uow, title=rng.choice(TITLES), source=rng.choice(SOURCES), customer=customer
                )
        leads += 1
        roll = rng.random()
        moment = start + timedelta(days=rng.randrange(1, 4))
        with _at(uow, moment):
            if roll < 0.12:
                disqualify_lead(uow, lead.id, reason="بودجه ندارد")
                continue
            if roll < 0.25:
                continue  # still a lead
            amount = rng.randrange(15, 900) * 1_000_000
            _, deal, _ = convert_lead(
                uow,
                lead.id,
                amount=str(amount),
                expected_close=(moment + timedelta(days=rng.randrange(20, 100))).date(),
            )
        converted += 1
        deals.append(deal)
        for stage in ("contact", "proforma", "negotiation")[: rng.randrange(0, 4)]:
            moment += timedelta(days=rng.randrange(2, 12))
            if moment >= now:
                break
            with _at(uow, moment):
                move_deal(uow, deal.id, stage)
        outcome = rng.random()
        moment += timedelta(days=rng.randrange(2, 10))
        if moment < now and outcome < 0.6:
            with _at(uow, moment):
                if outcome < 0.35:
                    win_deal(uow, deal.id, reason=rng.choice(WON))
                else:
                    lose_deal(uow, deal.id, reason=rng.choice(LOST))
    # a deal opened today without a lead, and this month's targets (Jalali month)
    create_deal(
        uow,
        customer=customers[0],
        title="تمدید قرارداد پذیرایی",
        amount="250000000",
        stage="negotiation",
        expected_close=(now + timedelta(days=10)).date(),
        owner="sara",
        next_activity="تماس برای امضا",
    )
    month = jalali_month_key(now.date())
    for username, _ in REPS:
        set_target(uow, username, month, "1500000000")
    won = [d for d in deals if d.status == "won"]
    won_total = Money(sum(d.amount_minor for d in won), "IRR")
    open_count = sum(d.status == "open" for d in deals) + 1
    return [
        f"pipeline: {len(REPS)} sales reps, {leads} leads ({converted} converted), {len(deals) + 1} deals: "
        f"{open_count} open, {len(won)} won ({format_money(won_total)}), "
        f"{sum(d.status == 'lost' for d in deals)} lost; targets for {month}; see: crm pipeline board"
    ]
