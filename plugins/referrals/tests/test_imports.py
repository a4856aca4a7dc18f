"""Imports check and attach a batch's referral codes set-based, and qualify imported purchases."""

import pytest
from crmcore_referrals.models import Referral
from referrals_helpers import code, load_rules, rewards
from sqlalchemy import select

from crmcore.testing import import_customers, import_interactions, make_customer


def referrals(app):
    with app.unit_of_work(readonly=True) as uow:
        return {
            (r.friend_id, r.referrer_id, r.source) for r in uow.session.scalars(select(Referral))
        }


def test_an_import_refuses_each_bad_code_by_its_row_and_attaches_the_rest(
    crm_app, crm_cli, tmp_path
):
    ali = make_customer(crm_app, "علی", phones=["09121111111"], emails=["ali@x.ir"])
    dup = make_customer(crm_app, "علی ر.")
    old = code(crm_app, dup)
    assert crm_cli("customers", "merge", str(ali), str(dup)).exit_code == 0
    good = code(crm_app, ali)
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        "name,phone,email,attr.referral_code\n"
        f"سارا,09122222222,,{good}\n"  # attached
        f"نرگس,09123333333,,{old}\n"  # a merged-away member's code: the kept record
        f"رضا,09121111111,,{good}\n"  # ali himself (same phone): merged, the code refused
        f"مینا,09124444444,ali@x.ir,{good}\n"  # shares ali's email: merged into ali, refused
        "کاوه,09125555555,,ZZZZ-ZZZZ\n"  # mistyped
        f"نیما,09126666666,nima@x.ir,{good}\n",
        encoding="utf-8",
    )
    s = import_customers(crm_app, sheet, batch_size=4)
    reasons = {r.row: r.reason for r in s.rejections}
    assert s.created == 3 and set(reasons) == {4, 5, 6}, reasons
    assert "cannot use their own referral code" in reasons[4] and "mistyped" in reasons[6]
    with crm_app.unit_of_work(readonly=True) as uow:
        from crmcore.api import Customer

        ids = {c.display_name: c.id for c in uow.session.scalars(select(Customer))}
    assert referrals(crm_app) == {
        (ids["سارا"], ali, "signup"),
        (ids["نرگس"], ali, "signup"),
        (ids["نیما"], ali, "signup"),
    }


def test_a_phone_a_referred_friend_used_refuses_another_friend(crm_app, tmp_path):
    ali = make_customer(crm_app, "علی", phones=["09121111111"])
    first = tmp_path / "a.csv"
    first.write_text(
        f"name,phone,attr.referral_code\nسارا,09122222222,{code(crm_app, ali)}\n", encoding="utf-8"
    )
    assert import_customers(crm_app, first).created == 1
    with (
        crm_app.unit_of_work() as uow
    ):  # سارا leaves her number; a new customer brings it with a code
        from crmcore.api import update_customer

        sara = next(f for f, _r, _s in referrals(crm_app))
        update_customer(uow, sara, remove_phones=["09122222222"])
    second = tmp_path / "b.csv"
    second.write_text(
        f"name,phone,attr.referral_code\nنرگس,09122222222,{code(crm_app, ali)}\n", encoding="utf-8"
    )
    s = import_customers(crm_app, second)
    assert s.created == 0 and "already used by another referred friend" in s.rejections[0].reason


def test_imported_purchases_qualify_pending_referrals(crm_app, tmp_path):
    load_rules(crm_app)
    ali = make_customer(crm_app, "علی", phones=["09121111111"])
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        f"name,phone,attr.referral_code\nسارا,09122222222,{code(crm_app, ali)}\n"
        "نرگس,09123333333,\n",
        encoding="utf-8",
    )
    import_customers(crm_app, sheet)
    day = crm_app.clock.advance(days=1).date().isoformat()  # after the referral was attached
    history = tmp_path / "history.csv"
    history.write_text(
        f"customer,date,amount\n09122222222,{day},600000\n09122222222,{day},700000\n"
        f"09123333333,{day},900000\n",
        encoding="utf-8",
    )
    s = import_interactions(crm_app, history, kind="purchase", currency="IRR")
    assert s.recorded == 3
    assert sorted(r[1] for r in rewards(crm_app)) == ["friend", "referrer"]


@pytest.mark.crm_plugins("loyalty", "messaging", "referrals")
def test_an_imported_friend_tells_the_referrer(crm_app, tmp_path):
    from crmcore_messaging.models import Message
    from crmcore_messaging.service import add_provider, save_template, set_trigger

    with crm_app.unit_of_work() as uow:
        add_provider(
            uow, name="dev", kind="file", channel="sms", options={"path": str(tmp_path / "o")}
        )
        save_template(uow, name="joined", channel="sms", body="{{ friend_name }} با کد شما عضو شد")
        set_trigger(uow, event="referral_joined", template="joined", channel="sms")
    ali = make_customer(crm_app, "علی", phones=["09121111111"], consent_sms=True)
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        f"name,phone,attr.referral_code\nسارا,09122222222,{code(crm_app, ali)}\n"
        f"نرگس,09123333333,{code(crm_app, ali)}\n",
        encoding="utf-8",
    )
    assert import_customers(crm_app, sheet).created == 2
    with crm_app.unit_of_work(readonly=True) as uow:
        sent = [
            (m.customer_id, m.body)
            for m in uow.session.scalars(select(Message).order_by(Message.id))
        ]
    assert sent == [(ali, "سارا با کد شما عضو شد"), (ali, "نرگس با کد شما عضو شد")]
