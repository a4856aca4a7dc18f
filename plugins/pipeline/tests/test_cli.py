from crmcore_pipeline.models import Deal, StageHistory
from sqlalchemy import select

from crmcore.testing import make_customer


def ok(result):
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def test_a_sale_from_lead_to_won_through_the_cli(crm_app, crm_cli):
    ok(crm_cli("pipeline", "reps", "add", "sara", "سارا احمدی"))
    ok(crm_cli("pipeline", "reps", "add", "reza", "رضا کریمی"))
    lead = ok(
        crm_cli(
            "pipeline",
            "leads",
            "add",
            "--title",
            "خرید عمده زعفران",
            "--source",
            "نمایشگاه",
            "--name",
            "کامران صالحی",
            "--phone",
            "۰۹۳۵۱۲۳۴۵۶۷",
            "--json",
        )
    ).json()
    assert (lead["owner"], lead["source"]) == ("sara", "exhibition")
    deal = ok(
        crm_cli(
            "--calendar",
            "jalali",
            "pipeline",
            "leads",
            "convert",
            str(lead["id"]),
            "--amount",
            "۱۲۰٬۰۰۰٬۰۰۰",
            "--expected-close",
            "1404/02/15",
            "--json",
        )
    ).json()
    assert (
        deal["stage"],
        deal["amount"],
        deal["expected_close"],
        deal["expected_close_jalali"],
    ) == ("lead", "120000000", "2025-05-05", "1404-02-15")
    assert deal["customer_created"] is True
    out = ok(crm_cli("pipeline", "deals", "move", str(deal["id"]), "ارسال پیش‌فاکتور"))
    assert "moved to proforma" in out.stdout
    ok(crm_cli("pipeline", "deals", "update", str(deal["id"]), "--probability", "55"))
    out = ok(crm_cli("pipeline", "deals", "win", str(deal["id"]), "--reason", "quality"))
    assert "won: 120,000,000 IRR" in out.stdout
    shown = ok(crm_cli("pipeline", "deals", "show", str(deal["id"]), "--json")).json()
    assert shown["status"] == "won" and [h["to"] for h in shown["history"]] == [
        "lead",
        "proforma",
        "won",
    ]
    text = ok(crm_cli("pipeline", "deals", "show", str(deal["id"]))).stdout
    assert "lead → proforma" in text and "reason: quality" in text
    history = ok(crm_cli("pipeline", "deals", "history", str(deal["id"]), "--json")).json()
    assert [h["from"] for h in history["stages"]] == [None, "lead", "proforma"]
    assert (
        ok(crm_cli("pipeline", "deals", "list", "--status", "won", "--json")).json()[0]["id"]
        == deal["id"]
    )
    profile = ok(crm_cli("customers", "show", str(shown["customer_id"]), "--json")).json()
    assert profile["sections"]["pipeline"]["won_deals"] == 1
    assert profile["sections"]["pipeline"]["won_amount"] == {"IRR": "120000000"}


def test_bad_input_exits_1_with_one_line_and_changes_nothing(crm_app, crm_cli):
    cid = make_customer(crm_app, "مریم")
    did = ok(
        crm_cli("pipeline", "deals", "add", "--customer", str(cid), "--title", "T", "--json")
    ).json()["id"]
    cases = [
        (
            ["deals", "add", "--customer", str(cid), "--title", "T", "--amount", "-100"],
            "cannot be negative",
        ),
        (
            ["deals", "add", "--customer", str(cid), "--title", "T", "--probability", "150"],
            "between 0 and 100",
        ),
        (["deals", "move", str(did), "qualified"], "unknown stage 'qualified'"),
        (["deals", "win", str(did)], "has no amount"),
        (["deals", "lose", str(did), "--reason", "weather"], "unknown lost reason 'weather'"),
        (["deals", "update", str(did), "--probability", "-3"], "between 0 and 100"),
        (["leads", "convert", "42"], "no lead with id 42"),
    ]
    for args, message in cases:
        result = crm_cli("pipeline", *args)
        assert result.exit_code == 1, (args, result.stdout)
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    with crm_app.unit_of_work(readonly=True) as uow:
        deals = uow.session.scalars(select(Deal)).all()
        assert [(d.id, d.stage.code, d.status, d.probability) for d in deals] == [
            (did, "lead", "open", None)
        ]
        assert len(uow.session.scalars(select(StageHistory)).all()) == 1
    ok(crm_cli("pipeline", "deals", "lose", str(did), "--reason", "price"))
    result = crm_cli("pipeline", "deals", "move", str(did), "contact")
    assert result.exit_code == 1 and "is lost; reopen it before you move it" in result.stderr


