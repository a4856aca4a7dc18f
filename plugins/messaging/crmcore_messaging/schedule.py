"""Date triggers for ``crm jobs run``: Jalali birthdays, membership anniversaries, fixed occasions.

Each runs for the local day of ``now`` (the app's zone). Keys carry the Jalali year, so a rerun on the same
day (or a second job process) queues nothing new. A birthday on 30 Esfand is greeted on 29 Esfand in years
that have no 30th. Run the job at least daily; catch up a missed day with ``crm jobs run --now DAY``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import jdatetime
from sqlalchemy import select

from crmcore.api import Customer, to_local

from .campaigns import active_customers, iter_customers, reachable, segment_ids
from .models import Occasion
from .outbox import queue_message
from .service import triggers_for


def _jalali(day: date) -> jdatetime.date:
    return jdatetime.date.fromgregorian(date=day)


def _matches(day_of_year: tuple[int, int], today: jdatetime.date) -> bool:
    """Does a yearly Jalali day (month, day) fall on ``today``? Esfand 30 falls on Esfand 29 in common years."""
    if day_of_year == (today.month, today.day):
        return True
    return day_of_year == (12, 30) and (today.month, today.day) == (12, 29) and not today.isleap()


def _queue_for(uow, ids: list[int], event: str, jyear: int, extra_for) -> int:
    queued = 0
    for trig in triggers_for(uow, event):
        for customers in iter_customers(uow, ids):
            for customer in customers:
                msg = queue_message(
                    uow,
                    customer,
                    template=trig.template,
                    channel=trig.channel,
                    trigger=event,
                    key=f"{event}:{jyear}:c{customer.id}:{trig.template}:{trig.channel}",
                    extra=extra_for(customer),
                )
                queued += msg.status == "queued"
    return queued


def birthdays(uow, today: date) -> int:
    if not triggers_for(uow, "birthday"):
        return 0
    j = _jalali(today)
    matching: dict[date, int | None] = {}
    for born in uow.session.scalars(
        select(Customer.birthday).where(Customer.birthday.is_not(None)).distinct()
    ):
        jb = _jalali(born)
        if _matches((jb.month, jb.day), j):
            matching[born] = j.year - jb.year if jb.year < j.year else None
    if not matching:
        return 0
    ids = list(
        uow.session.scalars(
            select(Customer.id)
            .where(active_customers(), Customer.birthday.in_(list(matching)))
            .order_by(Customer.id)
        )
    )
    return _queue_for(uow, ids, "birthday", j.year, lambda c: {"age": matching.get(c.birthday)})


def anniversaries(uow, today: date) -> int:
    if not triggers_for(uow, "anniversary"):
        return 0
    tz = uow.app.timezone
    j = _jalali(today)
    years: dict[int, int] = {}
    for cid, created in uow.session.execute(
        select(Customer.id, Customer.created_at).where(active_customers())
    ):
        jc = _jalali(to_local(created, tz).date())
        if jc.year < j.year and _matches((jc.month, jc.day), j):
            years[cid] = j.year - jc.year
    return _queue_for(uow, sorted(years), "anniversary", j.year, lambda c: {"years": years[c.id]})


def occasions(uow, today: date) -> dict[str, int]:
    j = _jalali(today)
    done: dict[str, int] = {}
    for occ in uow.session.scalars(
        select(Occasion).where(Occasion.enabled.is_(True)).order_by(Occasion.id)
    ):
        if not _matches((occ.jalali_month, occ.jalali_day), j):
            continue
        ids = segment_ids(uow, occ.where, reachable(occ.channel))
        queued = 0
        for customers in iter_customers(uow, ids):
            for customer in customers:
                msg = queue_message(
                    uow,
                    customer,
                    template=occ.template,
                    channel=occ.channel,
                    trigger=f"occasion:{occ.name}",
                    key=f"occasion:{occ.name}:{j.year}:c{customer.id}",
                    extra={"occasion": occ.name},
                )
                queued += msg.status == "queued"
        done[occ.name] = queued
    return done


def run_dates(uow, now: datetime) -> dict[str, Any]:
    today = to_local(now, uow.app.timezone).date()
    return {
        "day": jdatetime.date.fromgregorian(date=today).strftime("%Y-%m-%d"),
        "birthdays": birthdays(uow, today),
        "anniversaries": anniversaries(uow, today),
        "occasions": occasions(uow, today),
    }
