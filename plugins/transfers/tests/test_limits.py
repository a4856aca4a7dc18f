"""Period limits on count and points, sent and received, in the policy's calendar (Jalali months too)."""

from datetime import datetime, timezone

import pytest
from crmcore_transfers.periods import period_of
from transfers_helpers import act, balance, give, load_policy, send

from crmcore.api import ValidationError
from crmcore.testing import make_customer

UTC = timezone.utc
TEHRAN = "Asia/Tehran"


def test_period_bounds_follow_the_calendar_and_the_tehran_day():
    # 1403-12-30 (last day of Esfand) 23:30 Tehran = 2025-03-20 20:00 UTC; Farvardin 1404 starts the next midnight
    esfand = period_of(datetime(2025, 3, 20, 20, 0, tzinfo=UTC), "month", "jalali", TEHRAN)
    assert (esfand.label, esfand.start.isoformat(), esfand.end.isoformat()) == (
        "1403-12",
        "2025-02-18T20:30:00+00:00",
        "2025-03-20T20:30:00+00:00",
    )
    assert (
        period_of(
            datetime(2025, 3, 20, 20, 30, tzinfo=UTC), "jalali_month", "gregorian", TEHRAN
        ).label
        == "1404-01"
    )
    march = period_of(datetime(2025, 3, 20, 20, 30, tzinfo=UTC), "month", "gregorian", TEHRAN)
    assert (march.label, march.end.isoformat()) == ("2025-03", "2025-03-31T20:30:00+00:00")
    saturday_week = period_of(
        datetime(2025, 3, 21, 9, 0, tzinfo=UTC), "week", "jalali", TEHRAN
    )  # a Friday
    assert saturday_week.label == "week of 1403-12-25"  # Saturday 2025-03-15
    assert (
        period_of(datetime(2025, 3, 21, 9, 0, tzinfo=UTC), "week", "gregorian", TEHRAN).label
        == "week of 2025-03-17"
    )


JALALI_LIMIT = """
[[transfers.limits]]
period = "month"
max_count = 2
max_points = 100
"""


@pytest.fixture
def trio(crm_app):
    ids = [make_customer(crm_app, n) for n in ("زهرا", "امیر", "پریسا")]
    give(crm_app, ids[0], 10_000)
    return ids


def test_jalali_month_limits_reset_on_the_first_of_the_jalali_month_not_the_gregorian(
    crm_app, crm_cli, tmp_path, trio
):
    load_policy(crm_cli, tmp_path, JALALI_LIMIT)
    a, b, _ = trio
    crm_app.clock.set(datetime(2025, 3, 1, 8, 0, tzinfo=UTC))  # 1403-12-11 — Esfand
    send(crm_app, a, b, 60)
    with pytest.raises(ValidationError) as err:
        send(crm_app, a, b, 50)
    assert str(err.value) == (
        "field points: this transfer is over the limit of 2 transfers and 100 points sent per "
        "Jalali month (1403-12): 60 points used, 40 left; cannot send 50"
    )
    send(crm_app, a, b, 40)
    with pytest.raises(
        ValidationError, match=r"\(1403-12\): 2 transfers used, nothing left; cannot send another"
    ):
        send(crm_app, a, b, 1)
    crm_app.clock.set(
        datetime(2025, 3, 20, 20, 29, tzinfo=UTC)
    )  # 23:59 on 1403-12-30, still Esfand
    with pytest.raises(ValidationError, match="1403-12"):
        send(crm_app, a, b, 1)
    crm_app.clock.set(
        datetime(2025, 3, 20, 20, 30, tzinfo=UTC)
    )  # 00:00 on 1404-01-01 (still March)
    assert send(crm_app, a, b, 100)["status"] == "completed"
    assert balance(crm_app, b) == 200


def test_gregorian_month_limits_use_the_gregorian_month(crm_app, crm_cli, tmp_path, trio):
    load_policy(
        crm_cli,
        tmp_path,
        '[[transfers.limits]]\nperiod = "month"\nmax_points = 100',
        calendar="gregorian",
    )
    a, b, _ = trio
    crm_app.clock.set(datetime(2025, 3, 25, 8, 0, tzinfo=UTC))
    send(crm_app, a, b, 100)
    crm_app.clock.set(datetime(2025, 3, 31, 20, 29, tzinfo=UTC))  # 23:59 Tehran on 31 March
    with pytest.raises(
        ValidationError, match=r"per Gregorian month \(2025-03\): 100 points used, nothing left"
    ):
        send(crm_app, a, b, 1)
    crm_app.clock.set(datetime(2025, 3, 31, 20, 30, tzinfo=UTC))  # April in Tehran
    send(crm_app, a, b, 100)


def test_received_limits_protect_the_recipient_and_undone_transfers_give_the_allowance_back(
    crm_app, crm_cli, tmp_path, trio
):
    load_policy(
        crm_cli,
        tmp_path,
        'acceptance = "required"\n[[transfers.limits]]\nperiod = "week"\n'
        'direction = "received"\nmax_points = 100\n'
        '[[transfers.limits]]\nperiod = "jalali_month"\nmax_count = 3',
    )
    a, b, c = trio
    give(crm_app, c, 1000)
    first = send(crm_app, a, b, 80)  # pending transfers use the allowance
    with pytest.raises(
        ValidationError,
        match=f"customer {b} would be over the limit of 100 points received per week",
    ):
        send(crm_app, c, b, 30)
    act(crm_app, "decline", first["id"])  # …and give it back when undone
    send(crm_app, c, b, 30)
    for _ in range(3):  # the declined one does not count
        send(crm_app, a, c, 10)
    with pytest.raises(
        ValidationError, match=r"3 transfers sent per Jalali month \(1404-01\): 3 transfers used"
    ):
        send(crm_app, a, c, 10)
