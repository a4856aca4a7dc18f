import random

from crmcore_voip.models import Call
from sqlalchemy import func, select

from crmcore.api import get_customer
from crmcore.testing import make_customer


def test_demo_seed_logs_calls_through_the_live_path(app):
    ids = [make_customer(app, f"مشتری {i}", phones=[f"0912000{i:04d}"]) for i in range(8)]
    with app.unit_of_work() as uow:
        customers = [get_customer(uow.session, i) for i in ids]
        lines = [
            line
            for group in uow.call("crm_demo_seed", customers=customers, rng=random.Random(1403))
            for line in group or ()
        ]
    assert len(lines) == 1 and lines[0].startswith("voip: 30 تماس ثبت شد")
    with app.unit_of_work(readonly=True) as uow:
        statuses = dict(
            uow.session.execute(select(Call.status, func.count()).group_by(Call.status)).all()
        )
    assert sum(statuses.values()) == 30 and set(statuses) == {"completed", "missed"}
