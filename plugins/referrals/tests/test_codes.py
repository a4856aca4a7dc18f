"""Referral codes: every customer has one, readable and typable, decoded back exactly; typos are caught."""

import pytest
from crmcore_referrals import codes
from hypothesis import given, settings
from hypothesis import strategies as st

from crmcore.api import ValidationError

KEY = bytes(range(16))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=1, max_value=2**32 - 1))
def test_a_code_decodes_to_its_customer(customer_id):
    code = codes.encode(KEY, customer_id)
    assert len(code) == 9 and code[4] == "-"
    assert not set(code.replace("-", "")) & set("01IOL")
    assert codes.decode(KEY, code) == customer_id


def test_codes_as_people_type_them():
    code = codes.encode(KEY, 42)
    persian = code.lower().replace("-", " ").translate(str.maketrans("23456789", "۲۳۴۵۶۷۸۹"))
    assert codes.decode(KEY, persian) == 42
    assert codes.decode(KEY, code.replace("-", "")) == 42


def test_neighbouring_customers_get_unrelated_codes():
    a, b = codes.encode(KEY, 1000), codes.encode(KEY, 1001)
    assert sum(x != y for x, y in zip(a, b)) >= 4
    assert codes.encode(bytes(16), 1000) != a  # another database's key, another code


@pytest.mark.parametrize("typed", ["", "ABC", "K7MX-4QPA-X", "0000-0000", "KIMX-4QPA"])
def test_what_is_not_a_code_is_refused(typed):
    with pytest.raises(ValidationError, match="not a referral code"):
        codes.decode(KEY, typed)


def test_every_single_typo_is_caught():
    code = codes.encode(KEY, 123456).replace("-", "")
    for i in range(len(code)):
        for ch in codes.ALPHABET:
            if ch == code[i]:
                continue
            typo = code[:i] + ch + code[i + 1 :]
            with pytest.raises(ValidationError):
                codes.decode(KEY, typo)


def test_a_database_without_its_key_makes_one_even_for_a_read(crm_app):
    from crmcore_referrals import service
    from sqlalchemy import text

    from crmcore.testing import make_customer

    cid = make_customer(crm_app, "علی")
    with crm_app.engine.begin() as conn:
        conn.execute(text("DELETE FROM crm_settings WHERE namespace = 'referrals'"))
    with crm_app.unit_of_work(readonly=True) as uow:
        first = service.code_of(uow, cid)
    with crm_app.unit_of_work(readonly=True) as uow:
        assert service.code_of(uow, cid) == first
        assert service.referrer_of_code(uow, first).id == cid
