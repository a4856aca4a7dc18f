"""`crm transfers …` end to end: exit codes, one-line errors that change nothing, --json, Jalali display."""

import pytest
from transfers_helpers import balance, give, load_policy

from crmcore.testing import assert_migrations_match_models, make_customer


def ok(result):
    assert result.exit_code == 0, result.stderr
    return result


@pytest.fixture
def club(crm_app, crm_cli, tmp_path):
    load_policy(
        crm_cli,
        tmp_path,
        'recipients = ["family", "approved"]\nacceptance = "required"\nfee = 2\n'
        'family_cooling_days = 7\n[[transfers.limits]]\nperiod = "month"\nmax_points = 500',
    )
    ids = [
        make_customer(crm_app, n, phones=[p])
        for n, p in (("مریم", "09121110001"), ("علی", "09121110002"), ("سارا", "09121110003"))
    ]
    give(crm_app, ids[0], 1000)
    return ids


def test_family_send_accept_list_show_through_the_cli(crm_app, crm_cli, club):
    a, b, _ = club
    ok(crm_cli("transfers", "family", "create", "۰۹۱۲۱۱۱۰۰۰۱", "خانواده احمدی"))
    ok(crm_cli("transfers", "family", "invite", str(a), str(b)))
    ok(crm_cli("transfers", "family", "accept", "09121110002"))
    shown = ok(crm_cli("transfers", "family", "show", str(b), "--json")).json()
    assert [m["role"] for m in shown["members"]] == ["owner", "member"]
    early = crm_cli("--calendar", "jalali", "transfers", "send", str(a), str(b), "۱۰۰")
    assert early.exit_code == 1
    assert "transfers within it open on 1404-01-08 (cooling-off 7 days)" in early.stderr
    crm_app.clock.advance(days=7)
    sent = ok(
        crm_cli(
            "transfers", "send", str(a), str(b), "۱۰۰", "--key", "k1", "--note", "عیدی", "--json"
        )
    ).json()
    assert (sent["status"], sent["fee"], sent["note"]) == ("pending", 2, "عیدی")
    repeat = ok(crm_cli("transfers", "send", str(a), str(b), "100", "--key", "k1"))
    assert "already requested with this key, nothing changed" in repeat.stdout
    ok(crm_cli("transfers", "accept", str(sent["id"])))
    assert (balance(crm_app, a), balance(crm_app, b)) == (898, 100)
    listed = ok(
        crm_cli("--calendar", "jalali", "transfers", "list", "--customer", "09121110002")
    ).stdout
    header, _rule, row = listed.splitlines()[:3]
    assert header.split() == ["#", "Status", "From", "To", "Points", "Fee", "Asked"]
    assert row.split() == [
        str(sent["id"]),
        "completed",
        str(a),
        str(b),
        "100",
        "2",
        "1404-01-08",
        "12:30",
    ]
    detail = ok(crm_cli("transfers", "show", str(sent["id"]), "--json")).json()
    assert [h["event"] for h in detail["history"]] == ["requested", "accepted"]
    allowance = ok(crm_cli("transfers", "allowance", str(a), "--json")).json()
    assert (
        allowance["limits"][0] | {"label": "1404-01", "points": 100, "points_left": 400}
        == allowance["limits"][0]
    )
    text = ok(crm_cli("transfers", "allowance", str(a))).stdout
    # wrapped at 80 columns when piped
    assert " ".join(text.split()) == (
        "500 points sent per Jalali month (1404-01): used 1 transfer, 100 points; left 400 points"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["send", "1", "3", "0"], "points to transfer must be positive, not 0"),
        (["send", "1", "3", "-5"], "points to transfer must be positive, not -5"),
        (["send", "1", "3", "ده"], "'ده' is not a whole number of points"),
        (["send", "1", "1", "10"], "cannot transfer points to themselves"),
        (["send", "1", "3", "10"], "customer 3 is outside the allowed circle"),
        (["send", "1", "09999999999", "10"], "no customer matches"),
        (["accept", "77"], "no transfer with id 77"),
        (["reverse", "77", "--reason", "x"], "no transfer with id 77"),
        (["family", "leave", "2"], "customer 2 is not in a family group"),
        (
            ["recipients", "approve", "1", "3"],
            "customer 1 has not registered customer 3 as a recipient",
        ),
    ],
)
def test_errors_are_one_line_exit_1_and_change_nothing(crm_app, crm_cli, club, args, message):
    result = crm_cli("transfers", *args)
    assert result.exit_code == 1, result
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert (balance(crm_app, 1), balance(crm_app, 3)) == (1000, 0)
    assert ok(crm_cli("transfers", "list", "--json")).json() == []


def test_approved_recipients_over_limit_and_reversal_through_the_cli(crm_app, crm_cli, club):
    a, _, c = club
    ok(crm_cli("transfers", "recipients", "add", str(a), str(c)))
    queue = ok(crm_cli("transfers", "recipients", "list", "--status", "requested", "--json")).json()
    assert [(r["sender_id"], r["recipient_id"]) for r in queue] == [(a, c)]
    ok(crm_cli("transfers", "recipients", "approve", str(a), str(c)))
    t = ok(crm_cli("transfers", "send", str(a), str(c), "400", "--json")).json()
    over = crm_cli("transfers", "send", str(a), str(c), "200")
    assert over.exit_code == 1
    assert (
        "over the limit of 500 points sent per Jalali month (1404-01): 400 points used, 100 left"
        in over.stderr
    )
    ok(crm_cli("transfers", "accept", str(t["id"])))
    no_reason = crm_cli("transfers", "reverse", str(t["id"]))
    assert no_reason.exit_code == 2  # usage: --reason is required
    ok(crm_cli("transfers", "reverse", str(t["id"]), "--reason", "اشتباه اپراتور"))
    assert (balance(crm_app, a), balance(crm_app, c)) == (1000, 0)
    again = crm_cli("transfers", "reverse", str(t["id"]), "--reason", "x")
    assert (
        again.exit_code == 1
        and "is reversed; only a completed transfer can be reversed" in again.stderr
    )


def test_policy_shows_the_section_and_an_example(crm_cli, club):
    data = ok(crm_cli("transfers", "policy", "--json")).json()
    assert data["recipients"] == ["family", "approved"] and data["limits"][0]["max_points"] == 500
    assert "acceptance: required within 7 days" in ok(crm_cli("transfers", "policy")).stdout
    assert "[transfers]" in ok(crm_cli("transfers", "policy", "--example")).stdout


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "transfers")


def test_a_nul_in_a_family_name_is_refused_and_nothing_stored(crm_app, crm_cli, club):
    from crmcore_transfers.models import Family
    from sqlalchemy import select

    result = crm_cli("transfers", "family", "create", "09121110001", "خانواده\x00احمدی")
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "field name" in lines[0] and "U+0000" in lines[0]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalars(select(Family)).first() is None
