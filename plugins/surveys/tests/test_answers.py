"""Answers: stored as responses and interactions, tokens used once, detractor follow-up with and without
tickets, versions, CSV import."""

import pytest
from crmcore_surveys.models import FollowUp, Invitation, Response
from sqlalchemy import func, select
from surveys_test_helpers import answer, invite_customer, make_survey, new_customer

from crmcore.api import Conflict, Interaction, NotFound, ValidationError, hookimpl
from crmcore.testing import outbox_events


def count(app, model):
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def token(crm_app, customer):
    make_survey(crm_app, "nps")
    return invite_customer(crm_app, "nps", customer).invitation.token


def test_an_answer_is_stored_as_response_and_interaction_and_announced(crm_app, customer, token):
    rid = answer(crm_app, token, {"nps": "۹", "why": "ارسال سریع"})
    with crm_app.unit_of_work(readonly=True) as uow:
        r = uow.session.get(Response, rid)
        assert (r.score, r.nps_score, r.comment, r.detractor, r.version) == (
            9,
            9,
            "ارسال سریع",
            False,
            1,
        )
        i = uow.session.get(Interaction, r.interaction_id)
        assert (i.kind, i.customer_id, i.channel, i.direction) == (
            "survey_answer",
            customer,
            "sms",
            "in",
        )
        assert (
            i.payload["answers"] == {"nps": 9, "why": "ارسال سریع"} and i.payload["survey"] == "nps"
        )
        assert uow.session.scalar(select(Invitation.status)) == "answered"
    [event] = outbox_events(crm_app, "surveys_survey_answered")
    assert event["payload"]["score"] == 9 and event["customer_id"] == customer
    assert outbox_events(crm_app, "surveys_detractor") == []


def test_a_token_is_used_once(crm_app, token):
    answer(crm_app, token, {"nps": 10})
    with pytest.raises(Conflict, match="already answered .* a token is used once") as err:
        answer(crm_app, token, {"nps": 3})
    assert err.value.field == "token"
    assert count(crm_app, Response) == 1


@pytest.mark.parametrize("bad", ["", "nope", "x" * 32])
def test_unknown_tokens_are_refused(crm_app, token, bad):
    with pytest.raises(NotFound, match="no invitation has this token"):
        answer(crm_app, bad, {"nps": 3})


def test_out_of_range_answer_changes_nothing(crm_app, token):
    with pytest.raises(ValidationError, match="11 is out of range: a NPS answer is 0–10"):
        answer(crm_app, token, {"nps": 11})
    assert count(crm_app, Response) == count(crm_app, Interaction) == 0
    assert outbox_events(crm_app, "surveys_survey_answered") == []
    answer(crm_app, token, {"nps": 10})  # the token is still usable


def test_expired_and_cancelled_invitations_cannot_be_answered(crm_app, customer, token):
    from crmcore_surveys.invitations import cancel_invitation

    crm_app.clock.advance(days=30)
    with pytest.raises(Conflict, match="expired"):
        answer(crm_app, token, {"nps": 5})
    other = invite_customer(crm_app, "nps", customer).invitation.token
    with crm_app.unit_of_work() as uow:
        cancel_invitation(uow, other)
    with pytest.raises(Conflict, match="was cancelled"):
        answer(crm_app, other, {"nps": 5})


def test_detractor_without_tickets_goes_to_the_follow_up_list(crm_app, customer, token):
    from crmcore_surveys.followups import close_followup, list_followups

    rid = answer(crm_app, token, {"nps": 4, "why": "دیر رسید"})
    assert len(outbox_events(crm_app, "surveys_detractor")) == 1
    with crm_app.unit_of_work(readonly=True) as uow:
        [item] = list_followups(uow.session)
        assert (item.response_id, item.customer_id, item.status) == (rid, customer, "open")
        assert uow.session.get(Response, rid).followup == "follow-up list"
        item_id = item.id
    with crm_app.unit_of_work() as uow:
        close_followup(uow, item_id, "تماس گرفته شد")
    with crm_app.unit_of_work(readonly=True) as uow:
        assert list_followups(uow.session) == []
    with pytest.raises(Conflict, match="already closed"):
        with crm_app.unit_of_work() as uow:
            close_followup(uow, item_id)


class Ticket:
    def __init__(self, id, subject):
        self.id, self.subject = id, subject


class FakeTickets:
    """Stands in for the tickets plugin: turns a detractor into a ticket."""

    def __init__(self):
        self.opened = []

    @hookimpl
    def surveys_detractor(self, uow, response, customer):
        self.opened.append(
            (response.id, response.score, response.comment, response.survey_name, customer.id)
        )
        return Ticket(900 + len(self.opened), f"NPS {response.score}")


def test_detractor_with_tickets_installed_becomes_a_ticket_not_a_follow_up(
    crm_app_factory, crm_app, customer, token
):
    tickets = FakeTickets()
    app = crm_app_factory(extra_plugins=[("tickets", tickets, None)], clock=crm_app.clock)
    rid = answer(app, token, {"nps": 2, "why": "قیمت بالا"})
    assert tickets.opened == [(rid, 2, "قیمت بالا", "nps", customer)]
    assert count(app, FollowUp) == 0
    with app.unit_of_work(readonly=True) as uow:
        assert uow.session.get(Response, rid).followup == "ticket 901"


