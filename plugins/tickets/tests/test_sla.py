"""SLA policies, calendars and holidays as stored configuration; breach detection by `crm jobs run`."""

import pytest
from crmcore_tickets import service
from crmcore_tickets.calendars import add_holiday, get_calendar, remove_holiday, set_calendar
from crmcore_tickets.models import BusinessCalendarRow, Holiday, SlaPolicy, Ticket
from crmcore_tickets.sla import policy_for, set_policy
from sqlalchemy import select
from tickets_helpers import at, count, standard_setup, tehran

from crmcore.api import Conflict, NotFound, ValidationError
from crmcore.testing import assert_migrations_match_models, make_customer, outbox_events, run_jobs


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "tickets")


def test_breach_detection_warns_then_flags_once(crm_app):
    standard_setup(crm_app)
    cid = make_customer(crm_app, "نرگس")
    at(crm_app, 2025, 1, 1, 16, 30)
    with crm_app.unit_of_work() as uow:
        tid = service.open_ticket(uow, cid, subject="کالا معیوب است", body="...", agent="reza").id
        urgent = service.open_ticket(uow, cid, subject="قطع سرویس", priority="urgent").id
    # Thursday 09:45: normal due 10:30 (45 business minutes left ≤ 60 → warn); urgent was due Thursday 09:00
    [result] = run_jobs(crm_app, now=tehran(2025, 1, 2, 9, 45), only=["tickets.sla"])
    assert result == {
        "job": "tickets.sla",
        "ok": True,
        "summary": {"breached": 1, "warned": 1, "checked": 2},
    }
    warnings = outbox_events(crm_app, "tickets_sla_warning")
    assert [
        (w["payload"]["ticket_id"], w["payload"]["target"], w["payload"]["business_minutes_left"])
        for w in warnings
    ] == [(tid, "first_response", 45)]
    [result] = run_jobs(crm_app, now=tehran(2025, 1, 2, 10, 31), only=["tickets.sla"])
    assert result["summary"] == {"breached": 1, "warned": 0, "checked": 2}
    breaches = [
        (e["payload"]["ticket_id"], e["payload"]["target"])
        for e in outbox_events(crm_app, "tickets_sla_breached")
    ]
    assert breaches == [(urgent, "first_response"), (tid, "first_response")]
    [result] = run_jobs(crm_app, now=tehran(2025, 1, 2, 10, 32), only=["tickets.sla"])
    assert result["summary"]["breached"] == 0  # each breach announced once
    # Sunday 12:31: normal ticket's resolution (due Sunday 12:30) breached too
    [result] = run_jobs(crm_app, now=tehran(2025, 1, 5, 12, 31), only=["tickets.sla"])
    assert result["summary"]["breached"] == 2  # urgent's resolution (due Saturday 12:00) as well


def test_late_first_reply_is_a_breach_even_before_the_job_runs(crm_app):
    standard_setup(crm_app)
    cid = make_customer(crm_app, "امیر")
    at(crm_app, 2025, 1, 1, 16, 30)
    with crm_app.unit_of_work() as uow:
        tid = service.open_ticket(uow, cid, subject="مشکل پرداخت").id
    at(crm_app, 2025, 1, 2, 11)
    with crm_app.unit_of_work() as uow:
        service.agent_reply(uow, tid, "پرداخت بررسی شد", agent="sara")
    [event] = outbox_events(crm_app, "tickets_sla_breached")
    assert event["payload"] == {
        "ticket_id": tid,
        "target": "first_response",
        "due_at": "2025-01-02T07:00:00+00:00",
        "assignee": "sara",
    }


def test_pending_tickets_do_not_breach_while_the_clock_is_stopped(crm_app):
    standard_setup(crm_app)
    cid = make_customer(crm_app, "شیرین")
    at(crm_app, 2025, 1, 4, 9)
    with crm_app.unit_of_work() as uow:
        tid = service.open_ticket(uow, cid, subject="استعلام قیمت").id
    at(crm_app, 2025, 1, 4, 9, 30)
    with crm_app.unit_of_work() as uow:
        service.agent_reply(uow, tid, "کدام محصول؟", agent="sara", pending=True)
    [result] = run_jobs(crm_app, now=tehran(2025, 2, 1, 9), only=["tickets.sla"])
    assert result["summary"] == {"breached": 0, "warned": 0, "checked": 0}


