"""Reports (exact NPS/CSAT per period and segment, response rates), profile, merges, forgetting, schema."""

from datetime import timedelta

import pytest
from crmcore_surveys.settings import set_setting
from surveys_test_helpers import answer, invite_customer, make_survey, new_customer

from crmcore.api import ReportParams, ValidationError, forget_customer, merge_customers, run_report
from crmcore.testing import assert_migrations_match_models


def no_fatigue(app):
    with app.unit_of_work() as uow:
        set_setting(uow, "fatigue_days", 0)


def answered(app, survey, customer_id, answers):
    return answer(app, invite_customer(app, survey, customer_id).invitation.token, answers)


def run(app, name, **kwargs):
    with app.unit_of_work(readonly=True) as uow:
        return run_report(uow, name, ReportParams(timezone=app.timezone, **kwargs))


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "surveys")


def test_nps_report_per_month_and_segment_is_exact(crm_app):
    make_survey(crm_app, "nps")
    no_fatigue(crm_app)
    vip = new_customer(crm_app, "علی", phone="09120000001", tags=["vip"])
    regular = new_customer(crm_app, "رضا", phone="09120000002")
    for score in (10, 9, 9, 8, 7, 6, 0, 3, 10, 10):  # NPS 20.0 in March
        answered(crm_app, "nps", vip if score >= 9 else regular, {"nps": score})
    crm_app.clock.advance(days=15)  # 2025-04-05: April
    for score in (9, 7, 5):
        answered(crm_app, "nps", vip, {"nps": score})
    out = run(crm_app, "surveys.nps")
    assert out["rows"] == [
        ["2025-03", "all", 10, 5, 2, 3, "50.0", "30.0", "20.0"],
        ["2025-04", "all", 3, 1, 1, 1, "33.3", "33.3", "0.0"],
    ]
    assert out["totals"]["by_segment"]["all"]["nps"] == "15.4"  # (6 − 4) / 13
    seg = run(crm_app, "surveys.nps", options={"segment": "tag=vip|tag!=vip"})
    assert seg["rows"] == [
        ["2025-03", "tag=vip", 5, 5, 0, 0, "100.0", "0.0", "100.0"],
        ["2025-04", "tag=vip", 3, 1, 1, 1, "33.3", "33.3", "0.0"],
        ["2025-03", "tag!=vip", 5, 0, 2, 3, "0.0", "60.0", "-60.0"],
    ]
    jalali = run(crm_app, "surveys.nps", period="month", calendar="jalali")
    # 2025-03-21 is 1 Farvardin 1404 and 2025-04-05 is 16 Farvardin: one Jalali month
    assert jalali["rows"] == [["1404-01", "all", 13, 6, 3, 4, "46.2", "30.8", "15.4"]]
    ranged = run(crm_app, "surveys.nps", start=(crm_app.clock.now - timedelta(days=1)).date())
    assert [r[2] for r in ranged["rows"]] == [3]


def test_csat_and_responses_reports(crm_app):
    make_survey(crm_app, "csat", template="csat")
    make_survey(crm_app, "nps")
    no_fatigue(crm_app)
    cid = new_customer(crm_app, "علی", phone="09120000001")
    for score in (5, 4, 4, 3, 1, 2, 5, 5):
        answered(crm_app, "csat", cid, {"csat": score})
    invite_customer(crm_app, "csat", cid)  # sent, never answered
    invite_customer(crm_app, "nps", cid)
    out = run(crm_app, "surveys.csat")
    assert out["rows"] == [["2025-03", "all", 8, 5, "62.5", "3.63"]]
    resp = run(crm_app, "surveys.responses")
    assert resp["rows"] == [
        ["csat", "active", 9, 8, "88.9", 8, None, "62.5", None, 2],
        ["nps", "active", 1, 0, "0.0", 0, None, None, None, 0],
    ]
    assert resp["totals"] == {"invitations_sent": 10, "answered": 8, "response_rate_pct": "80.0"}
    only = run(crm_app, "surveys.csat", options={"survey": "nps"})
    assert only["rows"] == []


