"""The lottery part of ``crm demo``: a raffle over the past four months' purchases, closed, drawn and
verified; and an open raffle with lottery cards (and entries bought with points when loyalty is on)."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from crmcore.api import format_date

from .campaigns import _local_midnight, create_campaign, get_campaign
from .cards import generate_batch
from .drawing import draw_campaign, verify_campaign
from .entries import buy_with_points, collect_purchases, redeem_card
from .freeze import close_campaign

RULES_PAST = """قوانین رسمی قرعه‌کشی فصل
۱. هر خرید یک شانس، و هر ۱٬۰۰۰٬۰۰۰ ریال خرید یک شانس دیگر دارد.
۲. کارکنان فروشگاه در قرعه‌کشی شرکت داده نمی‌شوند.
۳. هر نفر حداکثر یک جایزه می‌برد.
۴. فهرست نهایی و چکیده‌ی آن پیش از قرعه‌کشی منتشر می‌شود و هر کس می‌تواند نتیجه را بازبینی کند.

Official rules: one entry per purchase plus one per 1,000,000 rials spent; staff excluded; one prize per
person; the frozen list's hash is published before the draw and anyone can verify the result."""

RULES_OPEN = """قوانین رسمی قرعه‌کشی کارت‌های زعفران
هر کارت قرعه‌کشی داخل بسته‌های زعفران دو شانس دارد؛ اعضای باشگاه می‌توانند با ۲۰۰ امتیاز یک شانس بخرند.

Official rules: every card in saffron packs gives two entries; club members may buy an entry for 200 points."""


def seed(uow, customers, rng) -> list[str]:
    tz = uow.app.timezone
    now = uow.now()
    today = _local_midnight(now.astimezone(ZoneInfo(tz)).date(), tz)
    past = create_campaign(
        uow,
        name="season-raffle",
        title="Season raffle",
        title_fa="قرعه‌کشی فصل",
        rules_text=RULES_PAST,
        entry_start=today - timedelta(days=121),
        entry_end=today - timedelta(days=1),
        per_purchase=1,
        per_amount="1000000",
        prizes=[
            {"name": "Bahar Azadi gold coin", "name_fa": "سکه بهار آزادی", "quantity": 1},
            {
                "name": "Gift card 5,000,000 IRR",
                "name_fa": "کارت هدیه ۵ میلیون ریالی",
                "quantity": 3,
            },
        ],
    )
    if customers:
        from crmcore.api import update_customer

        update_customer(
            uow, customers[0].id, add_tags=["staff"]
        )  # the shop's own cashier, a customer too
    collected = collect_purchases(uow, past)
    # closed when its window ended (yesterday): the draw now respects the minimum gap
    closed = close_campaign(uow, get_campaign(uow, past.name, lock=True), now=past.entry_end)
    drawn = draw_campaign(uow, past)
    verified = verify_campaign(uow, past).ok
    nowruz = create_campaign(
        uow,
        name="saffron-cards",
        title="Saffron card raffle",
        title_fa="قرعه‌کشی کارت‌های زعفران",
        rules_text=RULES_OPEN,
        entry_start=today,
        entry_end=today + timedelta(days=30),
        points_per_entry=200 if uow.has_plugin("loyalty") else None,
        prizes=[
            {"name": "Saffron gift box", "name_fa": "جعبه‌ی هدیه‌ی زعفران", "quantity": 5, "stock": 5}
        ],
    )
    _, codes = generate_batch(uow, nowruz, 40, weight=2, label="saffron packs / بسته‌های زعفران")
    holders = rng.sample(list(customers), k=min(10, len(customers)))
    for person, code in zip(holders, codes):
        redeem_card(uow, nowruz, person, code)
    bought = 0
    if uow.has_plugin("loyalty"):
        from crmcore_loyalty import api as loyalty

        for person in customers:
            if loyalty.balance(uow, person.id) >= 400:
                buy_with_points(uow, nowruz, person, 2, key=f"demo-{person.id}")
                bought += 1
    last_day = nowruz.entry_end - timedelta(seconds=1)
    lines = [
        f"lottery: «{past.title_fa}» drew {drawn['awarded']} prizes among {closed['eligible']} members "
        f"({collected['entries']} entries from {collected['new_entries']} purchases, staff excluded); "
        f"list SHA-256 {closed['list_sha256'][:16]}…, verify {'passed' if verified else 'FAILED'}",
        f"lottery: «{nowruz.title_fa}» open until {format_date(last_day, 'jalali', tz=tz)}: "
        f"40 cards printed, {len(holders)} redeemed"
        + (f", {bought} members bought entries with points" if bought else ""),
    ]
    return lines
