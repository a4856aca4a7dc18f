"""A deal given to a rep (round-robin, a name given, a change of owner) reaches the rep's own
notifications (the kernel's notify_user), unless the rep took it themselves."""

from crmcore_pipeline import service

from crmcore.api import list_notifications
from crmcore.testing import make_customer

PASSWORD = "a long enough password"


def test_a_rep_hears_of_deals_given_to_them(crm_app, monkeypatch):
    from argon2 import PasswordHasher, profiles

    from crmcore.testing import add_user

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    cid = make_customer(crm_app, "شرکت نگین")
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "sara", PASSWORD, "agent")
        service.add_rep(uow, "sara", "سارا احمدی")
        service.add_rep(uow, "ali", "علی رضایی")
    with crm_app.unit_of_work(actor="mina") as uow:
        given = service.create_deal(uow, customer=cid, title="خرید عمده زعفران", owner="sara").id
        other = service.create_deal(uow, customer=cid, title="پسته", owner="ali").id
    with crm_app.unit_of_work(actor="sara") as uow:
        service.create_deal(uow, customer=cid, title="خودم برداشتم", owner="sara")
    with crm_app.unit_of_work(actor="mina") as uow:
        service.update_deal(uow, other, owner="sara")
        service.update_deal(uow, other, title="پسته صادراتی")  # no new owner: nothing new
    with crm_app.unit_of_work(readonly=True) as uow:
        got = [(n.kind, n.title) for n in reversed(list_notifications(uow.session, "sara"))]
    assert got == [
        ("deal_assigned", f"معامله #{given} به شما سپرده شد: خرید عمده زعفران"),
        ("deal_assigned", f"معامله #{other} به شما سپرده شد: پسته"),
    ]
