"""The tasks part of ``crm demo``: two users, call-backs and follow-ups (some overdue, some de-duplicated),
a weekly recurring meeting with reminders, all-day visits, and a few completed tasks."""

from __future__ import annotations

from datetime import timedelta

from .service import add_task, complete_task, create_follow_up
from .users import add_user

USERS = [("sara", "سارا احمدی", "sara@example.ir"), ("reza", "رضا کریمی", "reza@example.ir")]
TITLES = {
    "call_back": ["تماس درباره سفارش زعفران", "پاسخ به تماس بی‌پاسخ", "پیگیری ارسال سفارش"],
    "follow_up": ["پیگیری رضایت از خرید", "ارسال پیش‌فاکتور", "یادآوری تمدید اشتراک باشگاه"],
    "visit": ["بازدید از فروشگاه مشتری"],
    "meeting": ["جلسه هماهنگی سفارش عمده"],
}


def seed(uow, customers, rng) -> list[str]:
    if not customers:
        return []
    for username, name, email in USERS:
        add_user(uow, username, display_name=name, email=email)
    now = uow.now()
    created = completed = 0
    for c in customers[: max(1, len(customers) // 3)]:
        kind = rng.choice(["call_back", "follow_up", "follow_up", "visit"])
        offset = timedelta(hours=rng.randrange(-72, 96))
        due = (now + offset).replace(minute=0, second=0, microsecond=0)
        task = add_task(
            uow,
            customer=c,
            kind=kind,
            title=rng.choice(TITLES[kind]),
            due=due.date() if kind == "visit" else due,
            assignee=rng.choice(USERS)[0],
            priority=rng.choice(["normal", "normal", "high", "urgent", "low"]),
            reminders=["15m"] if kind == "call_back" else [],
            source="demo",
        )
        created += 1
        if offset < timedelta(0) and rng.random() < 0.4:
            complete_task(uow, task.id, note="انجام شد")
            completed += 1
    organisation = next((c for c in customers if c.kind == "organisation"), customers[0])
    start = (now + timedelta(days=1)).replace(
        hour=6, minute=30, second=0, microsecond=0
    )  # 10:00 Tehran
    add_task(
        uow,
        customer=organisation,
        kind="meeting",
        title=TITLES["meeting"][0],
        due=start,
        duration="1h",
        assignee="sara",
        rrule="FREQ=WEEKLY;COUNT=8",
        reminders=["1h", "1d"],
        location="دفتر مرکزی، تهران",
        source="demo",
    )
    created += 1
    first = customers[0]
    repeated = [
        create_follow_up(
            uow,
            customer_id=first.id,
            title="تماس مجدد: تماس بی‌پاسخ",
            kind="call_back",
            due_at=None,
            dedup_key=f"demo:missed:{first.id}",
            source="demo",
            reference=None,
        )
        for _ in range(3)
    ]
    created += len({t.id for t in repeated})
    return [
        f"tasks: {created} tasks for 2 users (سارا، رضا), {completed} completed, a weekly meeting ×8 "
        f"with reminders; {len(repeated)} missed calls → {len({t.id for t in repeated})} call-back"
    ]
