import json
from importlib import resources

from crmcore_loyalty.jobs import run_expiry
from crmcore_loyalty.testing import load_base

from crmcore.testing import make_customer, record_purchase


def sample(tmp_path):
    path = tmp_path / "program.toml"
    path.write_text(
        resources.files("crmcore_loyalty.examples").joinpath("program.toml").read_text("utf-8"),
        "utf-8",
    )
    return path


def test_program_load_show_and_versions(crm_cli, tmp_path):
    path = sample(tmp_path)
    r = crm_cli("loyalty", "program", "load", str(path))
    assert r.exit_code == 0 and "loaded as version 1" in r.stdout
    shown = crm_cli("loyalty", "program", "show", "--json").json()
    assert shown["version"] == 1 and shown["negative_balance"] == "clawback"
    assert [w["code"] for w in shown["rewards"]] == ["free-tea", "off10", "pay"]
    assert "base: per_amount, 1 per 10,000" in crm_cli("loyalty", "program", "show").stdout
    assert (
        crm_cli("loyalty", "program", "versions", "--json").json()[0]["source_name"]
        == "program.toml"
    )


def test_bad_program_file_exit_1_one_line(crm_cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rules]]\nname='b'\nkind='per_amount'\npoints=1\nper='-5'\n", "utf-8")
    r = crm_cli("loyalty", "program", "load", str(bad))
    assert r.exit_code == 1 and "field rules[0].per" in r.stderr
    assert crm_cli("loyalty", "program", "show").exit_code == 1


def test_earn_adjust_redeem_history_balance_vouchers(crm_app, crm_cli, tmp_path):
    crm_cli("loyalty", "program", "load", str(sample(tmp_path)))
    cid = make_customer(crm_app, "نرگس احمدی", phones=["09121234567"])
    assert (
        crm_cli("loyalty", "earn", "09121234567", "1000", "--reason", "هدیه افتتاحیه").exit_code
        == 0
    )
    assert crm_cli("loyalty", "adjust", str(cid), "-100", "--reason", "correction").exit_code == 0
    out = crm_cli("loyalty", "redeem", str(cid), "off10", "--json").json()
    code = out["voucher"]["code"]
    assert out["points"] == 800 and out["balance"] == 100 and out["voucher"]["percent"] == 10
    r = crm_cli("loyalty", "redeem", str(cid), "off10")
    assert r.exit_code == 1 and "has 100 points; cannot take 800" in r.stderr
    history = crm_cli("loyalty", "history", str(cid), "--json").json()
    assert [(e["kind"], e["points"]) for e in history] == [
        ("redeem", -800),
        ("adjust", -100),
        ("earn", 1000),
    ]
    bal = crm_cli("loyalty", "balance", str(cid), "--json").json()
    assert bal["balance"] == 100 and bal["lots"][0]["remaining"] == 100
    assert "100 points" in crm_cli("loyalty", "balance", str(cid)).stdout
    assert (
        crm_cli("loyalty", "vouchers", "list", str(cid), "--json").json()[0]["status"] == "active"
    )
    other = make_customer(crm_app, "کس دیگر")
    r = crm_cli("loyalty", "vouchers", "use", code, "--customer", str(other))
    assert r.exit_code == 1 and "belongs to another customer" in r.stderr
    assert (
        crm_cli("loyalty", "vouchers", "use", code.lower(), "--customer", str(cid)).exit_code == 0
    )
    r = crm_cli("loyalty", "vouchers", "use", code)
    assert r.exit_code == 1 and "already used" in r.stderr
    r = crm_cli("loyalty", "vouchers", "use", "LY-NOPE-NOPE")
    assert r.exit_code == 1 and "no voucher with code" in r.stderr
    assert crm_cli("loyalty", "vouchers", "show", code, "--json").json()["status"] == "used"


def test_voucher_expires_and_expired_reward_is_refused(crm_app, crm_cli, tmp_path):
    crm_cli("loyalty", "program", "load", str(sample(tmp_path)))
    cid = make_customer(crm_app)
    crm_cli("loyalty", "earn", str(cid), "2000", "--reason", "gift")
    code = crm_cli("loyalty", "redeem", str(cid), "free-tea", "--json").json()["voucher"]["code"]
    crm_app.clock.advance(days=31)  # the CLI follows the test's clock
    r = crm_cli("loyalty", "vouchers", "use", code)
    assert r.exit_code == 1 and "expired on" in r.stderr
    with crm_app.unit_of_work() as uow:
        assert run_expiry(uow, uow.now())["vouchers_expired"] == 1
    assert crm_cli("loyalty", "vouchers", "show", code, "--json").json()["status"] == "expired"
    path = tmp_path / "p2.toml"
    text = sample(tmp_path).read_text("utf-8")
    path.write_text(
        text.replace("valid_days = 30\n", 'valid_days = 30\navailable_until = "2020-01-01"\n', 1),
        "utf-8",
    )
    crm_cli("loyalty", "program", "load", str(path))
    r = crm_cli("loyalty", "redeem", str(cid), "free-tea")
    assert r.exit_code == 1 and "expired on 2020-01-01" in r.stderr
    r = crm_cli("loyalty", "redeem", str(cid), "nope")
    assert r.exit_code == 1 and "no reward 'nope'" in r.stderr
    assert crm_cli("loyalty", "balance", str(cid), "--json").json()["balance"] == 1600