def test_report_options_are_checked(crm_app):
    from crmcore.api import NotFound

    with pytest.raises(NotFound, match="no survey named 'ghost'"):
        run(crm_app, "surveys.nps", options={"survey": "ghost"})
    with pytest.raises(ValidationError, match="unknown search field"):
        run(crm_app, "surveys.nps", options={"segment": "colour=red"})


def test_profile_shows_last_scores(crm_app, customer):
    from crmcore.api import get_customer, profile_sections

    make_survey(crm_app, "nps")
    make_survey(crm_app, "csat", template="csat")
    no_fatigue(crm_app)
    answered(crm_app, "nps", customer, {"nps": 3})
    crm_app.clock.advance(days=1)
    answered(crm_app, "nps", customer, {"nps": 9})
    answered(crm_app, "csat", customer, {"csat": 4})
    with crm_app.unit_of_work(readonly=True) as uow:
        [section] = [
            s
            for s in profile_sections(uow, get_customer(uow.session, customer))
            if s.key == "surveys"
        ]
    assert section.title.fa == "نظرسنجی‌ها"
    assert section.data["last_scores"]["nps"]["score"] == 9
    assert section.data["last_scores"]["csat"] == {
        "score": 4,
        "survey": "csat",
        "answered_at": "2025-03-22 12:30",
    }
    assert "ces" not in section.data["last_scores"]
    assert (section.data["responses"], section.data["open_followups"]) == (3, 1)
    from crmcore.testing import assert_persian_panel, panel_html, panel_text

    html = panel_html(crm_app, customer, "surveys", lang="fa")
    assert_persian_panel(html)
    assert "رضایت (۱ تا ۵)" in html and "پیگیری‌های باز" in html
    text = panel_text(crm_app, customer, "surveys", lang="en")
    assert "Satisfaction (1–5)" in text and "csat" not in text.lower().replace("satisfaction", "")


def test_merge_moves_invitations_responses_and_followups(crm_app, customer):
    from crmcore_surveys.models import FollowUp, Invitation, Response
    from sqlalchemy import select

    other = new_customer(crm_app, "مریم رضائی", phone="09129999999")
    make_survey(crm_app, "nps")
    answered(crm_app, "nps", other, {"nps": 2})
    with crm_app.unit_of_work() as uow:
        merge_customers(uow, customer, other)
    with crm_app.unit_of_work(readonly=True) as uow:
        for model in (Invitation, Response, FollowUp):
            assert set(uow.session.scalars(select(model.customer_id))) == {customer}


def test_forget_erases_free_text_and_keeps_scores(crm_app, customer):
    from crmcore_surveys.models import Invitation, Response
    from sqlalchemy import select

    make_survey(crm_app, "nps")
    answered(crm_app, "nps", customer, {"nps": 9, "why": "شماره من ۰۹۱۲…"})
    crm_app.clock.advance(days=31)
    invite_customer(crm_app, "nps", customer)
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, customer)
    with crm_app.unit_of_work(readonly=True) as uow:
        r = uow.session.scalar(select(Response))
        assert (r.answers, r.comment, r.nps_score) == ({"nps": 9}, None, 9)
        assert sorted(uow.session.scalars(select(Invitation.status))) == ["answered", "cancelled"]


def test_demo_seed_adds_surveys_answers_and_a_summary_line(crm_app):
    import random

    from crmcore_surveys.demo import seed

    from crmcore.api import get_customer

    ids = [
        new_customer(crm_app, f"مشتری {n}", phone=f"0912300{n:04d}", sms=n % 4 != 0)
        for n in range(20)
    ]
    with crm_app.unit_of_work() as uow:
        lines = seed(uow, [get_customer(uow.session, i) for i in ids], random.Random(1403))
    assert len(lines) == 1 and lines[0].startswith("surveys: 2 surveys, 15 invitations")
    out = run(crm_app, "surveys.responses")
    assert [r[0] for r in out["rows"]] == ["csat-support", "nps-after-purchase"]
    assert out["rows"][1][2] == 15 and out["rows"][1][3] > 0
