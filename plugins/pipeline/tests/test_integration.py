"""The pipeline in the kernel: profile section, search field, merges, forgetting, the stale-deals job, the demo,
and installing it alone on a kernel database."""

from datetime import timedelta

import pytest
from crmcore_pipeline import service
from crmcore_pipeline.models import Deal, DealActivity, Lead, StageHistory
from sqlalchemy import select

from crmcore.api import forget_customer, merge_customers, where_conditions
from crmcore.testing import make_customer, outbox_events, run_jobs


def test_the_profile_shows_open_deals_in_the_apps_calendar(crm_app_factory, crm_app, run):
    cid = make_customer(crm_app, "مریم رضایی")
    open_id = run(
        service.create_deal,
        customer=cid,
        title="سبد هدیه",
        amount="5000000",
        expected_close="1404-02-10",
        next_activity="ارسال کاتالوگ",
        next_activity_on="2025-04-01",
    )
    won_id = run(service.create_deal, customer=cid, title="قبلی", amount="7000000")
    run(service.win_deal, won_id)
    jalali = crm_app_factory(calendar="jalali")
    with jalali.unit_of_work(readonly=True) as uow:
        from crmcore.api import customer_to_dict, get_customer

        section = customer_to_dict(get_customer(uow.session, cid), uow=uow)["sections"]["pipeline"]
    assert section == {
        "open": [
            {
                "id": open_id,
                "title": "سبد هدیه",
                "stage": "lead",
                "stage_name": "سرنخ",
                "amount": "5000000",
                "currency": "IRR",
                "probability": 10,
                "owner": None,
                "expected_close": "1404-02-10",
                "next_activity": "ارسال کاتالوگ",
                "next_activity_on": "1404-01-12",
            }
        ],
        "won_deals": 1,
        "lost_deals": 0,
        "won_amount": {"IRR": "7000000"},
    }
    from crmcore.testing import assert_persian_panel, panel_html, panel_text

    html = panel_html(jalali, cid, "pipeline", lang="fa")
    assert_persian_panel(html)
    assert "۵٬۰۰۰٬۰۰۰ ریال" in html and "۱۴۰۴/۰۲/۱۰" in html and "سرنخ" in html
    assert "۷٬۰۰۰٬۰۰۰ ریال" in html
    text = panel_text(jalali, cid, "pipeline", lang="en", width=80)
    assert "5,000,000 IRR" in text and "1404-02-10" in text
    other = make_customer(crm_app, "بدون معامله")
    with crm_app.unit_of_work(readonly=True) as uow:
        assert (
            "pipeline"
            not in customer_to_dict(get_customer(uow.session, other), uow=uow)["sections"]
        )


def test_search_customers_with_open_deals(crm_app, run):
    with_deal = make_customer(crm_app, "الف")
    closed = make_customer(crm_app, "ب")
    make_customer(crm_app, "ج")
    run(service.create_deal, customer=with_deal, title="x")
    run(service.lose_deal, run(service.create_deal, customer=closed, title="y"), reason="price")
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore.api import Customer

        def ids(clause):
            return sorted(
                uow.session.scalars(select(Customer.id).where(*where_conditions(uow, [clause])))
            )

        assert ids("open_deals>0") == [with_deal]
        assert ids("open_deals=0") == [closed, closed + 1]


def test_merging_customers_moves_their_deals_and_leads(crm_app, run):
    keep = make_customer(crm_app, "علی کریمی", phones=["09121110000"])
    other = make_customer(crm_app, "علي كريمي", phones=["09121110001"])
    did = run(service.create_deal, customer=other, title="x")
    run(service.create_lead, title="l", source="phone", customer=other)
    with crm_app.unit_of_work() as uow:
        merge_customers(uow, keep, other)
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.get(Deal, did).customer_id == keep
        assert [lead.customer_id for lead in uow.session.scalars(select(Lead))] == [keep]