def test_simulate_explains_and_writes_nothing(crm_app, crm_cli, tmp_path):
    crm_cli("loyalty", "program", "load", str(sample(tmp_path)))
    cid = make_customer(crm_app, birthday="1370-05-01")
    out = crm_cli(
        "loyalty", "simulate", str(cid), "--amount", "1500000", "--sku", "SAF-05=1000000", "--json"
    ).json()
    fired = {f["rule"]: f["points"] for f in out["rules"] if f["fired"]}
    assert fired == {
        "base": 150,
        "saffron": 20,
        "welcome": 200,
        "nowruz": 0,
    }  # the test clock is 1404-01-01
    assert out["points"] == 150 * 2 + 20 + 200
    later = crm_cli(
        "loyalty",
        "simulate",
        str(cid),
        "--amount",
        "1500000",
        "--sku",
        "SAF-05=1000000",
        "--at",
        "1404-02-20",
        "--json",
    ).json()
    assert later["points"] == 370
    why = [f["why"] for f in later["rules"] if f["rule"] == "nowruz"]
    assert why == ["not active on 1404-02-20 (1403-12-25 to 1404-01-13)"]
    text = crm_cli(
        "loyalty", "simulate", str(cid), "--amount", "1500000", "--sku", "SAF-05=1000000"
    ).stdout
    assert (
        "✓ saffron (per_sku) +20" in text
        and "· birthday" in text
        and "not the birthday month" in text
    )
    assert crm_cli("loyalty", "history", str(cid), "--json").json() == []


def test_check_detects_an_edited_and_a_deleted_row(crm_app, crm_cli):
    from crmcore_loyalty.models import LoyaltyAccrual, LoyaltyEntry, LoyaltyLot
    from sqlalchemy import delete, select, update

    load_base(crm_app)
    cid = make_customer(crm_app)
    for amount in ("100000", "200000", "300000"):
        record_purchase(crm_app, cid, amount)
    ok = crm_cli("loyalty", "check")
    assert ok.exit_code == 0 and "chains intact" in ok.stdout
    with crm_app.unit_of_work() as uow:
        uow.session.execute(
            update(LoyaltyEntry)
            .where(LoyaltyEntry.seq == 2)
            .values(points=2000, balance_after=2010)
        )
    r = crm_cli("loyalty", "check", "--json")
    assert r.exit_code == 1
    assert any("edited" in p["problem"] for p in r.json()["problems"])
    with crm_app.unit_of_work() as uow:
        uow.session.execute(
            update(LoyaltyEntry).where(LoyaltyEntry.seq == 2).values(points=20, balance_after=30)
        )
    assert crm_cli("loyalty", "check").exit_code == 0
    with crm_app.unit_of_work() as uow:  # a thorough forger removes what points at the entry too
        victim = uow.session.scalar(select(LoyaltyEntry.id).where(LoyaltyEntry.seq == 2))
        uow.session.execute(
            update(LoyaltyAccrual).where(LoyaltyAccrual.entry_id == victim).values(entry_id=None)
        )
        uow.session.execute(delete(LoyaltyLot).where(LoyaltyLot.entry_id == victim))
        uow.session.execute(delete(LoyaltyEntry).where(LoyaltyEntry.id == victim))
    r = crm_cli("loyalty", "check")
    assert r.exit_code == 1
    assert "entry 2 is missing" in r.stderr and "does not link to the previous entry" in r.stderr


def test_reports_profile_search_and_jobs(crm_app, crm_cli):
    load_base(crm_app)
    a = make_customer(crm_app, "علی")
    b = make_customer(crm_app, "زهرا")
    record_purchase(crm_app, a, "1000000")
    record_purchase(crm_app, b, "50000")
    summary = crm_cli("reports", "run", "loyalty.summary", "--json").json()
    assert summary["totals"]["issued"] == 105 and summary["totals"]["outstanding"] == 105
    members = crm_cli("reports", "run", "loyalty.members", "--json").json()
    assert members["totals"]["members"] == 2
    found = crm_cli("customers", "find", "--where", "points>=100", "--json")
    assert found.exit_code == 0, found.stderr
    assert [
        c["id"]
        for c in (found.json() if isinstance(found.json(), list) else found.json()["results"])
    ] == [a]
    show = crm_cli("customers", "show", str(a), "--json").json()
    assert json.dumps(show, ensure_ascii=False).count('"balance": 100') == 1
    from crmcore.testing import assert_persian_panel, panel_html, panel_text

    html = panel_html(crm_app, a, "loyalty", lang="fa")
    assert_persian_panel(html)
    assert (
        "مانده امتیاز" in html and "۱۰۰" in html and "کسب" in html
    )  # the balance; the earn entry's kind
    text = panel_text(crm_app, a, "loyalty", lang="en", width=80)
    assert "Points balance 100" in text and "[earned]" in text
    r = crm_cli("jobs", "run", "--only", "loyalty.expiry", "--json")
    assert r.exit_code == 0, r.stderr
