"""Reports with exact figures, a profile section and a search field, on a small known history."""

import pytest
from crmcore_tickets import service
from tickets_helpers import at, standard_setup, tehran

from crmcore.api import (
    ReportParams,
    ValidationError,
    get_customer,
    profile_sections,
    run_report,
    where_conditions,
)
from crmcore.testing import make_customer, run_jobs


@pytest.fixture
def history(crm_app):
    """Four tickets on Saturday 1403-10-15 (2025-01-04) from 09:00, one on 1403-11-13 (2025-02-01)."""
    app = crm_app
    standard_setup(app)
    cid = make_customer(app, "فاطمه کاظمی", phones=["09351112233"])
    other = make_customer(app, "آرش نوروزی")
    at(app, 2025, 1, 4, 9)
    with app.unit_of_work() as uow:
        t1, t2 = (service.open_ticket(uow, cid, subject=s, agent="sara").id for s in ("الف", "ب"))
        t3, t4 = (service.open_ticket(uow, other, subject=s, agent="reza").id for s in ("پ", "ت"))
    steps = [
        ((2025, 1, 4, 9, 30), lambda uow: service.agent_reply(uow, t3, "r", agent="reza")),
        ((2025, 1, 4, 10), lambda uow: service.agent_reply(uow, t1, "r", agent="sara")),
        ((2025, 1, 4, 12), lambda uow: service.agent_reply(uow, t2, "r", agent="sara")),  # late: 3h
        ((2025, 1, 4, 13), lambda uow: service.resolve(uow, t1)),
        ((2025, 1, 5, 11), lambda uow: service.close(uow, t2)),
    ]
    for moment, step in steps:
        at(app, *moment)
        with app.unit_of_work() as uow:
            step(uow)
    run_jobs(app, now=tehran(2025, 1, 4, 11, 1))  # t4 gets no first response in time
    at(app, 2025, 2, 1, 9)
    with app.unit_of_work() as uow:
        t5 = service.open_ticket(uow, other, subject="ث", agent="reza").id
    at(app, 2025, 2, 1, 9, 15)
    with app.unit_of_work() as uow:
        service.agent_reply(uow, t5, "r", agent="reza")
    at(app, 2025, 2, 1, 10)
    with app.unit_of_work() as uow:
        service.close(uow, t5)
        service.record_csat(uow, t5, 5)
    at(app, 2025, 2, 1, 11)
    return {"app": app, "customers": (cid, other), "tickets": (t1, t2, t3, t4, t5)}


def report(app, name, **params):
    with app.unit_of_work(readonly=True) as uow:
        return run_report(uow, name, ReportParams(**params))


def test_sla_compliance_per_jalali_month(history, crm_cli):
    result = crm_cli(
        "--calendar",
        "jalali",
        "reports",
        "run",
        "tickets.sla",
        "--period",
        "jalali_month",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["columns"] == [
        "period",
        "tickets",
        "first_response_met",
        "first_response_missed",
        "first_response_pct",
        "resolution_met",
        "resolution_missed",
        "resolution_pct",
    ]
    assert data["rows"] == [
        ["1403-10", 4, 2, 2, "50.0", 2, 0, "100.0"],
        ["1403-11", 1, 1, 0, "100.0", 1, 0, "100.0"],
    ]
    assert data["totals"] == {
        "tickets": 5,
        "first_response_met": 3,
        "first_response_missed": 2,
        "first_response_pct": "60.0",
        "resolution_met": 3,
        "resolution_missed": 0,
        "resolution_pct": "100.0",
    }


def test_response_times_per_agent_in_business_hours(history):
    data = report(history["app"], "tickets.response_times", options={"by": "agent"})
    assert data["rows"] == [
        ["reza", 2, "0.38", "0.50", 1, "1.00", "1.00"],
        ["sara", 2, "2.00", "3.00", 2, "7.00", "10.00"],
    ]
    assert data["totals"] == {
        "first_responses": 4,
        "first_response_median_hours": "0.75",
        "first_response_p90_hours": "3.00",
        "resolutions": 3,
        "resolution_median_hours": "4.00",
        "resolution_p90_hours": "10.00",
    }


def test_backlog_per_agent_and_date_range(history):
    data = report(history["app"], "tickets.backlog")
    assert data["rows"] == [["reza", 1, 1, 0, 2, 2]]
    assert data["totals"] == {"new": 1, "open": 1, "pending_customer": 0, "total": 2, "overdue": 2}
    from datetime import date

    assert report(history["app"], "tickets.backlog", start=date(2025, 1, 5))["rows"] == []
    with pytest.raises(ValidationError, match="unknown grouping 'mood'"):
        report(history["app"], "tickets.backlog", options={"by": "mood"})


def test_profile_section_shows_open_tickets_and_last_csat(history):
    app = history["app"]
    cid, other = history["customers"]
    t1, t2, t3, t4, t5 = history["tickets"]
    with app.unit_of_work(readonly=True) as uow:
        [section] = [
            s for s in profile_sections(uow, get_customer(uow.session, other)) if s.key == "tickets"
        ]
        assert section.title.fa == "تیکت‌های پشتیبانی"
        assert section.data["open_count"] == 2 and section.data["total"] == 3
        assert [t["id"] for t in section.data["open"]] == [t4, t3]
        assert section.data["last_csat"] == {
            "ticket_id": t5,
            "score": 5,
            "at": "2025-02-01T06:30:00+00:00",
        }
        [mine] = [
            s for s in profile_sections(uow, get_customer(uow.session, cid)) if s.key == "tickets"
        ]
        assert mine.data["open_count"] == 0 and mine.data["last_csat"] is None
    from crmcore.testing import assert_persian_panel, panel_html, panel_text

    html = panel_html(app, other, "tickets", lang="fa")
    assert_persian_panel(html)
    assert "تیکت‌های حل‌نشده" in html and "آخرین امتیاز رضایت" in html and "۱۴۰۳/۱۰/۱۵" in html
    assert "pending_customer" not in panel_text(app, other, "tickets", lang="en")


def test_search_field_open_tickets(history):
    app = history["app"]
    cid, other = history["customers"]
    with app.unit_of_work(readonly=True) as uow:
        from sqlalchemy import select

        from crmcore.api import Customer

        def ids(clause):
            return set(
                uow.session.scalars(select(Customer.id).where(*where_conditions(uow, [clause])))
            )

        assert ids("open_tickets>0") == {other}
        assert ids("open_tickets=0") == {cid}
        assert ids("open_tickets>=2") == {other}
        with pytest.raises(ValidationError, match="not a whole number"):
            ids("open_tickets>many")


def test_overdue_list_matches_the_backlog(history, crm_cli, monkeypatch):
    monkeypatch.setattr("crmcore.app.utcnow", history["app"].clock)
    t1, t2, t3, t4, t5 = history["tickets"]
    listed = crm_cli("tickets", "list", "--overdue", "--json").json()
    assert [t["id"] for t in listed] == [
        t3,
        t4,
    ]  # t4 breached; t3's resolution was due 2025-01-05 17:00
