"""Rules around the draw: $0 purchases earn what the README's formula says, amounts in major units,
a minimum gap between closing and the draw, and the draw job at ``crm jobs run --now``."""

from datetime import datetime, timedelta, timezone

import pytest
from lottery_test_helpers import END, IN_WINDOW, close, new_campaign, weights

from crmcore.api import ValidationError
from crmcore.testing import make_customer, record_purchase

UTC = timezone.utc


def test_a_zero_purchase_earns_the_per_purchase_entries_and_a_full_refund_none(crm_app):
    from crmcore_lottery.campaigns import get_campaign
    from crmcore_lottery.entries import purchase_weight

    new_campaign(crm_app, per_purchase=2, per_amount="1000")
    free, paid = make_customer(crm_app, "هدیه"), make_customer(crm_app, "خریدار")
    record_purchase(crm_app, free, "0", at=IN_WINDOW)
    record_purchase(crm_app, paid, "2500", at=IN_WINDOW)
    assert weights(crm_app) == {free: 2, paid: 4}  # 2 + 0 // 1000 and 2 + 2500 // 1000
    with crm_app.unit_of_work(readonly=True) as uow:
        campaign = get_campaign(uow, "spring")
        assert purchase_weight(campaign, 2500, "IRR", refunded=2500) == 0
        assert purchase_weight(campaign, 2500, "IRR", refunded=1000) == 3
        assert purchase_weight(campaign, 0, "USD") == 2


def test_amounts_are_shown_in_the_currencys_major_unit(crm_cli):
    out = crm_cli(
        "lottery",
        "create",
        "usd",
        "--title",
        "USD raffle",
        "--rules",
        "one per $50",
        "--period",
        "2025-04",
        "--currency",
        "USD",
        "--per-amount",
        "50.00",
        "--prize",
        "Mug=1",
    )
    assert out.exit_code == 0, out
    shown = crm_cli("lottery", "show", "usd", env={"CRM_LANG": "en"})
    assert "one per 50.00 USD spent" in shown.stdout and "5000" not in shown.stdout
    data = crm_cli("lottery", "show", "usd", "--json").json()["earning"]
    assert (data["per_amount"], data["per_amount_minor"]) == ("50.00", 5000)


def test_the_draw_waits_the_minimum_gap_after_closing(crm_app, crm_cli):
    from crmcore_lottery.campaigns import get_campaign
    from crmcore_lottery.drawing import draw_campaign

    assert (
        crm_cli("lottery", "settings", "--min-draw-gap", "۲۴h", "--json").json()[
            "min_draw_gap_minutes"
        ]
        == 1440
    )
    bad = crm_cli("lottery", "settings", "--min-draw-gap", "soon")
    assert bad.exit_code == 1 and "45m, 24h, 2d" in bad.stderr
    new_campaign(crm_app)
    record_purchase(crm_app, make_customer(crm_app), "1000", at=IN_WINDOW)
    crm_app.clock.set(END + timedelta(hours=2))
    close(crm_app)
    with pytest.raises(ValidationError, match="waits at least 1 day after closing"):
        with crm_app.unit_of_work() as uow:
            draw_campaign(uow, get_campaign(uow, "spring", lock=True))
    early = crm_cli("lottery", "draw", "spring")
    assert early.exit_code == 1 and "published hashes are out first" in early.stderr
    crm_app.clock.set(END + timedelta(hours=26))
    assert crm_cli("lottery", "draw", "spring", "--json").json()["awarded"] == 1


def test_the_draw_job_honours_now(crm_app, crm_cli):
    new_campaign(crm_app, draw_at=datetime(2025, 4, 10, tzinfo=UTC))
    record_purchase(crm_app, make_customer(crm_app), "1000", at=IN_WINDOW)
    # the real clock of the test is 2025-03-21: only --now makes the window and the draw time pass
    closed = crm_cli(
        "jobs", "run", "--only", "lottery.close_due", "--now", "2025-04-01T00:00:00+00:00", "--json"
    )
    assert closed.exit_code == 0, closed
    drawn = crm_cli(
        "jobs", "run", "--only", "lottery.draw_due", "--now", "2025-04-10T12:00:00+00:00", "--json"
    )
    assert drawn.exit_code == 0, drawn
    assert crm_cli("lottery", "show", "spring", "--json").json()["status"] == "drawn"


def test_the_winners_sms_carries_the_lottery_code_of_the_published_list(crm_app_factory):
    from crmcore_messaging.models import Message
    from crmcore_messaging.service import save_template, set_trigger
    from lottery_test_helpers import codes, draw
    from sqlalchemy import select

    app = crm_app_factory(plugins=["lottery", "messaging"])
    with app.unit_of_work() as uow:
        save_template(uow, name="won", channel="sms", body="برنده شدید! کد شما {{ lottery_code }}")
        set_trigger(uow, event="winners_drawn", template="won", channel="sms")
    new_campaign(app)
    winner = make_customer(app, "مریم", phones=["09121234567"], consent_sms=True)
    record_purchase(app, winner, "1000", at=IN_WINDOW)
    close(app)
    draw(app)
    code = codes(app)[winner]
    with app.unit_of_work(readonly=True) as uow:
        bodies = [m.body for m in uow.session.scalars(select(Message))]
    assert bodies == [f"برنده شدید! کد شما {str(code)[:4]}-{str(code)[4:]}"]
