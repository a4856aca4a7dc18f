"""Campaigns: segment (tags, city, last purchase), preview, dry-run count, run, rerun, schedule, cancel."""

from datetime import timedelta

import pytest
from crmcore_messaging.campaigns import (
    cancel_campaign,
    count_campaign,
    create_campaign,
    get_campaign,
    preview_campaign,
    run_campaign,
)
from crmcore_messaging.models import Message
from crmcore_messaging.service import add_provider, save_template
from sqlalchemy import select

from crmcore.api import ValidationError, get_customer
from crmcore.testing import make_customer, record_purchase, run_jobs

from .conftest import at_tehran


@pytest.fixture
def shop(crm_app, setup, tmp_path):
    at_tehran(crm_app, 2025, 5, 1, 12)
    setup(
        lambda uow: save_template(
            uow,
            name="saffron",
            channel="sms",
            category="promotional",
            body="{{ first_name }} عزیز، کمپین {{ campaign }}: زعفران ۲۰٪ ارزان‌تر",
        )
    )
    setup(
        lambda uow: add_provider(
            uow,
            name="dev",
            kind="file",
            channel="sms",
            options={"path": str(tmp_path / "sms.jsonl")},
        )
    )
    ids = {
        "vip_tehran": make_customer(
            crm_app,
            "علی کریمی",
            phones=["09120000001"],
            tags=["vip"],
            city="تهران",
            consent_sms=True,
        ),
        "vip_no_consent": make_customer(
            crm_app, "زهرا", phones=["09120000002"], tags=["vip"], city="تهران"
        ),
        "vip_landline": make_customer(
            crm_app, "شرکت", phones=["02188888888"], tags=["vip"], city="تهران", consent_sms=True
        ),
        "vip_shiraz": make_customer(
            crm_app, "رضا", phones=["09120000004"], tags=["vip"], city="شیراز", consent_sms=True
        ),
        "plain_tehran": make_customer(
            crm_app, "سارا", phones=["09120000005"], city="تهران", consent_sms=True
        ),
    }
    record_purchase(crm_app, ids["vip_tehran"], "1000", at=crm_app.now() - timedelta(days=200))
    record_purchase(crm_app, ids["vip_shiraz"], "1000", at=crm_app.now() - timedelta(days=3))
    return ids


def make(crm_app, where, name="spring", at=None):
    with crm_app.unit_of_work() as uow:
        return create_campaign(
            uow, name=name, template="saffron", channel="sms", where=where, at=at
        ).id


def sent_to(crm_app):
    with crm_app.unit_of_work(readonly=True) as uow:
        return sorted((m.customer_id, m.status) for m in uow.session.scalars(select(Message)))


def test_dry_run_count_explains_who_is_left_out(crm_app, shop):
    make(crm_app, ["tag=vip", "city=تهران"])
    with crm_app.unit_of_work(readonly=True) as uow:
        assert count_campaign(uow, get_campaign(uow, "spring")) == {
            "matching": 3,
            "with_consent": 2,
            "no_consent": 1,
            "no_recipient": 1,
            "frequency_capped": 0,
            "already_queued": 0,
            "would_send": 1,
        }
    assert sent_to(crm_app) == []


def test_last_purchase_segment(crm_app, shop):
    make(crm_app, ["tag=vip", "last_purchase<1404-01-01"], name="lapsed")  # before Nowruz 1404
    make(crm_app, ["last_purchase>=2025-04-01"], name="recent")
    with crm_app.unit_of_work(readonly=True) as uow:
        assert count_campaign(uow, get_campaign(uow, "lapsed"))["matching"] == 1
        assert count_campaign(uow, get_campaign(uow, "recent"))["matching"] == 1


def test_preview_for_one_customer(crm_app, shop):
    make(crm_app, ["tag=vip"])
    with crm_app.unit_of_work(readonly=True) as uow:
        out = preview_campaign(
            uow, get_campaign(uow, "spring"), get_customer(uow.session, shop["vip_tehran"])
        )
    assert out["body"] == "علی عزیز، کمپین spring: زعفران ۲۰٪ ارزان‌تر"


def test_run_sends_to_reachable_members_once_and_a_rerun_adds_only_newcomers(crm_app, shop):
    make(crm_app, ["tag=vip"])
    with crm_app.unit_of_work() as uow:
        totals = run_campaign(uow, get_campaign(uow, "spring"))
    assert totals == {"queued": 2, "skipped": 0, "failed": 0, "blocked": 0, "already": 0}
    assert sent_to(crm_app) == [
        (shop["vip_tehran"], "delivered"),
        (shop["vip_shiraz"], "delivered"),
    ]
    newcomer = make_customer(
        crm_app, "نرگس", phones=["09120000009"], tags=["vip"], consent_sms=True
    )
    with crm_app.unit_of_work() as uow:
        totals = run_campaign(uow, get_campaign(uow, "spring"))
    assert (totals["queued"], totals["already"]) == (1, 2)
    assert [c for c, _ in sent_to(crm_app)].count(newcomer) == 1 and len(sent_to(crm_app)) == 3


def test_scheduled_campaign_runs_from_the_job_at_its_time_and_respects_quiet_hours(crm_app, shop):
    from crmcore.api import parse_datetime

    make(crm_app, ["tag=vip"], at=parse_datetime("1404-02-11 23:00"))  # 1 May 2025, 23:00 Tehran
    run_jobs(crm_app)
    assert sent_to(crm_app) == []
    at_tehran(crm_app, 2025, 5, 1, 23, 5)
    results = {r["job"]: r for r in run_jobs(crm_app)}
    assert results["messaging.campaigns"]["summary"]["spring"]["queued"] == 2
    assert sent_to(crm_app) == [
        (shop["vip_tehran"], "queued"),
        (shop["vip_shiraz"], "queued"),
    ]  # night
    at_tehran(crm_app, 2025, 5, 2, 8, 1)
    run_jobs(crm_app, only=["messaging.deliver"])
    assert [s for _, s in sent_to(crm_app)] == ["delivered", "delivered"]


def test_cancel_skips_unsent_messages(crm_app, shop):
    at_tehran(crm_app, 2025, 5, 1, 23, 5)
    make(crm_app, ["tag=vip"])
    with crm_app.unit_of_work() as uow:
        run_campaign(uow, get_campaign(uow, "spring"))
    with crm_app.unit_of_work() as uow:
        assert cancel_campaign(uow, get_campaign(uow, "spring")) == 2
    at_tehran(crm_app, 2025, 5, 2, 9)
    run_jobs(crm_app)
    assert [s for _, s in sent_to(crm_app)] == ["skipped", "skipped"]


@pytest.mark.parametrize(
    "where, message",
    [
        (["colour=red"], "unknown search field 'colour'"),
        (["tag>vip"], "tag takes = or !="),
        (["last_purchase<1404-13-01"], "not a date in the Jalali calendar"),
    ],
)
def test_bad_segments_are_refused(crm_app, shop, where, message):
    with pytest.raises(ValidationError, match=message):
        make(crm_app, where)
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore_messaging.models import Campaign

        assert uow.session.scalars(select(Campaign)).all() == []


def test_campaign_in_the_past_is_refused(crm_app, shop):
    with pytest.raises(ValidationError, match="in the past"):
        make(crm_app, ["tag=vip"], at=crm_app.now() - timedelta(hours=1))
