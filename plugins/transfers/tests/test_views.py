"""The profile section, the transfers.summary report, and customer merges and forgetting."""

from datetime import datetime, timezone

from crmcore_transfers import family
from transfers_helpers import act, balance, give, load_policy, send, show

from crmcore.api import forget_customer, get_customer, merge_customers, profile_sections
from crmcore.testing import make_customer

UTC = timezone.utc
POLICY = (
    'acceptance = "required"\n[[transfers.limits]]\nperiod = "month"\nmax_count = 5\nmax_points = 300\n'
    '[[transfers.limits]]\nperiod = "week"\ndirection = "received"\nmax_points = 200'
)


def profile(app, cid):
    with app.unit_of_work(readonly=True) as uow:
        sections = {s.key: s for s in profile_sections(uow, get_customer(uow.session, cid))}
    return sections.get("transfers")


def test_profile_shows_this_periods_totals_allowance_pending_and_family(crm_app, crm_cli, tmp_path):
    load_policy(crm_cli, tmp_path, POLICY)
    a, b = make_customer(crm_app, "مهسا"), make_customer(crm_app, "بهرام")
    assert profile(crm_app, a).data["sent"] == {"count": 0, "points": 0}
    with crm_app.unit_of_work() as uow:
        family.create(uow, a, "خانواده یزدانی")
    give(crm_app, a, 1000)
    done = send(crm_app, a, b, 120)
    act(crm_app, "accept", done["id"])
    waiting = send(crm_app, a, b, 30)
    data = profile(crm_app, a).data
    assert (data["period"], data["sent"], data["received"]) == (
        "1404-01",
        {"count": 2, "points": 150},
        {"count": 0, "points": 0},
    )
    monthly = data["allowance"][0]
    assert (monthly["count_left"], monthly["points_left"]) == (3, 150)
    assert data["pending"] == [
        {
            "id": waiting["id"],
            "direction": "out",
            "other": b,
            "points": 30,
            "respond_by": waiting["respond_by"],
        }
    ]
    assert data["family"]["name"] == "خانواده یزدانی"
    theirs = profile(crm_app, b).data
    assert theirs["received"] == {"count": 2, "points": 150}
    assert theirs["allowance"][1]["points_left"] == 50 and theirs["pending"][0]["direction"] == "in"
    from crmcore.testing import assert_persian_panel, panel_html

    html = panel_html(crm_app, a, "transfers", lang="fa")
    assert_persian_panel(html)
    assert "خانواده یزدانی" in html and "در انتظار پاسخ" in html
    assert f'href="/customers/{b}"' in html


def test_summary_report_per_jalali_month(crm_app, crm_cli, tmp_path):
    load_policy(crm_cli, tmp_path, "fee = 2")
    a, b = make_customer(crm_app, "الف"), make_customer(crm_app, "ب")
    give(crm_app, a, 1000)
    crm_app.clock.set(datetime(2025, 3, 10, 8, tzinfo=UTC))  # Esfand 1403
    send(crm_app, a, b, 100)
    reversed_one = send(crm_app, a, b, 50)
    act(crm_app, "reverse", reversed_one["id"], "آزمایشی")
    crm_app.clock.set(datetime(2025, 3, 25, 8, tzinfo=UTC))  # Farvardin 1404, still March
    send(crm_app, a, b, 70)
    result = crm_cli(
        "reports",
        "run",
        "transfers.summary",
        "--period",
        "jalali_month",
        "--calendar",
        "jalali",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    report = result.json()
    rows = {r[0]: dict(zip(report["columns"], r)) for r in report["rows"]}
    assert (
        rows["1403-12"]
        | {
            "requested": 2,
            "completed": 2,
            "points_transferred": 150,
            "fees": 2,
            "reversed": 1,
            "points_reversed": 50,
            "senders": 1,
        }
        == rows["1403-12"]
    )
    assert rows["1404-01"]["points_transferred"] == 70
    assert report["totals"]["net_points_transferred"] == 170
    gregorian = crm_cli("reports", "run", "transfers.summary", "--period", "month", "--json").json()
    assert [r[0] for r in gregorian["rows"]] == ["2025-03"]


def test_merged_customers_keep_their_transfers_and_forgotten_ones_lose_notes(
    crm_app, crm_cli, tmp_path
):
    load_policy(crm_cli, tmp_path, "")
    a, b, dup = (
        make_customer(crm_app, "رضا"),
        make_customer(crm_app, "نازنین"),
        make_customer(crm_app, "نازنین ۲"),
    )
    give(crm_app, a, 100)
    t = send(crm_app, a, dup, 40, note="برای تولد")
    with crm_app.unit_of_work() as uow:
        family.create(uow, dup, "خانواده")
    with crm_app.unit_of_work() as uow:
        merge_customers(uow, b, dup)
    moved = show(crm_app, t["id"])
    assert moved["recipient_id"] == b
    with crm_app.unit_of_work(readonly=True) as uow:
        assert family.membership(uow, b) is not None
    assert balance(crm_app, b) == 40
    with crm_app.unit_of_work() as uow:
        forget_customer(uow, a)
    assert show(crm_app, t["id"])["note"] is None
