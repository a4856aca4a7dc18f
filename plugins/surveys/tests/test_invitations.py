"""Consent, the fatigue window across surveys, and tokens."""

import pytest
from crmcore_surveys.models import Invitation
from sqlalchemy import func, select
from surveys_test_helpers import invite_customer, make_survey, new_customer


def count_invitations(app):
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count(Invitation.id)))


def test_fatigue_window_applies_across_surveys_and_ends_after_n_days(crm_app, customer):
    make_survey(crm_app, "nps")
    make_survey(crm_app, "csat", template="csat")
    assert invite_customer(crm_app, "nps", customer).code == "invited"
    crm_app.clock.advance(days=29, hours=23)
    blocked = invite_customer(crm_app, "csat", customer)
    assert blocked.code == "fatigue" and "fatigue window is 30 days" in blocked.reason
    crm_app.clock.advance(hours=1)  # exactly 30 days later
    assert invite_customer(crm_app, "csat", customer).code == "invited"
    assert count_invitations(crm_app) == 2


def test_fatigue_window_is_configurable_and_can_be_ignored_by_hand(crm_app, customer):
    from crmcore_surveys.settings import set_setting

    make_survey(crm_app, "nps")
    invite_customer(crm_app, "nps", customer)
    crm_app.clock.advance(days=8)
    assert invite_customer(crm_app, "nps", customer).code == "fatigue"
    assert invite_customer(crm_app, "nps", customer, ignore_fatigue=True).code == "invited"
    with crm_app.unit_of_work() as uow:
        set_setting(uow, "fatigue_days", 7)
    crm_app.clock.advance(days=8)
    assert invite_customer(crm_app, "nps", customer).code == "invited"


def test_fatigue_counts_scheduled_invitations_too(crm_app, customer):
    make_survey(crm_app, "later", delay="3d")
    make_survey(crm_app, "now")
    assert invite_customer(crm_app, "later", customer).invitation.status == "created"
    assert invite_customer(crm_app, "now", customer).code == "fatigue"


@pytest.mark.parametrize(
    "channel, sms, mail, phone, email, expected",
    [
        ("sms", False, True, "09121234567", "a@example.ir", "no consent to SMS"),
        ("sms", True, True, None, "a@example.ir", "no phone number"),
        ("email", True, False, "09121234567", "a@example.ir", "no consent to email"),
        ("email", True, True, "09121234567", None, "no email address"),
        ("any", False, False, "09121234567", "a@example.ir", "no consent to SMS or email"),
    ],
)
def test_consent_flags_are_respected(crm_app, channel, sms, mail, phone, email, expected):
    cid = new_customer(crm_app, "سارا", phone=phone, email=email, sms=sms, mail=mail)
    make_survey(crm_app, "s", channel=channel)
    d = invite_customer(crm_app, "s", cid, ignore_fatigue=True)
    assert d.code == "consent" and d.reason.startswith(expected)
    assert count_invitations(crm_app) == 0


def test_any_channel_falls_back_to_email_when_sms_is_not_allowed(crm_app):
    cid = new_customer(
        crm_app, "سارا", phone="09121234567", email="s@example.ir", sms=False, mail=True
    )
    make_survey(crm_app, "s", channel="any")
    assert invite_customer(crm_app, "s", cid).invitation.channel == "email"


def test_forgotten_customers_are_never_invited(crm_app, customer):
    from crmcore.api import Customer, forget_customer

    make_survey(crm_app, "s")
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, customer)
    from crmcore_surveys.invitations import invite
    from crmcore_surveys.service import get_survey

    with crm_app.unit_of_work() as uow:
        d = invite(
            uow, get_survey(uow.session, "s"), uow.session.get(Customer, customer), trigger="manual"
        )
    assert d.code in ("customer", "consent")
    assert count_invitations(crm_app) == 0


def test_tokens_are_long_random_and_unique(crm_app, monkeypatch):
    import secrets
    import string

    from crmcore_surveys import invitations

    calls = []
    real = secrets.choice
    monkeypatch.setattr(invitations.secrets, "choice", lambda seq: calls.append(seq) or real(seq))
    make_survey(crm_app, "s")
    tokens = []
    for n in range(30):
        cid = new_customer(crm_app, f"مشتری {n}", phone=f"0912100{n:04d}")
        tokens.append(invite_customer(crm_app, "s", cid).invitation.token)
    assert len(calls) == 30 * 32  # every character drawn from the OS CSPRNG
    assert set(calls) == {string.ascii_letters + string.digits}
    assert len(set(tokens)) == 30
    assert all(len(t) == 32 and t.isascii() and t.isalnum() for t in tokens)
