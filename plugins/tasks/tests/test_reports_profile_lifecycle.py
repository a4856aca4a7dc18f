import random
from datetime import date, datetime, timezone

import pytest
from crmcore_tasks.models import Task, TaskCompletion
from crmcore_tasks.service import complete_task

from crmcore.api import ReportParams, forget_customer, merge_customers, profile_sections, run_report
from crmcore.testing import make_customer

UTC = timezone.utc


def report(app, name, **params):
    with app.unit_of_work(readonly=True) as uow:
        return run_report(uow, name, ReportParams(**params))


def test_overdue_report_lists_open_tasks_past_due_oldest_first(crm_app, users, customer, h):
    other = make_customer(crm_app, "Ali")
    a = h.add(customer, title="a", due="2025-03-15 10:00", assignee="sara")
    b = h.add(
        other, title="b", due="2025-03-20", assignee="reza"
    )  # all-day yesterday: overdue since midnight
    h.add(customer, title="today, later", due="2025-03-21 18:00", assignee="sara")
    h.add(customer, title="today, all day", due="2025-03-21", assignee="sara")
    done = h.add(customer, title="done", due="2025-03-10 10:00")
    with crm_app.unit_of_work() as uow:
        complete_task(uow, done)
    result = report(crm_app, "tasks.overdue")
    assert [r[0] for r in result["rows"]] == [a, b]
    assert result["rows"][0][2:] == ["مریم رضایی", "sara", "follow_up", "a", "2025-03-15 10:00", 6]
    assert result["rows"][1][6:] == ["2025-03-20", 0]
    assert result["totals"]["by_assignee"] == {"reza": 1, "sara": 1}
    only = report(crm_app, "tasks.overdue", options={"user": "reza"}, calendar="jalali")
    assert [r[0] for r in only["rows"]] == [b] and only["rows"][0][6] == "1403-12-30"


def test_completed_report_counts_per_user_and_period_on_time_and_late(crm_app, users, customer, h):
    late = h.add(customer, title="late", due="2025-03-19 10:00", assignee="sara")
    on_time = h.add(customer, title="on time", due="2025-03-22 10:00", assignee="sara")
    series = h.add(
        customer, title="daily", due="2025-03-21 15:00", assignee="reza", rrule="FREQ=DAILY"
    )
    for tid in (late, on_time, series):
        with crm_app.unit_of_work() as uow:
            complete_task(uow, tid)
    crm_app.clock.set(datetime(2025, 4, 25, 9, 0, tzinfo=UTC))  # 1404-02-05
    with crm_app.unit_of_work() as uow:
        complete_task(uow, series)  # the 22 March occurrence, late
    result = report(crm_app, "tasks.completed", period="jalali_month", calendar="jalali")
    assert result["columns"] == ["period", "assignee", "completed", "on_time", "late"]
    assert result["rows"] == [
        ["1404-01", "reza", 1, 1, 0],
        ["1404-01", "sara", 2, 1, 1],
        ["1404-02", "reza", 1, 0, 1],
    ]
    assert result["totals"] == {"completed": 4, "late": 2}
    march = report(
        crm_app,
        "tasks.completed",
        start=date(2025, 3, 1),
        end=date(2025, 3, 31),
        options={"user": "sara"},
    )
    assert march["rows"] == [["2025-03", "sara", 2, 1, 1]]


def test_profile_section_shows_open_overdue_and_upcoming(crm_app, customer, h):
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore.api import get_customer

        assert [
            s
            for s in profile_sections(uow, get_customer(uow.session, customer))
            if s.key == "tasks"
        ] == []
    h.add(customer, title="overdue", due="2025-03-19 10:00")
    h.add(customer, title="next", due="2025-03-23 10:00")
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore.api import get_customer

        [section] = [
            s
            for s in profile_sections(uow, get_customer(uow.session, customer))
            if s.key == "tasks"
        ]
    assert section.title.fa == "کارها و قرارها"
    assert (section.data["open"], section.data["overdue_count"]) == (2, 1)
    assert [t["title"] for t in section.data["overdue"]] == ["overdue"]
    assert [t["title"] for t in section.data["upcoming"]] == ["next"]
    from crmcore.testing import assert_persian_panel, panel_html

    html = panel_html(crm_app, customer, "tasks", lang="fa")
    assert_persian_panel(html)
    assert "عقب‌افتاده" in html and "پیش رو" in html


