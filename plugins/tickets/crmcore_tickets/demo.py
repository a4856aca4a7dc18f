"""The tickets part of ``crm demo``: a support desk with Iranian holidays, SLA policies, a team of three and two
months of Persian tickets — answered, pending, resolved, closed with CSAT, and some overdue."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from crmcore.api import ReportParams

from . import service
from .agents import add_agent, add_team
from .calendars import add_holiday
from .models import UNSOLVED, Ticket
from .reports import compliance, response_times
from .sla import check_tickets, set_policy

YEARLY_HOLIDAYS = [
    ("01-01", "نوروز"),
    ("01-02", "نوروز"),
    ("01-03", "نوروز"),
    ("01-04", "نوروز"),
    ("01-12", "روز جمهوری اسلامی"),
    ("01-13", "سیزده‌به‌در"),
    ("03-14", "رحلت امام خمینی"),
    ("03-15", "قیام ۱۵ خرداد"),
    ("11-22", "پیروزی انقلاب"),
    ("12-29", "ملی شدن صنعت نفت"),
]
POLICIES = [
    ("فوری", "urgent", "30m", "4h"),
    ("بالا", "high", "2h", "8h"),
    ("عادی", "normal", "4h", "24h"),
    ("کم", "low", "8h", "40h"),
]
AGENTS = [("sara", "سارا موسوی"), ("reza", "رضا جعفری"), ("nima", "نیما صادقی")]
REQUESTS = [
    ("سفارش هنوز نرسیده", "سفارشم را ده روز پیش ثبت کردم و هنوز نرسیده است.", "ارسال"),
    ("درخواست مرجوعی", "بسته زعفران باز شده بود، می‌خواهم مرجوع کنم.", "مرجوعی"),
    ("مشکل پرداخت آنلاین", "مبلغ از حسابم کسر شد ولی سفارش ثبت نشد.", "پرداخت"),
    ("فاکتور رسمی", "برای شرکت فاکتور رسمی با کد اقتصادی لازم داریم.", "صورتحساب"),
    ("کیفیت پسته", "پسته‌های این بار کیفیت همیشه را نداشت.", "کیفیت"),
    ("تغییر آدرس ارسال", "لطفاً آدرس سفارش را به محل کارم تغییر دهید.", "ارسال"),
    ("کد تخفیف کار نمی‌کند", "کد تخفیف باشگاه مشتریان را قبول نمی‌کند.", "پرداخت"),
    ("استعلام موجودی", "خرمای مضافتی بم موجود می‌شود؟", "فروش"),
]
CHANNELS = ["phone", "phone", "email", "web", "chat", "in_person", "social"]
PRIORITIES = ["normal", "normal", "normal", "high", "low", "urgent"]


@contextmanager
def _clock_at(uow, moment: datetime):
    """Let the services stamp a past moment (the demo writes two months of history in one transaction)."""
    app = uow.app
    original = app.clock
    app.clock = lambda: moment
    try:
        yield
    finally:
        app.clock = original


def _working_moment(rng, now: datetime, zone: ZoneInfo) -> datetime:
    local_day = (now.astimezone(zone) - timedelta(days=rng.randrange(2, 60))).date()
    while local_day.weekday() == 4:  # Friday
        local_day -= timedelta(days=1)
    return datetime.combine(
        local_day, time(rng.randrange(9, 12), rng.choice((0, 15, 30, 45))), zone
    )


def seed(uow, customers, rng) -> list[str]:
    zone = ZoneInfo(uow.app.timezone)
    now = uow.now()
    for md, name in YEARLY_HOLIDAYS:
        add_holiday(uow, md, every_year=True, name=name)
    for name, priority, first, resolution in POLICIES:
        set_policy(uow, name, priority=priority, first_response=first, resolution=resolution)
    add_team(uow, "پشتیبانی", assignment="round_robin")
    for username, display in AGENTS:
        add_agent(uow, username, name=display, team="پشتیبانی")
    people = list(customers)[: max(1, min(len(customers), 24))]
    plans = sorted(
        (
            (_working_moment(rng, now, zone), c)
            for c in people
            for _ in range(rng.randrange(0, 2) + 1)
            if rng.random() < 0.8
        ),
        key=lambda plan: plan[0],
    )
    opened = 0
    for moment, customer in plans[:30]:
        subject, body, category = rng.choice(REQUESTS)
        agent = rng.choice(AGENTS)[0]
        with _clock_at(uow, moment):
            ticket = service.open_ticket(
                uow,
                customer,
                subject=subject,
                body=body,
                channel=rng.choice(CHANNELS),
                priority=rng.choice(PRIORITIES),
                category=category,
                team="پشتیبانی",
            )
        opened += 1
        fate = rng.random()
        if fate < 0.1:
            continue  # never answered: the SLA job flags it
        moment += timedelta(minutes=rng.randrange(10, 360))
        with _clock_at(uow, moment):
            service.agent_reply(
                uow,
                ticket.id,
                "سلام، درخواست شما بررسی می‌شود. با تشکر از صبر شما.",
                agent=ticket.assignee.username if ticket.assignee else agent,
                pending=fate < 0.25,
            )
        if fate < 0.35:
            continue
        moment += timedelta(hours=rng.randrange(1, 30))
        if moment >= now:
            continue
        with _clock_at(uow, moment):
            service.resolve(uow, ticket.id)
        if fate < 0.5:
            continue
        moment += timedelta(days=1)
        if moment >= now:
            continue
        with _clock_at(uow, moment):
            service.close(uow, ticket.id)
            if ticket.csat_by is None and rng.random() < 0.8:
                service.record_csat(uow, ticket.id, rng.choice((5, 5, 4, 4, 3, 2)))
    check = check_tickets(uow, now)
    sla = compliance(uow, ReportParams(timezone=uow.app.timezone)).totals
    times = response_times(uow, ReportParams(timezone=uow.app.timezone)).totals
    unsolved = uow.session.scalar(
        select(func.count()).select_from(Ticket).where(Ticket.state.in_(UNSOLVED))
    )
    return [
        f"tickets: {opened} tickets ({unsolved} unsolved), {check['breached']} SLA breaches flagged; "
        f"first response on time "
        f"{sla['first_response_pct'] or '-'}%, median {times['first_response_median_hours'] or '-'} business hours"
    ]
