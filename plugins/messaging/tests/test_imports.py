"""Imported purchases: a thank-you for recent ones (the batch form of the purchase trigger), none
for history (older than the thank-you age, or an import marked as history)."""

from datetime import timedelta

from crmcore_messaging.service import save_template, set_trigger

from crmcore.testing import import_interactions

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
