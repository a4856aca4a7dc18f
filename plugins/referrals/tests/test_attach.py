"""Attaching friends: at signup with a code (CLI, import, API, web form) or by staff, and every abuse
check explained when it refuses, with nothing stored then."""

import pytest
from crmcore_referrals.models import Referral
from referrals_helpers import attach, code
from sqlalchemy import func, select

from crmcore.api import Customer, ValidationError
from crmcore.testing import make_customer, record_purchase


def referral_count(app) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Referral))


def customer_count(app) -> int:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.scalar(select(func.count()).select_from(Customer))


def test_a_new_customer_added_with_a_code_is_referred(crm_app, crm_cli):
    ali = make_customer(crm_app, "علی رضایی", phones=["09121111111"])
    typed = code(crm_app, ali).lower().translate(str.maketrans("23456789", "۲۳۴۵۶۷۸۹"))
    r = crm_cli(
        "customers",
        "add",
        "--name",
        "سارا",
        "--phone",
        "09122222222",
        "--attr",
        f"referral_code={typed}",
        "--json",
    )
    assert r.exit_code == 0, r.stderr
    sara = r.json()["id"]
    shown = crm_cli("referrals", "show", str(sara), "--json").json()
    assert shown["referred_by"] == ali and shown["referral"]["source"] == "signup"
    assert crm_cli("referrals", "show", str(ali), "--json").json()["friends_pending"] == 1


@pytest.mark.parametrize(
    "bad, message", [("ZZZZ-ZZZZ", "mistyped"), ("hello", "not a referral code")]
)
def test_an_unknown_code_refuses_the_new_customer(crm_app, crm_cli, bad, message):
    make_customer(crm_app, "علی", phones=["09121111111"])
    before = customer_count(crm_app)
    r = crm_cli("customers", "add", "--name", "سارا", "--attr", f"referral_code={bad}")
    assert r.exit_code == 1
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert customer_count(crm_app) == before and referral_count(crm_app) == 0


def test_an_import_column_attaches_each_row(crm_app, crm_cli, tmp_path):
    ali = make_customer(crm_app, "علی", phones=["09121111111"])
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        f"name,phone,attr.referral_code\nسارا,09122222222,{code(crm_app, ali)}\n"
        "نرگس,09123333333,\nرضا,09124444444,ZZZZ-ZZZZ\n",
        encoding="utf-8",
    )
    r = crm_cli("customers", "import", str(sheet), "--json")
    assert r.exit_code == 1  # a rejected row: the others are imported
    summary = r.json()
    assert summary["created"] == 2 and summary["rejected"] == 1, summary
    assert crm_cli("referrals", "show", str(ali), "--json").json()["friends"] == 1


def test_the_code_of_a_forgotten_member_has_expired(crm_app, crm_cli):
    ali = make_customer(crm_app, "علی")
    old = code(crm_app, ali)
    assert crm_cli("customers", "forget", str(ali), "--yes").exit_code == 0
    r = crm_cli("customers", "add", "--name", "سارا", "--attr", f"referral_code={old}")
    assert r.exit_code == 1 and "expired" in r.stderr


def test_a_merged_members_code_brings_friends_to_the_kept_record(crm_app, crm_cli):
    ali = make_customer(crm_app, "علی")
    dup = make_customer(crm_app, "علی ر.")
    old = code(crm_app, dup)
    assert crm_cli("customers", "merge", str(ali), str(dup)).exit_code == 0
    r = crm_cli("customers", "add", "--name", "سارا", "--attr", f"referral_code={old}", "--json")
    assert crm_cli("referrals", "show", str(r.json()["id"]), "--json").json()["referred_by"] == ali


def refused(app, friend, referrer, match, **kwargs):
    before = referral_count(app)
    with pytest.raises(ValidationError, match=match):
        attach(app, friend, referrer, **kwargs)
    assert referral_count(app) == before


def test_own_code_twice_and_cycles_are_refused(crm_app):
    a, b, c = (make_customer(crm_app, n) for n in ("الف", "ب", "ج"))
    refused(crm_app, a, a, "own referral code")
    attach(crm_app, b, a)
    refused(crm_app, b, c, "already referred by customer")
    attach(crm_app, c, b)
    refused(crm_app, a, c, "cycle")


def test_staff_can_attach_only_new_customers_who_never_bought(crm_app):
    ali = make_customer(crm_app, "علی")
    old = make_customer(crm_app, "قدیمی")
    crm_app.clock.advance(days=15)
    newer = make_customer(crm_app, "تازه")
    refused(crm_app, old, ali, "more than 14 days ago")
    record_purchase(crm_app, newer, 100_000)
    crm_app.clock.advance(minutes=1)
    refused(crm_app, newer, ali, "already a customer")


@pytest.mark.crm_plugins("loyalty", "transfers", "referrals")
def test_a_family_group_cannot_refer_itself(crm_app, crm_cli):
    a, b, c = (
        make_customer(crm_app, "پدر"),
        make_customer(crm_app, "پسر"),
        make_customer(crm_app, "همسایه"),
    )
    for args in (("create", str(a), "خانواده"), ("invite", str(a), str(b)), ("accept", str(b))):
        assert crm_cli("transfers", "family", *args).exit_code == 0
    refused(crm_app, b, a, "self-referral: .* one family group")
    attach(crm_app, c, a)


def test_one_device_brings_at_most_the_programs_number_of_friends(crm_app):
    from referrals_helpers import load_rules

    load_rules(crm_app)  # max_friends_per_device = 2
    ali = make_customer(crm_app, "علی")
    friends = [make_customer(crm_app, f"دوست {i}") for i in range(3)]
    attach(crm_app, friends[0], ali, source="form", device="fp-1")
    attach(crm_app, friends[1], ali, source="form", device="fp-1")
    refused(
        crm_app,
        friends[2],
        ali,
        "2 friends already signed up from this device",
        source="form",
        device="fp-1",
    )
    attach(crm_app, friends[2], ali, source="form", device="fp-2")


def test_a_phone_that_was_already_referred_cannot_be_referred_again(crm_app, crm_cli):
    ali = make_customer(crm_app, "علی")
    first = make_customer(crm_app, "سارا", phones=["09122222222"])
    attach(crm_app, first, ali)
    assert crm_cli("customers", "forget", str(first), "--yes").exit_code == 0
    again = make_customer(crm_app, "سارا ۲", phones=["09125555555"])
    attach(crm_app, again, ali)  # forgetting erased the digest: a new phone is a new person
    with crm_app.unit_of_work(readonly=True) as uow:
        digests = uow.session.scalars(
            select(Referral.phone_digest).where(Referral.friend_id == first)
        )
        assert list(digests) == [None]


def test_the_public_form_carries_the_code_and_a_known_visitor_is_not_a_new_friend(crm_app):
    import re

    from crmcore.testing.web import web_client

    ali = make_customer(crm_app, "علی", phones=["09121111111"])
    typed = code(crm_app, ali)
    with web_client(crm_app) as client:
        page = client.get(f"/forms/lead?ref={typed}")
        assert f'name="ref" value="{typed}"' in page.text
        token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
        sent = client.post(
            "/forms/lead",
            data={"form_token": token, "name": "سارا", "phone": "09122222222", "ref": typed},
        )
        assert sent.status_code == 200
    shown = referral_count(crm_app)
    assert shown == 1
    with crm_app.unit_of_work(readonly=True) as uow:
        referral = uow.session.scalar(select(Referral))
        assert (
            referral.source == "form" and referral.referrer_id == ali and len(referral.device) == 64
        )