def test_most_specific_policy_wins(crm_app):
    with crm_app.unit_of_work() as uow:
        set_policy(uow, "fallback", first_response="8h", resolution="40h")
        set_policy(uow, "billing", category="صورتحساب", first_response="4h", resolution="16h")
        set_policy(uow, "urgent", priority="urgent", first_response="1h", resolution="8h")
        set_policy(
            uow,
            "urgent billing",
            priority="urgent",
            category="صورتحساب",
            first_response="15m",
            resolution="2h",
        )
    with crm_app.unit_of_work(readonly=True) as uow:
        name = lambda p, c: policy_for(uow.session, p, c).name  # noqa: E731
        assert name("urgent", "صورتحساب") == "urgent billing"
        assert name("urgent", "ارسال") == "urgent"
        assert name("low", "صورتحساب") == "billing"
        assert name("low", None) == "fallback"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (
            {"first_response": "-2h", "resolution": "8h"},
            ValidationError,
            "must be a positive business time",
        ),
        (
            {"first_response": "0", "resolution": "8h"},
            ValidationError,
            "must be a positive business time",
        ),
        (
            {"first_response": "2h", "resolution": "-30m"},
            ValidationError,
            "resolution target must be a positive",
        ),
        ({"first_response": "2 days", "resolution": "8h"}, ValidationError, "is not a duration"),
        (
            {"first_response": "4h", "resolution": "2h"},
            ValidationError,
            "shorter than the first-response target",
        ),
        (
            {"first_response": "1h", "resolution": "2h", "priority": "asap"},
            ValidationError,
            "not a priority",
        ),
        (
            {"first_response": "1h", "resolution": "2h", "calendar": "ramadan"},
            NotFound,
            "no business calendar named 'ramadan'",
        ),
    ],
)
def test_bad_policies_are_refused_and_nothing_is_stored(crm_app, kwargs, error, message):
    with pytest.raises(error, match=message):
        with crm_app.unit_of_work() as uow:
            set_policy(uow, "p", **kwargs)
    assert count(crm_app, SlaPolicy) == 0 and count(crm_app, BusinessCalendarRow) == 0


def test_two_policies_for_the_same_priority_and_category_conflict(crm_app):
    with crm_app.unit_of_work() as uow:
        set_policy(uow, "a", priority="high", first_response="1h", resolution="4h")
    with pytest.raises(Conflict, match="policy 'a' already covers priority=high"):
        with crm_app.unit_of_work() as uow:
            set_policy(uow, "b", priority="high", first_response="2h", resolution="4h")


def test_calendar_with_overlapping_hours_is_refused(crm_app):
    with pytest.raises(
        ValidationError, match="overlapping hours on sun: 09:00-17:00 and 12:00-20:00"
    ):
        with crm_app.unit_of_work() as uow:
            set_calendar(uow, "shop", hours=["sat-wed 09:00-17:00", "sun 12:00-20:00"])
    assert count(crm_app, BusinessCalendarRow) == 0


def test_jalali_holidays_move_due_times(crm_app):
    with crm_app.unit_of_work() as uow:
        add_holiday(uow, "۱۴۰۳-۱۱-۲۲", name="پیروزی انقلاب")  # Monday 2025-02-10, Persian digits
        add_holiday(uow, "01-01", every_year=True, name="نوروز")
        set_policy(uow, "all", first_response="2h", resolution="8h")
    cid = make_customer(crm_app, "یاسمن")
    at(crm_app, 2025, 2, 9, 16)  # Sunday 16:00: 1h Sunday, Monday is a holiday, 1h Tuesday
    with crm_app.unit_of_work() as uow:
        t = service.open_ticket(uow, cid, subject="x")
        assert t.first_response_due_at == tehran(2025, 2, 11, 10)
    at(
        crm_app, 2026, 3, 19, 16
    )  # Thursday 1404-12-28: closed after 13:00; Fri off; 1405-01-01 (Sat) Nowruz
    with crm_app.unit_of_work() as uow:
        t = service.open_ticket(uow, cid, subject="y")
        assert t.first_response_due_at == tehran(2026, 3, 22, 11)  # Sunday
    with crm_app.unit_of_work() as uow:
        remove_holiday(uow, "2025-02-10")
        assert [(h.jalali_month, h.jalali_day) for h in get_calendar(uow).holidays] == [(1, 1)]


