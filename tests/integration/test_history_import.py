"""Imported history reaches plugins exactly as live purchases do: the CDNOW data set imported through
`crm interactions import` with loyalty enabled earns the points an independent computation gives."""

import csv

import pytest
from sqlalchemy import select


@pytest.mark.crm_plugins("loyalty")
def test_cdnow_history_import_earns_the_independently_computed_points(crm_app, tmp_path):
    from crmcore.plugin_host import installed_manifests

    if "loyalty" not in installed_manifests():
        pytest.skip("needs the loyalty plugin installed")
    from crmcore_loyalty.models import LoyaltyAccount
    from crmcore_loyalty.testing import (
        CDNOW_PROGRAM,
        cdnow_expected_points,
        cdnow_path,
        cdnow_rows,
        load,
    )

    from crmcore.importing.interactions import import_interactions
    from crmcore.storage.models import Customer

    if cdnow_path() is None:
        pytest.skip("shared/data/cdnow is not beside the repository")
    rows = cdnow_rows(cdnow_path(), 400)
    path = tmp_path / "history.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["customer", "name", "kind", "occurred_at", "amount", "currency", "external_id", "cds"]
        )
        for i, (cust, day, cds, dollars) in enumerate(rows):
            w.writerow(
                [
                    f"cdnow-{cust}",
                    f"CDNOW {cust}",
                    "purchase",
                    f"{day[:4]}-{day[4:6]}-{day[6:]} 12:00",
                    dollars,
                    "USD",
                    f"cdnow-{i}",
                    cds,
                ]
            )
    load(crm_app, CDNOW_PROGRAM)
    summary = import_interactions(crm_app, path, create_customers=True)
    assert (summary.recorded, summary.rejected) == (len(rows), 0)
    expected = cdnow_expected_points(rows)
    with crm_app.unit_of_work(readonly=True) as uow:
        ext = dict(uow.session.execute(select(Customer.id, Customer.external_id)).all())
        got = {
            ext[cid][len("cdnow-") :]: bal
            for cid, bal in uow.session.execute(
                select(LoyaltyAccount.customer_id, LoyaltyAccount.balance)
            )
        }
    assert got == expected
    # importing the same file again changes nothing and earns nothing twice
    again = import_interactions(crm_app, path, create_customers=True)
    assert again.recorded == 0
    with crm_app.unit_of_work(readonly=True) as uow:
        assert sum(
            b
            for _c, b in uow.session.execute(
                select(LoyaltyAccount.customer_id, LoyaltyAccount.balance)
            )
        ) == sum(expected.values())
