"""The transfers part of `crm demo` runs on a fresh database, exercises every path and reports it."""

from sqlalchemy import func, select

from crmcore.api import CRM
from crmcore.testing import build_demo


def test_demo_seeds_a_family_an_approved_colleague_and_transfers(tmp_path):
    result = build_demo(tmp_path / "demo.db", customers=20)
    [line, *rest] = [x for x in result["lines"] if x.startswith("transfers:")]
    assert (
        "with 3 members" in line
        and "completed" in line
        and "declined" in line
        and "pending" in line
    )
    from crmcore_transfers.models import FamilyMember, Transfer

    app = CRM(f"sqlite:///{tmp_path / 'demo.db'}")
    with app.unit_of_work(readonly=True) as uow:
        states = dict(
            uow.session.execute(
                select(Transfer.status, func.count()).group_by(Transfer.status)
            ).all()
        )
        assert states == {"completed": 2, "declined": 1, "pending": 1}
        assert uow.session.scalar(select(func.count()).select_from(FamilyMember)) == 3
    app.dispose()
