"""Imported purchases: a thank-you for recent ones (the batch form of the purchase trigger), none
for history (older than the thank-you age, or an import marked as history)."""

from datetime import timedelta

import pytest
from crmcore_messaging.service import save_template, set_trigger
from sqlalchemy import text

from crmcore.testing import import_interactions, make_customer

from .conftest import MOBILE
from .test_triggers import messages, outbox_file  # noqa: F401  (a fixture)


def history_file(path, rows):
    path.write_text(
        "customer,date,amount\n" + "".join(f"{MOBILE},{day},{amount}\n" for day, amount in rows),
        encoding="utf-8",
    )
    return path


def test_recent_imported_purchases_get_a_thank_you_and_history_none(
    crm_app, customer, setup, outbox_file, tmp_path
):
    setup(lambda uow: save_template(uow, name="thanks", channel="sms", body="ممنون"))
    setup(lambda uow: set_trigger(uow, event="purchase", template="thanks", channel="sms"))
    today = crm_app.now().date()
    old = (today - timedelta(days=30)).isoformat()
    s = import_interactions(
        crm_app,
        history_file(tmp_path / "a.csv", [(old, "1000"), (today.isoformat(), "2000")]),
        kind="purchase",
    )
    assert s.recorded == 2
    assert [(c, t) for c, t, _s, _b in messages(crm_app)] == [(customer, "purchase")]
    s = import_interactions(
        crm_app,
        history_file(tmp_path / "b.csv", [(today.isoformat(), "3000")]),
        kind="purchase",
        history=True,
    )
    assert s.recorded == 1 and len(messages(crm_app)) == 1
    assert s.suppressed == {"purchase": 1}


PROGRAM = """
[program]
name = "club"
currency = "IRR"
calendar = "gregorian"
expiry = "never"

[[rules]]
name = "base"
kind = "per_amount"
points = 1
per = "10000"

[[tiers]]
name = "red"
rank = 0

[[tiers]]
name = "silver"
rank = 1
metric = "points"
threshold = 300
window = "rolling 365 days"
multiplier = "1.5"
"""


@pytest.fixture
def tiered(crm_plugins, crm_cli, setup, tmp_path):
    """Loyalty with a two-tier ladder and an SMS on every tier change."""
    program = tmp_path / "program.toml"
    program.write_text(PROGRAM, encoding="utf-8")
    assert crm_cli("loyalty", "program", "load", str(program)).exit_code == 0
    setup(lambda uow: save_template(uow, name="up", channel="sms", body="{{ new_tier }}"))
    setup(lambda uow: set_trigger(uow, event="tier_changed", template="up", channel="sms"))


@pytest.mark.parametrize("crm_plugins", [["loyalty", "tiers", "messaging"]])
def test_history_import_upgrades_tiers_without_a_message_and_says_so(
    crm_app, customer, tiered, outbox_file, tmp_path
):
    today = crm_app.now().date()
    day = lambda n: (today - timedelta(days=n)).isoformat()  # noqa: E731
    # 200 + 150 points: the second purchase crosses silver's 300
    s = import_interactions(
        crm_app,
        history_file(tmp_path / "h.csv", [(day(20), "2000000"), (day(10), "1500000")]),
        kind="purchase",
        history=True,
    )
    assert s.recorded == 2
    assert messages(crm_app) == []
    assert s.suppressed == {"tier_changed": 1}
    assert s.to_dict()["suppressed_messages"] == {"tier_changed": 1}
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalar(text("SELECT count(*) FROM tiers_changes")) >= 2
    # the same purchases of another member imported as current events do send the SMS
    other = make_customer(crm_app, "دیگری", phones=["09127654321"], consent_sms=True)
    path = tmp_path / "live.csv"
    path.write_text(
        f"customer,date,amount\n09127654321,{day(20)},2000000\n09127654321,{day(10)},1500000\n",
        encoding="utf-8",
    )
    s = import_interactions(crm_app, path, kind="purchase")
    assert s.suppressed == {}
    assert [(c, t) for c, t, _s, _b in messages(crm_app)] == [(other, "tier_changed")]


@pytest.mark.parametrize("crm_plugins", [["loyalty", "tiers", "messaging"]])
def test_rows_older_than_the_kernel_setting_are_history(
    crm_app, customer, tiered, outbox_file, setup, tmp_path
):
    from crmcore.api import set_setting

    setup(lambda uow: set_setting(uow, "kernel", "import.history_days", 5))
    today = crm_app.now().date()
    day = lambda n: (today - timedelta(days=n)).isoformat()  # noqa: E731
    # the crossing purchase is 10 days old: history, no SMS
    s = import_interactions(
        crm_app,
        history_file(tmp_path / "a.csv", [(day(20), "2000000"), (day(10), "1500000")]),
        kind="purchase",
    )
    assert s.recorded == 2 and messages(crm_app) == [] and s.suppressed == {"tier_changed": 1}
    other = make_customer(crm_app, "دیگری", phones=["09127654321"], consent_sms=True)
    path = tmp_path / "b.csv"
    path.write_text(
        f"customer,date,amount\n09127654321,{day(20)},2000000\n09127654321,{day(1)},1500000\n",
        encoding="utf-8",
    )
    # the crossing purchase is a day old: a current event; the file's older row is still history
    s = import_interactions(crm_app, path, kind="purchase")
    assert s.suppressed == {}
    assert [(c, t) for c, t, _s, _b in messages(crm_app)] == [(other, "tier_changed")]