def test_forgetting_a_customer_erases_names_and_notes_but_keeps_amounts(crm_app, run):
    cid = make_customer(crm_app, "نرگس طاهری", phones=["09351112233"])
    lid = run(
        service.create_lead,
        title="خرید نرگس",
        source="phone",
        contact_name="نرگس طاهری",
        phone="09351112233",
        note="شماره همراه دوم ۰۹۱۲…",
    )
    with crm_app.unit_of_work() as uow:
        did = service.convert_lead(uow, lid, amount="900")[1].id
    run(
        service.log_activity,
        did,
        kind="call",
        note="با همسرش صحبت شد",
        next_activity="تماس با نرگس",
    )
    run(service.move_deal, did, "contact", note="نرگس موافقت کرد")
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, cid)
    with crm_app.unit_of_work(readonly=True) as uow:
        lead = uow.session.get(Lead, lid)
        deal = uow.session.get(Deal, did)
        assert (lead.title, lead.contact_name, lead.phone, lead.note) == (
            f"lead {lid}",
            None,
            None,
            None,
        )
        assert (deal.title, deal.next_activity, deal.amount_minor) == (f"deal {did}", None, 900)
        assert [a.note for a in uow.session.scalars(select(DealActivity))] == [None]
        assert [h.note for h in uow.session.scalars(select(StageHistory))] == [None, None]


def test_the_stale_job_announces_each_idle_spell_once(crm_app, run, monkeypatch, at):
    monkeypatch.setenv("CRM_PIPELINE_STALE_DAYS", "10")
    cid = make_customer(crm_app)
    start = at(2025, 4, 1, 9)
    did = run(service.create_deal, customer=cid, title="x")
    fresh = run(service.create_deal, customer=cid, title="y")
    run(service.win_deal, run(service.create_deal, customer=cid, title="z", amount="1"))
    at(2025, 4, 9, 9)
    run(service.log_activity, fresh)
    crm_app.clock.set(start + timedelta(days=12))
    results = run_jobs(crm_app, only=["pipeline.stale_deals"])
    assert results == [
        {
            "job": "pipeline.stale_deals",
            "ok": True,
            "summary": {"stale_deals": 1, "days": 10, "follow_up_tasks": 0},
        }
    ]
    assert (
        run_jobs(crm_app, only=["pipeline.stale_deals"])[0]["summary"]["stale_deals"] == 0
    )  # once
    events = outbox_events(crm_app, "pipeline_deal_stale")
    assert [(e["payload"]["deal_id"], e["payload"]["idle_days"]) for e in events] == [(did, 12)]
    run(service.move_deal, did, "contact")  # active again; stale again 10+ days later
    crm_app.clock.advance(days=11)
    assert run_jobs(crm_app, only=["pipeline.stale_deals"])[0]["summary"]["stale_deals"] == 2
    monkeypatch.setenv("CRM_PIPELINE_STALE_DAYS", "soon")
    failed = run_jobs(crm_app, only=["pipeline.stale_deals"])[0]
    assert not failed["ok"] and "must be a whole number" in failed["error"]


def test_the_demo_seeds_a_pipeline(tmp_path, monkeypatch, crm_backend):
    if crm_backend != "sqlite":
        pytest.skip("the demo always builds its own SQLite file")
    monkeypatch.setenv("CRMCORE_PLUGINS_ONLY", "pipeline")
    from crmcore.testing import build_demo

    result = build_demo(tmp_path / "demo.db", customers=12)
    line = next(x for x in result["lines"] if x.startswith("pipeline:"))
    assert "3 sales reps, 30 leads" in line and "won" in line
    from crmcore.api import CRM

    app = CRM(f"sqlite:///{tmp_path / 'demo.db'}")
    with app.unit_of_work(readonly=True) as uow:
        statuses = {d.status for d in uow.session.scalars(select(Deal))}
        assert statuses == {"open", "won", "lost"}
    app.dispose()


def test_the_plugin_installs_and_enables_alone_on_a_kernel_database(
    crm_empty_database_url, monkeypatch
):
    from crmcore.api import CRM
    from crmcore.testing import enable_plugin

    kernel = CRM(crm_empty_database_url, plugins=[])
    kernel.init()
    assert enable_plugin(kernel, "pipeline") == ["pipeline"]
    app = CRM(crm_empty_database_url)
    assert app.enabled_plugin_names() == ["pipeline"]
    cid = make_customer(app, "تنها")
    with app.unit_of_work() as uow:
        deal = service.create_deal(uow, customer=cid, title="اولین معامله", amount="1000")
        assert deal.stage.code == "lead"
    for a in (kernel, app):
        a.dispose()
