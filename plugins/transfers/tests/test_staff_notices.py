"""A recipient waiting for the club's approval reaches those who may manage transfers (the kernel's
notify_managers), once per request."""

from crmcore_transfers import recipients

from crmcore.api import list_notifications
from crmcore.testing import make_customer

PASSWORD = "a long enough password"


def test_managers_hear_of_recipients_waiting_for_approval(crm_app, monkeypatch):
    from argon2 import PasswordHasher, profiles

    from crmcore.testing import add_user

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    dad, neighbour = (make_customer(crm_app, n) for n in ("پدر", "همسایه"))
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "mina", PASSWORD, "manager")
        add_user(uow, "sara", PASSWORD, "agent")
    for _ in range(2):  # asked twice while waiting: one notification
        with crm_app.unit_of_work() as uow:
            recipients.register(uow, dad, neighbour, "همکار")
    with crm_app.unit_of_work(readonly=True) as uow:
        [note] = list_notifications(uow.session, "mina")
        assert list_notifications(uow.session, "sara") == []
    assert (note.kind, note.title, note.body) == (
        "transfer_pending",
        "گیرندهٔ انتقال در انتظار تأیید: همسایه برای پدر",
        "همکار",
    )