def test_merge_moves_tasks_and_completions_to_the_kept_customer(crm_app, customer, h):
    other = make_customer(crm_app, "مریم رضائی", phones=["09351111111"])
    t1 = h.add(other, title="x", due="+1h")
    with crm_app.unit_of_work() as uow:
        complete_task(uow, t1)
    h.add(other, title="y", due="+2h")
    with crm_app.unit_of_work() as uow:
        merge_customers(uow, customer, other)
    assert h.count(Task, Task.customer_id == customer) == 2
    assert h.count(TaskCompletion, TaskCompletion.customer_id == customer) == 1


def test_forget_erases_free_text_and_closes_open_tasks(crm_app, customer, h):
    tid = h.add(
        customer,
        kind="call_back",
        title="تماس با مریم رضایی ۰۹۱۲",
        notes="آدرس: تهران",
        location="خانه",
        due="+1h",
        dedup_key="missed:+989121234567",
    )
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, customer)
    with crm_app.unit_of_work(readonly=True) as uow:
        t = uow.session.get(Task, tid)
        assert (t.title, t.notes, t.location, t.dedup_key, t.state) == (
            "تماس مجدد",
            None,
            None,
            None,
            "cancelled",
        )


def test_demo_seed_adds_persian_sample_tasks(crm_app):
    from crmcore_tasks.demo import seed

    from crmcore.api import Customer

    ids = [make_customer(crm_app, f"مشتری {n}") for n in range(9)]
    with crm_app.unit_of_work() as uow:
        people = [uow.session.get(Customer, i) for i in ids]
        lines = seed(uow, people, random.Random(1403))
    assert (
        len(lines) == 1
        and lines[0].startswith("tasks: ")
        and "3 missed calls → 1 call-back" in lines[0]
    )
    assert h_count(crm_app) >= 5


def h_count(app):
    from sqlalchemy import func, select

    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Task))


def test_search_fields_count_open_and_overdue_tasks(crm_app, customer, h):
    from sqlalchemy import select

    from crmcore.api import Customer, ValidationError, where_conditions

    other = make_customer(crm_app, "Ali")
    h.add(customer, title="long ago", due="2020-01-01 10:00")  # overdue by any clock
    h.add(customer, title="far ahead", due="2099-01-01 10:00")
    h.add(other, title="far ahead too", due="2099-01-01 10:00")

    def find(*clauses):
        with crm_app.unit_of_work(readonly=True) as uow:
            q = (
                select(Customer.id)
                .where(*where_conditions(uow, list(clauses)))
                .order_by(Customer.id)
            )
            return list(uow.session.scalars(q))

    assert find("open_tasks>=2") == [customer]
    assert find("open_tasks=1") == [other]
    assert find("overdue_tasks>0") == [customer]
    assert find("overdue_tasks=0") == [other]
    with pytest.raises(ValidationError, match="not a whole number"):
        find("open_tasks>many")


def test_task_reports_follow_the_record_rules_of_the_reader(crm_app, users, customer, h):
    from crmcore.testing import add_user as add_web_user
    from crmcore.testing import assign_customer, set_role_scope, viewer_for

    other = make_customer(crm_app, "Ali")
    mine = h.add(customer, title="mine", due="2025-03-15 10:00", assignee="sara")
    h.add(other, title="theirs", due="2025-03-15 11:00", assignee="reza")
    with crm_app.unit_of_work() as uow:
        add_web_user(uow, "sara", "a long enough password", "agent")
        add_web_user(uow, "reza", "a long enough password", "agent")
        assign_customer(uow, customer, user="sara")
        assign_customer(uow, other, user="reza")
        set_role_scope(uow, "agent", read="own")
    with crm_app.unit_of_work(readonly=True) as uow:
        uow.viewer = viewer_for(uow.session, "sara")
        overdue = run_report(uow, "tasks.overdue", ReportParams())
        due = run_report(
            uow, "tasks.due", ReportParams(start=date(2025, 3, 15), end=date(2025, 3, 15))
        )
    assert [r[0] for r in overdue["rows"]] == [mine] and overdue["totals"]["overdue"] == 1
    assert [r[0] for r in due["rows"]] == [mine] and due["totals"]["due"] == 1
    assert len(report(crm_app, "tasks.overdue")["rows"]) == 2  # the command line reads all
