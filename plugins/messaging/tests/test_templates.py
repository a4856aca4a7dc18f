from datetime import date

import pytest
from crmcore_messaging.models import Template
from crmcore_messaging.outbox import render_for
from crmcore_messaging.service import save_template, set_trigger
from crmcore_messaging.templating import SAMPLE, render_source
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crmcore.api import Conflict, ValidationError, update_customer
from crmcore.testing import assert_migrations_match_models, make_customer


def templates_count(app):
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Template))


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "messaging")


def test_persian_fields_toman_jalali_and_persian_digits(crm_app, customer, setup):
    body = (
        "{{ first_name }} عزیز، خرید {{ amount|toman(true) }} شما در {{ purchased_at|jalali(true)|fa }} "
        "ثبت شد؛ {{ points|number|fa }} امتیاز تا {{ expires_on|jalali }} می‌ماند."
    )
    setup(lambda uow: save_template(uow, name="t", channel="sms", body=body))
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore.api import get_customer

        c = get_customer(uow.session, customer)
        _t, subject, text = render_for(
            uow,
            c,
            "t",
            "sms",
            {
                "amount": 12_500_000,
                "purchased_at": date(2025, 3, 21),
                "points": 1500,
                "expires_on": date(2025, 4, 20),
            },
        )
    assert subject is None
    assert text == (
        "مریم عزیز، خرید ۱٬۲۵۰٬۰۰۰ تومان شما در ۱ فروردین ۱۴۰۴ ثبت شد؛ ۱٬۵۰۰ امتیاز تا 1404-01-31 می‌ماند."
    )


def test_english_customer_gets_the_english_template_and_others_fall_back_to_persian(
    crm_app, customer, setup
):
    setup(lambda uow: save_template(uow, name="hi", channel="sms", body="سلام {{ first_name }}"))
    setup(
        lambda uow: save_template(
            uow, name="hi", channel="sms", language="en", body="Hello {{ first_name }}"
        )
    )
    english = make_customer(
        crm_app, "John Smith", phones=["09351234567"], attributes={"language": "en"}
    )
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore.api import get_customer

        assert render_for(uow, get_customer(uow.session, english), "hi", "sms")[2] == "Hello John"
        assert render_for(uow, get_customer(uow.session, customer), "hi", "sms")[2] == "سلام مریم"


@pytest.mark.parametrize(
    "body, reason",
    [
        ("سلام {{ nmae }}", "unknown field 'nmae'"),
        ("{% if name %}سلام", "line 1"),
        ("{{ name|toman }}", "expected a whole number"),
        ("", "empty"),
    ],
)
def test_bad_templates_are_refused_with_a_reason_and_nothing_is_stored(crm_app, body, reason):
    with pytest.raises(ValidationError) as err:
        with crm_app.unit_of_work() as uow:
            save_template(uow, name="bad", channel="sms", body=body)
    assert reason in str(err.value)
    assert err.value.field == "body"
    assert templates_count(crm_app) == 0


ESCAPES = [
    "{{ name.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ tags.__class__ }}",
    "{{ tags|attr('__class__') }}",
    "{{ name.upper.__self__ }}",
    "{{ '{0.__class__.__init__.__globals__}'.format(name) }}",
    "{{ self.__init__.__globals__ }}",
    "{{ tags.append('x') }}",
    "{{ tags.pop() }}",
    "{{ 'a' * 100000000 }}",
    "{{ tags * 100000000 }}",
    "{{ 9 ** 99999999 }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{% for i in range(100000000) %}x{% endfor %}",
    "{{ config.items() }}",
    "{{ request.application.__globals__ }}",
    "{% set x = name.__class__ %}{{ x }}",
]


@pytest.mark.parametrize("source", ESCAPES)
def test_sandbox_escape_attempts_are_refused(crm_app, source):
    with pytest.raises(ValidationError) as err:
        with crm_app.unit_of_work() as uow:
            save_template(uow, name="evil", channel="sms", body=source)
    assert any(
        word in str(err.value)
        for word in ("sandbox forbids", "not available", "unknown field", "could not be rendered")
    )
    assert templates_count(crm_app) == 0


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=60).filter(lambda s: s.strip()))
def test_customer_data_is_printed_never_evaluated(name):
    # a customer called "{{ 7*7 }}" or "{% … %}" is shown as typed: data never becomes template code
    assert render_source("{{ name }}", {**SAMPLE, "name": name}) == name.strip()


def test_trigger_refuses_a_template_using_fields_the_event_does_not_provide(crm_app, setup):
    setup(lambda uow: save_template(uow, name="exp", channel="sms", body="{{ points }} امتیاز"))
    with pytest.raises(
        ValidationError, match="purchase trigger does not provide the field 'points'"
    ):
        setup(lambda uow: set_trigger(uow, event="purchase", template="exp", channel="sms"))
    setup(lambda uow: set_trigger(uow, event="points_expiring", template="exp", channel="sms"))
    # and a later edit cannot break the trigger that uses it
    with pytest.raises(ValidationError, match="does not provide the field 'amount'"):
        setup(
            lambda uow: save_template(
                uow, name="exp", channel="sms", body="{{ amount }}", replace=True
            )
        )


def test_duplicate_template_is_a_conflict_and_email_needs_a_subject(crm_app, setup):
    setup(lambda uow: save_template(uow, name="a", channel="sms", body="x"))
    with pytest.raises(Conflict):
        setup(lambda uow: save_template(uow, name="a", channel="sms", body="y"))
    with pytest.raises(ValidationError, match="needs a subject"):
        setup(lambda uow: save_template(uow, name="a", channel="email", body="y"))
    with pytest.raises(ValidationError, match="sandbox forbids"):
        setup(
            lambda uow: save_template(
                uow, name="b", channel="email", body="y", subject="{{ name.__class__ }}"
            )
        )


def test_render_failure_for_a_customer_is_recorded_not_raised(crm_app, customer, setup):
    from crmcore_messaging.outbox import queue_message

    # valid on sample data, fails on this customer (no birthday → None has no jalali)
    setup(lambda uow: save_template(uow, name="bd", channel="sms", body="{{ birthday|jalali }}"))
    with crm_app.unit_of_work() as uow:
        update_customer(uow, customer, birthday="")
    with crm_app.unit_of_work() as uow:
        from crmcore.api import get_customer

        msg = queue_message(
            uow,
            get_customer(uow.session, customer),
            template="bd",
            channel="sms",
            trigger="manual",
            key="k1",
        )
        assert msg.status == "failed"
        assert "expected a date" in msg.error
