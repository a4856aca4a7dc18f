"""Each trigger, sampling, delay and the stale-history guard."""

from datetime import timedelta
from types import SimpleNamespace

from crmcore_surveys.models import Invitation
from sqlalchemy import select
from surveys_test_helpers import make_survey, new_customer

from crmcore.testing import emit_event, outbox_events, record_purchase, run_jobs

TEA = {"lines": [{"sku": "TEA-01", "category": "چای", "quantity": 1, "amount": "450000"}]}
SAFFRON = {"lines": [{"sku": "SAF-05", "category": "زعفران", "quantity": 1, "amount": "2800000"}]}


def invitations(app):
    with app.unit_of_work(readonly=True) as uow:
        return [
            (i.survey.name, i.customer_id, i.trigger, i.source_key, i.status)
            for i in uow.session.scalars(select(Invitation).order_by(Invitation.id))
        ]


def test_purchase_of_a_listed_sku_invites_and_announces_the_invitation(crm_app, customer):
    make_survey(crm_app, "after-saffron", triggers=["purchase sku=SAF-05"])
    record_purchase(crm_app, customer, 450000, payload=TEA)
    assert invitations(crm_app) == []
    pid = record_purchase(crm_app, customer, 2800000, payload=SAFFRON)
    assert invitations(crm_app) == [
        ("after-saffron", customer, "purchase", f"purchase:{pid}", "created")
    ]
    [event] = outbox_events(crm_app, "surveys_invitation_created")
    assert event["customer_id"] == customer
    assert event["payload"]["channel"] == "sms" and len(event["payload"]["token"]) == 32


def test_purchase_in_a_category_invites_with_persian_spelling_variants(crm_app, customer):
    make_survey(crm_app, "tea", triggers=["purchase category=چاي"])  # Arabic yeh in the trigger
    record_purchase(crm_app, customer, 2800000, payload=SAFFRON)
    assert invitations(crm_app) == []
    record_purchase(crm_app, customer, 450000, payload=TEA)
    assert [i[2] for i in invitations(crm_app)] == ["purchase"]


def test_spending_threshold_invites_once_when_crossed_within_the_window(crm_app, customer):
    make_survey(crm_app, "big-spender", triggers=["spend at_least=5000000 days=30"])
    crm_app.clock.advance(days=1)
    record_purchase(crm_app, customer, 3000000)
    assert invitations(crm_app) == []
    crm_app.clock.advance(days=10)
    crossing = record_purchase(crm_app, customer, 2000000)  # 5,000,000 within 30 days: crossed now
    assert invitations(crm_app) == [
        ("big-spender", customer, "spend", f"spend:{crossing}", "created")
    ]
    crm_app.clock.advance(days=1)
    record_purchase(crm_app, customer, 1000000)  # already above: no second invitation
    assert len(invitations(crm_app)) == 1


def test_spending_outside_the_window_or_in_another_currency_does_not_count(crm_app, customer):
    make_survey(crm_app, "big-spender", triggers=["spend at_least=5000000 days=30"])
    record_purchase(crm_app, customer, 4000000)
    crm_app.clock.advance(days=31)
    record_purchase(crm_app, customer, 2000000)
    record_purchase(crm_app, customer, 900, currency="USD")
    assert invitations(crm_app) == []


def test_closed_ticket_and_won_deal_invite_through_optional_hooks(crm_app, customer):
    make_survey(crm_app, "support", template="csat", triggers=["ticket_closed"])
    make_survey(crm_app, "sales", triggers=["deal_won"])
    with crm_app.unit_of_work() as uow:
        from crmcore_surveys.settings import set_setting

        set_setting(uow, "fatigue_days", 0)
    emit_event(
        crm_app,
        "tickets_ticket_closed",
        customer_id=customer,
        ticket=SimpleNamespace(id=41, customer_id=customer),
    )
    emit_event(
        crm_app,
        "pipeline_deal_won",
        customer_id=customer,
        deal=SimpleNamespace(id=7, customer_id=customer),
    )
    emit_event(
        crm_app,
        "tickets_ticket_closed",
        customer_id=customer,
        ticket=SimpleNamespace(id=41, customer_id=customer),
    )
    assert invitations(crm_app) == [
        ("support", customer, "ticket_closed", "ticket:41", "created"),
        ("sales", customer, "deal_won", "deal:7", "created"),
    ]


