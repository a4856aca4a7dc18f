"""Helpers shared by the surveys tests."""

from datetime import datetime, timezone

from crmcore.api import add_customer


def new_customer(app, name, *, phone=None, email=None, sms=True, mail=True, tags=(), city=None):
    with app.unit_of_work() as uow:
        return add_customer(
            uow,
            name=name,
            phones=[phone] if phone else [],
            emails=[email] if email else [],
            consent_sms=sms,
            consent_email=mail,
            tags=list(tags),
            city=city,
        ).id


def make_survey(app, name="nps", *, template="nps", **kwargs):
    from crmcore_surveys.service import create_survey, definition_from_template

    kwargs.setdefault("title", "How did we do?")
    kwargs.setdefault("title_fa", "نظر شما")
    with app.unit_of_work() as uow:
        survey, warnings = create_survey(
            uow, name=name, questions=definition_from_template(template), **kwargs
        )
        return survey.id, warnings


def invite_customer(app, survey_name, customer_id, **kwargs):
    """Invite manually; returns the Decision (invitation detached, token readable)."""
    from crmcore_surveys.invitations import invite
    from crmcore_surveys.service import get_survey

    from crmcore.api import get_customer

    kwargs.setdefault("sample", False)
    with app.unit_of_work() as uow:
        return invite(
            uow,
            get_survey(uow.session, survey_name),
            get_customer(uow.session, customer_id),
            trigger="manual",
            **kwargs,
        )


def answer(app, token, answers, **kwargs):
    from crmcore_surveys.answers import record_answer

    with app.unit_of_work() as uow:
        r = record_answer(uow, token, answers, **kwargs)
        return r.id


def utc(*args):
    return datetime(*args, tzinfo=timezone.utc)