def test_the_board_shows_columns_of_deals_per_stage(crm_app, crm_cli):
    cid = make_customer(crm_app, "شرکت پخش البرز")
    ok(crm_cli("pipeline", "reps", "add", "ali", "علی"))
    for title, stage, amount in [
        ("زعفران", "lead", "100"),
        ("پسته", "negotiation", "200"),
        ("خرما", "negotiation", "300"),
    ]:
        ok(
            crm_cli(
                "pipeline",
                "deals",
                "add",
                "--customer",
                str(cid),
                "--title",
                title,
                "--stage",
                stage,
                "--amount",
                amount,
                "--expected-close",
                "1404-03-01",
            )
        )
    data = ok(crm_cli("pipeline", "board", "--json")).json()
    assert [(c["stage"], c["count"]) for c in data["columns"]] == [
        ("lead", 1),
        ("contact", 0),
        ("proforma", 0),
        ("negotiation", 2),
    ]
    assert data["columns"][3]["totals"] == {"IRR": {"amount": "500", "weighted": "300"}}
    assert [d["title"] for d in data["columns"][3]["deals"]] == ["پسته", "خرما"]
    text = ok(crm_cli("--calendar", "jalali", "pipeline", "board", "--limit", "1")).stdout
    for expected in (
        "سرنخ",
        "مذاکره",
        "#1 زعفران",
        "+1 more",
        "1404-03-01",
        "@ali",
        "2 deal(s) · 60%",
    ):
        assert expected in text, expected


def test_stages_reps_sources_reasons_and_targets_commands(crm_app, crm_cli):
    ok(
        crm_cli(
            "pipeline",
            "stages",
            "add",
            "demo",
            "دمو محصول",
            "--probability",
            "30",
            "--before",
            "proforma",
        )
    )
    stages = ok(crm_cli("pipeline", "stages", "list", "--json")).json()
    assert [s["code"] for s in stages[0]["stages"]] == [
        "lead",
        "contact",
        "demo",
        "proforma",
        "negotiation",
        "won",
        "lost",
    ]
    assert "دمو محصول" in ok(crm_cli("pipeline", "stages", "list")).stdout
    ok(crm_cli("pipeline", "stages", "add-pipeline", "b2b", "فروش سازمانی"))
    ok(
        crm_cli(
            "pipeline",
            "stages",
            "add",
            "tender",
            "مناقصه",
            "--probability",
            "25",
            "--pipeline",
            "b2b",
        )
    )
    assert [p["code"] for p in ok(crm_cli("pipeline", "stages", "list", "--json")).json()] == [
        "default",
        "b2b",
    ]
    ok(crm_cli("pipeline", "reps", "add", "ali", "علی"))
    ok(crm_cli("pipeline", "reps", "deactivate", "ali"))
    assert ok(crm_cli("pipeline", "reps", "list", "--json")).json() == [
        {"username": "ali", "name": "علی", "active": False, "open_deals": 0}
    ]
    ok(crm_cli("pipeline", "sources", "add", "instagram", "اینستاگرام"))
    assert "instagram" in [
        s["code"] for s in ok(crm_cli("pipeline", "sources", "list", "--json")).json()
    ]
    ok(crm_cli("pipeline", "reasons", "add", "lost", "stock", "نبود موجودی"))
    lost = [
        r["code"]
        for r in ok(crm_cli("pipeline", "reasons", "list", "--kind", "lost", "--json")).json()
    ]
    assert lost[-1] == "stock"
    ok(
        crm_cli(
            "pipeline", "targets", "set", "ali", "--period", "۱۴۰۴-۰۲", "--amount", "500,000,000"
        )
    )
    ok(
        crm_cli("pipeline", "targets", "set", "ali", "--period", "1404-02", "--amount", "600000000")
    )  # replaces
    assert ok(crm_cli("pipeline", "targets", "list", "--json")).json() == [
        {
            "rep": "ali",
            "period": "1404-02",
            "starts_on": "2025-04-21",
            "ends_on": "2025-05-22",
            "amount": "600000000",
            "currency": "IRR",
        }
    ]
    bad = crm_cli("pipeline", "targets", "set", "ali", "--period", "1404-13", "--amount", "1")
    assert bad.exit_code == 1 and "has no month 13" in bad.stderr


def test_the_group_is_refused_while_the_plugin_is_disabled(crm_app, crm_cli):
    ok(crm_cli("plugins", "disable", "pipeline"))
    result = crm_cli("pipeline", "board")
    assert result.exit_code == 1 and "crm plugins enable pipeline" in result.stderr


def test_a_nul_in_a_deal_title_is_refused_and_nothing_stored(crm_app, crm_cli):
    ok(crm_cli("pipeline", "reps", "add", "sara", "سارا احمدی"))
    make_customer(crm_app, "مهسا", phones=["09121234567"])
    result = crm_cli(
        "pipeline", "deals", "add", "--customer", "09121234567", "--title", "قرارداد\x00"
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "field title" in lines[0] and "U+0000" in lines[0]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalars(select(Deal)).first() is None