@pytest.mark.parametrize(
    "args, kwargs, error, message",
    [
        (
            ("1403-11-22",),
            {"date_calendar": "hijri"},
            ValidationError,
            "unknown calendar 'hijri' for holiday dates",
        ),
        (
            ("1403-11-22",),
            {"calendar": "branch-2"},
            NotFound,
            "no business calendar named 'branch-2'",
        ),
        (("2025-02-10",), {"date_calendar": "jalali"}, ValidationError, "is not a Jalali date"),
        (("1402-12-30",), {}, ValidationError, "not a date in the Jalali calendar"),
        (("01-32",), {"every_year": True}, ValidationError, "not a day of the Jalali year"),
        (
            ("01-01",),
            {"every_year": True, "date_calendar": "gregorian"},
            ValidationError,
            "follow the Jalali calendar",
        ),
    ],
)
def test_bad_holidays_are_refused_and_nothing_is_stored(crm_app, args, kwargs, error, message):
    with pytest.raises(error, match=message):
        with crm_app.unit_of_work() as uow:
            add_holiday(uow, *args, **kwargs)
    assert count(crm_app, Holiday) == 0 and count(crm_app, BusinessCalendarRow) == 0


def test_duplicate_holiday_conflicts(crm_app):
    with crm_app.unit_of_work() as uow:
        add_holiday(uow, "1403-11-22")
    with pytest.raises(Conflict, match=r"already has a holiday 1403-11-22 \(2025-02-10\)"):
        with crm_app.unit_of_work() as uow:
            add_holiday(uow, "2025-02-10")


def test_surveys_detractor_opens_one_ticket_per_response(crm_app_factory):
    import types

    from crmcore.api import hookspec

    specs = types.ModuleType("fake_surveys_specs")

    @hookspec
    def surveys_detractor(uow, response, customer):
        """(the surveys plugin's event, declared here as if it were installed)"""

    specs.surveys_detractor = surveys_detractor
    app = crm_app_factory(
        plugins=["tickets"], extra_plugins=[("surveys", types.SimpleNamespace(), specs)]
    )
    cid = make_customer(app, "حمید")
    response = types.SimpleNamespace(
        id=7, score=2, comment="ارسال خیلی دیر بود", survey_name="NPS پاییز"
    )
    for _ in range(2):
        with app.unit_of_work() as uow:
            from crmcore.api import get_customer

            uow.call(
                "surveys_detractor", response=response, customer=get_customer(uow.session, cid)
            )
    with app.unit_of_work(readonly=True) as uow:
        [t] = uow.session.scalars(select(Ticket)).all()
        assert (t.priority, t.source, t.dedup_key, t.customer_id) == (
            "high",
            "surveys",
            "surveys:response:7",
            cid,
        )
        assert "NPS پاییز" in t.subject and "ارسال خیلی دیر بود" in t.messages[0].body


def test_a_plugin_can_take_over_the_csat_question(crm_app_factory):
    from crmcore.api import hookimpl

    class Surveys:
        @hookimpl
        def tickets_ticket_closed(self, uow, ticket):
            return "surveys"

    app = crm_app_factory(plugins=["tickets"], extra_plugins=[("surveys", Surveys(), None)])
    cid = make_customer(app, "پریسا")
    with app.unit_of_work() as uow:
        tid = service.open_ticket(uow, cid, subject="x").id
        service.close(uow, tid)
    with pytest.raises(Conflict, match="handled by the surveys plugin"):
        with app.unit_of_work() as uow:
            service.record_csat(uow, tid, 5)
    with app.unit_of_work(readonly=True) as uow:
        assert uow.session.get(Ticket, tid).csat_by == "surveys"
