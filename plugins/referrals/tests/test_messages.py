"""With messaging enabled: the referrer hears that a friend joined, and a reward is announced — except
for imported history (a reward for last year's purchase sends nothing today)."""

from datetime import timedelta

import pytest
from referrals_helpers import attach, load_rules
from sqlalchemy import select

from crmcore.testing import make_customer, record_purchase


@pytest.mark.crm_plugins("loyalty", "messaging", "referrals")
def test_friend_joined_and_reward_messages(crm_app, tmp_path):
    from crmcore_messaging.models import Message
    from crmcore_messaging.service import add_provider, save_template, set_trigger

    with crm_app.unit_of_work() as uow:
        add_provider(
            uow, name="dev", kind="file", channel="sms", options={"path": str(tmp_path / "o")}
        )
        save_template(uow, name="joined", channel="sms", body="{{ friend_name }} با کد شما عضو شد")
        save_template(
            uow,
            name="reward",
            channel="sms",
            body="{{ points|fa }} امتیاز هدیهٔ معرفی {{ friend_name }}",
        )
        set_trigger(uow, event="referral_joined", template="joined", channel="sms")
        set_trigger(uow, event="referral_reward", template="reward", channel="sms")
    load_rules(crm_app, friend=0)
    ali = make_customer(crm_app, "علی", phones=["09121111111"], consent_sms=True)
    old = make_customer(crm_app, "قدیمی", phones=["09122222222"], consent_sms=True)
    sara = make_customer(crm_app, "سارا", phones=["09123333333"], consent_sms=True)
    attach(crm_app, old, ali)
    attach(crm_app, sara, ali)
    joined = crm_app.clock()
    crm_app.clock.advance(days=400)
    record_purchase(crm_app, old, 600_000, at=joined + timedelta(hours=1))  # history, imported late
    record_purchase(crm_app, sara, 600_000)  # live
    with crm_app.unit_of_work(readonly=True) as uow:
        sent = [
            (m.customer_id, m.trigger, m.body)
            for m in uow.session.scalars(select(Message).order_by(Message.id))
        ]
    assert sent[:2] == [
        (ali, "referral_joined", "قدیمی با کد شما عضو شد"),
        (ali, "referral_joined", "سارا با کد شما عضو شد"),
    ]
    assert (ali, "referral_reward", "۱۰۰۰ امتیاز هدیهٔ معرفی سارا") in sent
    assert [s for s in sent if s[1] == "referral_reward"] == [
        (ali, "referral_reward", "۱۰۰۰ امتیاز هدیهٔ معرفی سارا")
    ]  # none for the history