def test_first_purchase_trigger_fires_from_the_job_n_days_later_once(crm_app, customer):
    make_survey(crm_app, "welcome", triggers=["first_purchase days=7"])
    record_purchase(crm_app, customer, 450000)
    other = new_customer(crm_app, "رضا کریمی", phone="09351112233")
    [result] = run_jobs(crm_app, only=["surveys.first_purchase"])
    assert result["summary"] == {"invited": 0, "skipped": 0}
    crm_app.clock.advance(days=7)
    record_purchase(crm_app, other, 100000)  # other's first purchase is today: not due yet
    [result] = run_jobs(crm_app, only=["surveys.first_purchase"])
    assert result["summary"] == {"invited": 1, "skipped": 0}
    assert invitations(crm_app) == [
        ("welcome", customer, "first_purchase", "first_purchase", "created")
    ]
    crm_app.clock.advance(days=1)
    run_jobs(crm_app, only=["surveys.first_purchase"])
    assert len(invitations(crm_app)) == 1


def test_delay_schedules_and_the_job_sends_when_due(crm_app, customer):
    make_survey(crm_app, "later", triggers=["purchase"], delay="2d")
    record_purchase(crm_app, customer, 450000)
    assert [i[4] for i in invitations(crm_app)] == ["created"]
    assert outbox_events(crm_app, "surveys_invitation_created") == []
    crm_app.clock.advance(days=1)
    assert run_jobs(crm_app, only=["surveys.send_due"])[0]["summary"] == {"sent": 0, "cancelled": 0}
    crm_app.clock.advance(days=1)
    assert run_jobs(crm_app, only=["surveys.send_due"])[0]["summary"] == {"sent": 1, "cancelled": 0}
    assert [i[4] for i in invitations(crm_app)] == ["created"]
    assert len(outbox_events(crm_app, "surveys_invitation_created")) == 1


def test_scheduled_invitation_is_cancelled_if_consent_is_withdrawn_before_sending(
    crm_app, customer
):
    from crmcore.api import update_customer

    make_survey(crm_app, "later", triggers=["purchase"], delay="1h")
    record_purchase(crm_app, customer, 450000)
    with crm_app.unit_of_work() as uow:
        update_customer(uow, customer, consent_sms=False)
    crm_app.clock.advance(hours=2)
    assert run_jobs(crm_app, only=["surveys.send_due"])[0]["summary"] == {"sent": 0, "cancelled": 1}
    assert outbox_events(crm_app, "surveys_invitation_created") == []


def test_imported_history_triggers_nothing(crm_app, customer):
    make_survey(crm_app, "any-purchase", triggers=["purchase"])
    record_purchase(crm_app, customer, 450000, at=crm_app.clock.now - timedelta(days=8))
    assert invitations(crm_app) == []
    record_purchase(crm_app, customer, 450000, at=crm_app.clock.now - timedelta(days=6))
    assert len(invitations(crm_app)) == 1


def test_paused_survey_does_not_trigger(crm_app, customer):
    make_survey(crm_app, "paused", triggers=["purchase"], status="paused")
    record_purchase(crm_app, customer, 450000)
    assert invitations(crm_app) == []


def test_sampling_is_stable_per_event_and_close_to_the_percentage(crm_app):
    from crmcore_surveys.invitations import sampled_in

    s = SimpleNamespace(id=3, sample_percent=25)
    picks = [sampled_in(s, c, f"purchase:{c * 7}") for c in range(2000)]
    assert 400 <= sum(picks) <= 600  # 25% of 2000 = 500
    assert picks == [sampled_in(s, c, f"purchase:{c * 7}") for c in range(2000)]
    assert all(sampled_in(SimpleNamespace(id=3, sample_percent=100), c, "x") for c in range(200))
    assert (
        5
        <= sum(sampled_in(SimpleNamespace(id=3, sample_percent=1), c, "x") for c in range(2000))
        <= 40
    )


def test_sampled_out_events_are_not_invited(crm_app):
    from crmcore_surveys.invitations import sampled_in

    make_survey(crm_app, "sampled", triggers=["purchase"], sample_percent=30)
    with crm_app.unit_of_work() as uow:
        from crmcore_surveys.settings import set_setting

        set_setting(uow, "fatigue_days", 0)
    customers = [new_customer(crm_app, f"مشتری {n}", phone=f"0912000{n:04d}") for n in range(40)]
    purchases = {c: record_purchase(crm_app, c, 1000) for c in customers}
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore_surveys.service import get_survey

        survey = get_survey(uow.session, "sampled")
        expected = sorted(c for c, p in purchases.items() if sampled_in(survey, c, f"purchase:{p}"))
    got = sorted(i[1] for i in invitations(crm_app))
    assert got == expected
    assert 0 < len(got) < 40


def test_trigger_on_a_plugin_that_is_not_enabled_warns_and_never_crashes(crm_app, customer):
    _sid, warnings = make_survey(
        crm_app, "support", template="csat", triggers=["ticket_closed", "purchase"]
    )
    assert len(warnings) == 1 and "'tickets' plugin, which is not enabled" in warnings[0]
    record_purchase(crm_app, customer, 1000)  # the rest of the survey works
    assert [i[2] for i in invitations(crm_app)] == ["purchase"]
