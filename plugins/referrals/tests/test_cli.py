"""The CLI: every read command has --json; the text is for people (80 columns, grouped numbers, the chosen
calendar); mistakes are one line on stderr with exit 1."""

import pytest
from referrals_helpers import attach, code, load_rules

from crmcore.testing import assert_migrations_match_models, make_customer, record_purchase


@pytest.fixture
def network(crm_app):
    load_rules(crm_app, levels=2, referrer="[1000, 200]")
    a = make_customer(crm_app, "علی رضایی", phones=["09121111111"])
    b = make_customer(crm_app, "سارا کریمی")
    c = make_customer(crm_app, "رضا محمدی")
    attach(crm_app, b, a)
    attach(crm_app, c, b)
    record_purchase(crm_app, c, 700_000)
    return a, b, c


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "referrals")


def test_read_commands_as_json_and_text(crm_app, crm_cli, network):
    a, b, c = network
    reads = [("code", str(a)), ("show", str(b)), ("list",), ("network", str(a)), ("rules", "show")]
    for args in reads:
        r = crm_cli("referrals", *args, "--json")
        assert r.exit_code == 0, (args, r.stderr)
        r.json()
        text = crm_cli("--calendar", "jalali", "referrals", *args)
        assert text.exit_code == 0 and "{" not in text.stdout and "':" not in text.stdout, (
            text.stdout
        )
        assert all(len(line) <= 80 for line in text.stdout.splitlines()), text.stdout
    shown = crm_cli("referrals", "code", "09121111111").stdout
    assert code(crm_app, a) in shown and "کد معرف" in shown
    tree = crm_cli("referrals", "network", str(a), "--json").json()
    assert [(lv["level"], lv["people"], lv["qualified"]) for lv in tree["levels"]] == [
        (1, 1, 0),
        (2, 1, 1),
    ]
    assert (
        "۱۴۰" in crm_cli("--calendar", "jalali", "referrals", "list").stdout
        or "140" in crm_cli("--calendar", "jalali", "referrals", "list").stdout
    )
    assert "1,000" in crm_cli("referrals", "show", str(b)).stdout


def test_a_cut_list_says_so(crm_app, crm_cli):
    ali = make_customer(crm_app, "علی")
    for i in range(3):
        attach(crm_app, make_customer(crm_app, f"دوست {i}"), ali)
    out = crm_cli("referrals", "list", "--limit", "2").stdout
    assert "2 of 3 shown" in out
    assert crm_cli("referrals", "list", "--limit", "2", "--json").json()["total"] == 3


def test_mistakes_are_one_line(crm_app, crm_cli, tmp_path):
    ali = make_customer(crm_app, "علی")
    sara = make_customer(crm_app, "سارا")
    for args, message in [
        (("attach", str(sara), "ZZZZ-ZZZZ"), "mistyped"),
        (("attach", str(ali), code(crm_app, ali)), "own referral code"),
        (("show", "4242"), "4242"),
        (("simulate", "--amount", "abc"), "amount"),
    ]:
        r = crm_cli("referrals", *args)
        assert r.exit_code == 1, (args, r.stdout)
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert crm_cli("referrals", "list", "--json").json()["total"] == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("[program\n", encoding="utf-8")
    r = crm_cli("referrals", "rules", "load", str(bad))
    assert r.exit_code == 1 and "not valid TOML" in r.stderr


def test_attach_check_stores_nothing(crm_app, crm_cli):
    ali, sara = make_customer(crm_app, "علی"), make_customer(crm_app, "سارا")
    r = crm_cli("referrals", "attach", str(sara), code(crm_app, ali), "--check")
    assert r.exit_code == 0 and "nothing stored" in r.stdout
    assert crm_cli("referrals", "list", "--json").json()["total"] == 0
    assert crm_cli("referrals", "attach", str(sara), code(crm_app, ali)).exit_code == 0
    assert crm_cli("referrals", "list", "--json").json()["total"] == 1


def test_reports(crm_app, crm_cli, network):
    a, b, c = network
    top = crm_cli("reports", "run", "referrals.top_referrers", "--json").json()
    assert [row[0] for row in top["rows"]] == [a, b] or [row[0] for row in top["rows"]] == [b, a]
    assert {row[0]: row[4] for row in top["rows"]} == {a: 200, b: 1000}
    funnel = crm_cli("reports", "run", "referrals.conversion", "--json").json()
    assert [r[:2] for r in funnel["rows"]] == [
        ["referred", 2],
        ["first_purchase", 1],
        ["qualified", 1],
        ["repeat", 0],
    ]
    months = crm_cli(
        "--calendar",
        "jalali",
        "reports",
        "run",
        "referrals.by_period",
        "--period",
        "jalali_month",
        "--json",
    ).json()
    assert [(r[1], r[2], r[3], r[4]) for r in months["rows"]] == [("IRR", "700000", 1700, 1)]


def test_merging_and_forgetting(crm_app, crm_cli, network):
    a, b, c = network
    dup = make_customer(crm_app, "علی ر.")
    assert crm_cli("customers", "merge", str(dup), str(a)).exit_code == 0
    assert crm_cli("referrals", "show", str(b), "--json").json()["referred_by"] == dup
    assert crm_cli("referrals", "show", str(dup), "--json").json()["points_earned"] == 200
    assert crm_cli("customers", "forget", str(c), "--yes").exit_code == 0
    assert crm_cli("referrals", "network", str(dup), "--json").json()["total"] == 2


def test_the_demo_has_referrals(crm_cli, tmp_path):
    r = crm_cli("demo", "--path", str(tmp_path / "demo.db"))
    assert r.exit_code == 0, r.stderr
    assert "referrals:" in r.stdout
