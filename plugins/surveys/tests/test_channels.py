"""Surveys with messaging: one link setting for every channel, honest statuses (created → queued →
delivered from the channel's own log), and answers by SMS reply («۹», «9 عالی بود», Arabic
digits)."""

import json

import pytest
from surveys_test_helpers import invite_customer, make_survey, new_customer


@pytest.fixture
def crm_plugins():
    return ["surveys", "messaging"]


@pytest.fixture
def sms_file(crm_app, tmp_path):
    from crmcore_messaging.service import add_provider

    path = tmp_path / "sms.jsonl"
    with crm_app.unit_of_work() as uow:
        add_provider(uow, name="dev", kind="file", channel="sms", options={"path": str(path)})
    return path


def _invitations(crm_cli):
    return [
        (r["status"], r["note"]) for r in crm_cli("surveys", "invitations", "nps", "--json").json()
    ]


def _sms_trigger(crm_app):
    from crmcore_messaging.service import save_template, set_trigger

    with crm_app.unit_of_work() as uow:
        save_template(
            uow, name="survey", channel="sms", body="نظر شما درباره خرید: {{ survey_url }}"
        )
        set_trigger(uow, event="survey_invitation", template="survey", channel="sms")


def test_statuses_are_honest_and_the_link_setting_reaches_the_sms(crm_app, crm_cli, sms_file):
    from crmcore_messaging.settings import set_setting

    first = new_customer(crm_app, "مریم رضایی", phone="09121234567")
    second = new_customer(crm_app, "علی کریمی", phone="09351234567")
    make_survey(crm_app, "nps", channel="sms")
    assert (
        crm_cli("surveys", "settings", "--link-template", "https://shop.ir/s/{token}").exit_code
        == 0
    )
    with crm_app.unit_of_work() as uow:  # messaging's own old setting no longer decides the link
        set_setting(uow, "survey_base_url", "https://old.example/s")
    # before any SMS trigger exists nothing sends it: it stays "created" and says why
    invite_customer(crm_app, "nps", first, ignore_fatigue=True)
    [(status, note)] = _invitations(crm_cli)
    assert status == "created" and "survey_invitation" in note
    assert crm_cli("surveys", "invitations", "nps", "--status", "sent", "--json").json() == []
    _sms_trigger(crm_app)
    token = invite_customer(crm_app, "nps", second, ignore_fatigue=True).invitation.token
    assert [s for s, _n in _invitations(crm_cli)] == ["delivered", "created"]
    [line] = [json.loads(x) for x in sms_file.read_text(encoding="utf-8").splitlines()]
    assert line["body"] == f"نظر شما درباره خرید: https://shop.ir/s/{token}"


@pytest.mark.parametrize(
    "reply, score, comment",
    [("۹", 9, None), ("9 عالی بود", 9, "عالی بود"), ("٧ - خوب بود", 7, "خوب بود")],
)
def test_an_sms_reply_answers_the_open_invitation(
    crm_app, crm_cli, sms_file, reply, score, comment
):
    from crmcore_surveys.models import Response
    from sqlalchemy import select

    customer = new_customer(crm_app, "مریم رضایی", phone="09121234567")
    make_survey(crm_app, "nps", channel="sms")
    _sms_trigger(crm_app)
    invite_customer(crm_app, "nps", customer)
    out = crm_cli("messages", "inbound", "--from", "+989121234567", "--text", reply, "--json")
    assert out.exit_code == 0, out.stderr
    with crm_app.unit_of_work(readonly=True) as uow:
        assert [
            (r.nps_score, r.comment, r.channel) for r in uow.session.scalars(select(Response))
        ] == [(score, comment, "sms")]
    assert [s for s, _n in _invitations(crm_cli)] == ["answered"]
    # the invitation is used: a second reply is kept as a message and answers nothing
    crm_cli("messages", "inbound", "--from", "+989121234567", "--text", "10")
    with crm_app.unit_of_work(readonly=True) as uow:
        assert len(list(uow.session.scalars(select(Response)))) == 1


def test_replies_that_are_not_answers_change_nothing(crm_app, crm_cli, sms_file):
    from crmcore_surveys.models import Response
    from sqlalchemy import select

    from crmcore.api import Interaction

    customer = new_customer(crm_app, "مریم رضایی", phone="09121234567")
    make_survey(crm_app, "nps", channel="sms")
    _sms_trigger(crm_app)
    invite_customer(crm_app, "nps", customer)
    for text in ("لغو", "کی می‌رسه؟", "11", "12345"):
        assert (
            crm_cli("messages", "inbound", "--from", "+989121234567", "--text", text).exit_code == 0
        )
    with crm_app.unit_of_work(readonly=True) as uow:
        assert list(uow.session.scalars(select(Response))) == []
        notes = [
            i.payload.get("survey_answer")
            for i in uow.session.scalars(
                select(Interaction).where(
                    Interaction.kind == "message", Interaction.direction == "in"
                )
            )
        ]
    assert notes[:2] == [None, None] and notes[3] is None
    assert notes[2]["recorded"] is False and "out of range" in notes[2]["reason"]


def test_a_reply_answers_nothing_when_no_survey_sms_was_queued(crm_app, crm_cli, sms_file):
    from crmcore_surveys.models import Response
    from sqlalchemy import select

    customer = new_customer(crm_app, "مریم رضایی", phone="09121234567")
    make_survey(crm_app, "nps", channel="sms")
    invite_customer(crm_app, "nps", customer)  # no survey_invitation trigger: nothing was sent
    assert crm_cli("messages", "inbound", "--from", "+989121234567", "--text", "9").exit_code == 0
    with crm_app.unit_of_work(readonly=True) as uow:
        assert list(uow.session.scalars(select(Response))) == []
    assert [s for s, _n in _invitations(crm_cli)] == ["created"]