def test_csat_detractor_and_passives_are_not_followed_up(crm_app, customer):
    make_survey(crm_app, "csat", template="csat")
    from crmcore_surveys.settings import set_setting

    with crm_app.unit_of_work() as uow:
        set_setting(uow, "fatigue_days", 0)
    answer(crm_app, invite_customer(crm_app, "csat", customer).invitation.token, {"csat": 3})
    assert count(crm_app, FollowUp) == 0
    answer(crm_app, invite_customer(crm_app, "csat", customer).invitation.token, {"csat": 2})
    assert count(crm_app, FollowUp) == 1


def test_new_versions_keep_old_invitations_on_their_questions(crm_app, customer, token):
    from crmcore_surveys.service import revise_survey

    with crm_app.unit_of_work() as uow:
        v = revise_survey(
            uow,
            "nps",
            [
                {"key": "nps", "type": "nps", "text": {"fa": "امتیاز", "en": "Score"}},
                {"key": "staff", "type": "single", "text": "کارکنان؟", "choices": ["kind", "rude"]},
            ],
        )
        assert v.version == 2
    with pytest.raises(ValidationError, match="no question 'staff'"):
        answer(crm_app, token, {"nps": 9, "staff": "kind"})  # sent with version 1
    rid = answer(crm_app, token, {"nps": 9, "why": "خوب"})
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.get(Response, rid).version == 1
    crm_app.clock.advance(days=31)
    new = invite_customer(crm_app, "nps", customer).invitation.token
    rid2 = answer(crm_app, new, {"nps": 9, "staff": "kind"})
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.get(Response, rid2).version == 2
    with pytest.raises(ValidationError, match="same as version 2"):
        with crm_app.unit_of_work() as uow:
            revise_survey(
                uow,
                "nps",
                [
                    {"key": "nps", "type": "nps", "text": {"fa": "امتیاز", "en": "Score"}},
                    {
                        "key": "staff",
                        "type": "single",
                        "text": "کارکنان؟",
                        "choices": ["kind", "rude"],
                    },
                ],
            )


def _tokens(app, n):
    make_survey(app, "nps")
    out = []
    for k in range(n):
        cid = new_customer(app, f"مشتری {k}", phone=f"0912200{k:04d}")
        out.append(invite_customer(app, "nps", cid).invitation.token)
    return out


def test_csv_import_records_every_row(crm_app, tmp_path):
    t = _tokens(crm_app, 3)
    crm_app.clock.advance(hours=1)  # invited 12:30 Tehran time, imported 13:30
    f = tmp_path / "answers.csv"
    f.write_text(
        f"token,answered_at,nps,why\n{t[0]},,10,عالی\n{t[1]},2025-03-21 13:00,6,\n\n{t[2]},,۸,\n",
        encoding="utf-8",
    )
    from crmcore_surveys.answers import import_answers

    with crm_app.unit_of_work() as uow:
        assert import_answers(uow, f) == {"recorded": 3, "detractors": 1}
    assert count(crm_app, Response) == 3 and count(crm_app, FollowUp) == 1


@pytest.mark.parametrize(
    "rows, row, error, reason",
    [
        ("{0},,10,\n{1},,12,\n", 3, ValidationError, "out of range"),
        ("{0},,10,\n{0},,9,\n", 3, Conflict, "already answered"),
        ("{0},,10,\nunknown,,9,\n", 3, NotFound, "no invitation has this token"),
        ("{0},2030-01-01,10,\n", 2, ValidationError, "in the future"),
        ("{0},,10,\n{1},1403-12-01,10,\n", 3, ValidationError, "before the invitation was made"),
    ],
)
def test_csv_import_names_the_bad_row_and_stores_nothing(
    crm_app, tmp_path, rows, row, error, reason
):
    from crmcore_surveys.answers import import_answers

    t = _tokens(crm_app, 2)
    f = tmp_path / "answers.csv"
    f.write_text("token,answered_at,nps,why\n" + rows.format(*t), encoding="utf-8")
    with pytest.raises(error) as err:
        with crm_app.unit_of_work() as uow:
            import_answers(uow, f)
    assert err.value.row == row and reason in str(err.value)
    assert count(crm_app, Response) == count(crm_app, Interaction) == 0


def test_csv_without_token_column_is_refused(crm_app, tmp_path):
    from crmcore_surveys.answers import import_answers

    f = tmp_path / "answers.csv"
    f.write_text("nps\n9\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="no 'token' column"):
        with crm_app.unit_of_work() as uow:
            import_answers(uow, f)


def test_an_answer_on_the_customer_timeline_shows_its_score_and_comment(crm_app, customer, token):
    """The kernel's survey-answer interaction on the 360° timeline says what surveys says about
    it (``crm_interaction_details``): the score and the comment, in both languages."""
    from crmcore.api import get_customer
    from crmcore.testing import customer_timeline

    answer(crm_app, token, {"nps": "۹", "why": "ارسال سریع"})
    with crm_app.unit_of_work(readonly=True) as uow:
        page = customer_timeline(uow, get_customer(uow.session, customer), only="kernel")
        [(plugin, entry)] = [(p, e) for p, e in page.entries if e.title.en == "survey answer"]
    assert plugin == "kernel"
    assert entry.detail.en == "score 9 · “ارسال سریع”"
    assert entry.detail.fa == "امتیاز ۹ · «ارسال سریع»"
