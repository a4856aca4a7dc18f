"""The staff side of tickets: a ticket given to an agent, an SLA about to break and one broken reach
the assignee's own notifications (the kernel's notify_user) — once each, never the customer."""

from crmcore_tickets import service
from tickets_helpers import at, standard_setup, tehran

from crmcore.api import list_notifications
from crmcore.testing import make_customer, run_jobs

PASSWORD = "a long enough password"


def test_assignment_warning_and_breach_reach_the_agent(crm_app, monkeypatch):
    from argon2 import PasswordHasher, profiles

    from crmcore.testing import add_user

    monkeypatch.setattr(
        "crmcore.web.users._hasher", lambda: PasswordHasher.from_parameters(profiles.CHEAPEST)
    )
    standard_setup(crm_app)
    with crm_app.unit_of_work(actor="setup") as uow:
        add_user(uow, "reza", PASSWORD, "agent")
    cid = make_customer(crm_app, "نرگس")
    at(crm_app, 2025, 1, 1, 16, 30)
    with crm_app.unit_of_work(actor="sara") as uow:
        tid = service.open_ticket(uow, cid, subject="کالا معیوب است", body="...", agent="reza").id
    run_jobs(crm_app, now=tehran(2025, 1, 2, 9, 45), only=["tickets.sla"])
    run_jobs(crm_app, now=tehran(2025, 1, 2, 10, 31), only=["tickets.sla"])
    run_jobs(crm_app, now=tehran(2025, 1, 2, 10, 40), only=["tickets.sla"])
    with crm_app.unit_of_work(readonly=True) as uow:
        got = [(n.kind, n.title, n.link) for n in reversed(list_notifications(uow.session, "reza"))]
    assert got == [
        (
            "ticket_assigned",
            f"تیکت #{tid} به شما سپرده شد: کالا معیوب است",
            f"/p/tickets/tickets/{tid}",
        ),
        (
            "sla_warning",
            f"مهلت پاسخ اول تیکت #{tid} نزدیک است (۱۴۰۳/۱۰/۱۳ ۱۰:۳۰): کالا معیوب است",
            f"/p/tickets/tickets/{tid}",
        ),
        (
            "sla_breach",
            f"مهلت پاسخ اول تیکت #{tid} گذشت (۱۴۰۳/۱۰/۱۳ ۱۰:۳۰): کالا معیوب است",
            f"/p/tickets/tickets/{tid}",
        ),
    ]
    # an agent who takes a ticket themselves is not told about it
    with crm_app.unit_of_work(actor="reza") as uow:
        service.assign(uow, tid, agent="reza")
    with crm_app.unit_of_work(readonly=True) as uow:
        assert len(list_notifications(uow.session, "reza")) == 3
