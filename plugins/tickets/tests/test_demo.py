"""The tickets part of `crm demo` runs on a fresh database and reports what it made."""

from sqlalchemy import func, select

from crmcore.api import CRM
from crmcore.testing import build_demo


def test_demo_seeds_a_support_desk(tmp_path):
    result = build_demo(tmp_path / "demo.db", customers=15)
    [line] = [x for x in result["lines"] if x.startswith("tickets:")]
    assert "SLA breaches flagged" in line and "first response on time" in line
    app = CRM(f"sqlite:///{tmp_path / 'demo.db'}")
    from crmcore_tickets.models import Ticket, TicketMessage

    with app.unit_of_work(readonly=True) as uow:
        states = dict(
            uow.session.execute(select(Ticket.state, func.count()).group_by(Ticket.state)).all()
        )
        assert sum(states.values()) >= 10 and states.get("closed", 0) >= 1
        assert uow.session.scalar(select(func.count()).select_from(TicketMessage)) > sum(
            states.values()
        )
        assert (
            uow.session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.csat_score.is_not(None))
            )
            >= 1
        )
    app.dispose()
