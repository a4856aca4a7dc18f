"""Replaying real purchase history (CDNOW) earns exactly what an independent computation says."""

import pytest
from crmcore_loyalty.check import check_ledger
from crmcore_loyalty.models import LoyaltyAccount
from crmcore_loyalty.testing import (
    CDNOW_PROGRAM,
    cdnow_expected_points,
    cdnow_path,
    cdnow_replay,
    cdnow_rows,
    load,
)
from sqlalchemy import select

CUSTOMERS = (
    500  # customers 1..500 of 23,570 (about 1,600 purchases): the full replay is the benchmark's
)


@pytest.mark.skipif(cdnow_path() is None, reason="shared/data/cdnow is not beside the repository")
def test_cdnow_replay_points_equal_an_independent_computation(crm_app):
    rows = cdnow_rows(cdnow_path(), CUSTOMERS)
    assert len(rows) > 1500
    load(crm_app, CDNOW_PROGRAM)
    ids = cdnow_replay(crm_app, rows, batch=800)
    expected = cdnow_expected_points(rows)
    with crm_app.unit_of_work(readonly=True) as uow:
        got = dict(
            uow.session.execute(select(LoyaltyAccount.customer_id, LoyaltyAccount.balance)).all()
        )
        assert {ext: got.get(cid, 0) for ext, cid in ids.items()} == {
            ext: expected.get(ext, 0) for ext in ids
        }
        assert check_ledger(uow)["problems"] == []
    assert sum(expected.values()) > 0 and any(p > 500 for p in expected.values())
