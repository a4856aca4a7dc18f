"""The CLI, the profile section, the ``tier`` search field, the reports and customer merges."""

from datetime import timedelta

from tiers_helpers import buy, days_ago, history, load_ladder, tier

from crmcore.api import format_date
from crmcore.testing import assert_migrations_match_models, make_customer


def near_gold(crm_app, crm_cli, tmp_path) -> int:
    """A Silver member 120,000 rials of spending short of Gold (and 418 points short)."""
    load_ladder(crm_cli, tmp_path, gold_extra='or_spend = "5000000"\ngrace_days = 14')
    cid = make_customer(crm_app, "نرگس کریمی")
    buy(crm_app, cid, 3_000_000, days_ago(crm_app, 20))  # 300 points: silver
    buy(crm_app, cid, 1_880_000, days_ago(crm_app, 10))  # 188 × 1.5 = 282 points; spend 4,880,000
    return cid


def test_ladder_command(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path)
    data = crm_cli("tiers", "ladder", "--json").json()
    assert data["currency"] == "IRR"
    assert [(t["name"], t["rank"], t["multiplier"]) for t in data["tiers"]] == [
        ("red", 0, "1"),
        ("silver", 1, "1.5"),
        ("gold", 2, "2"),
    ]
    text = crm_cli("tiers", "ladder").stdout
    # wrapped at 80 columns when piped
    assert (
        "Silver (نقره‌ای): 300 points in rolling 365 days; earns ×1.5, 5% off; perks: free delivery"
        in " ".join(text.split())
    )


def test_show_progress_to_the_next_tier(crm_app, crm_cli, tmp_path):
    cid = near_gold(crm_app, crm_cli, tmp_path)
    data = crm_cli("tiers", "show", str(cid), "--json").json()
    assert (data["tier"], data["title_fa"]) == ("silver", "نقره‌ای")
    assert data["benefits"] == {
        "multiplier": "1.5",
        "discount_percent": 5,
        "perks": ["free delivery"],
    }
    assert data["next_tier"]["text"] == "120,000 rials more to Gold"
    assert data["next_tier"]["text_fa"] == "۱۲۰٬۰۰۰ ریال خرید دیگر تا طلایی"
    assert {p["metric"]: p["needed"] for p in data["next_tier"]["progress"]} == {
        "points": 418,
        "spend": 120_000,
    }
    lapse = (crm_app.clock() + timedelta(days=345)).date()  # the first purchase leaves the window
    assert data["reevaluated_on"] == lapse.isoformat() and data["downgrade_on"] == lapse.isoformat()
    text = crm_cli("--calendar", "jalali", "tiers", "show", str(cid)).stdout
    assert "Silver (نقره‌ای)" in text and "120,000 rials more to Gold" in text
    assert format_date(lapse, "jalali") in text


def test_profile_section_in_customers_show(crm_app, crm_cli, tmp_path):
    cid = near_gold(crm_app, crm_cli, tmp_path)
    section = crm_cli("customers", "show", str(cid), "--json").json()["sections"]["tiers"]
    assert section["tier"] == "silver" and section["next_tier"]["name"] == "gold"
    assert [h["direction"] for h in section["history"]] == ["up", "join"]
    stranger = make_customer(crm_app, "Sam")
    fresh = crm_cli("customers", "show", str(stranger), "--json").json()["sections"]["tiers"]
    assert fresh["tier"] == "red" and fresh["member"] is False
    assert fresh["next_tier"]["text"] == "300 points more to Silver"
    from crmcore.testing import assert_persian_panel, panel_html, panel_text

    html = panel_html(crm_app, cid, "tiers", lang="fa")
    assert_persian_panel(html)
    # the tier once among the fields, by its Persian name (the timeline below tells when it was
    # reached)
    assert '<dt>سطح</dt><dd><span class="ui-badge tone-success">نقره‌ای</span>' in html
    assert html.split("ui-timeline")[0].count("نقره‌ای") == 1 and "silver" not in html.lower()
    assert "تا سطح طلایی" in html and "<progress" in html
    text = panel_text(crm_app, cid, "tiers", lang="en", width=80)
    assert "[Silver]" in text and "Toward Gold" in text and "120,000 rials more to Gold" in text


def test_history_command(crm_app, crm_cli, tmp_path):
    cid = near_gold(crm_app, crm_cli, tmp_path)
    rows = crm_cli("tiers", "history", str(cid), "--json").json()
    assert [(r["old_tier"], r["new_tier"], r["direction"]) for r in rows] == [
        (None, "red", "join"),
        ("red", "silver", "up"),
    ]
    assert rows[1]["reason"] == "crossed Silver: 300 of 300 points in rolling 365 days"
    text = crm_cli("--calendar", "jalali", "tiers", "history", str(cid)).stdout.splitlines()
    assert (
        text[1].startswith(format_date(days_ago(crm_app, 20), "jalali"))
        and "red → silver" in text[1]
    )
    assert crm_cli("tiers", "history", "999").exit_code == 1


def test_find_customers_by_tier(crm_app, crm_cli, tmp_path):
    silver = near_gold(crm_app, crm_cli, tmp_path)
    gold = make_customer(crm_app, "علی رضایی")
    buy(crm_app, gold, 11_000_000)
    red = make_customer(crm_app, "Red")
    buy(crm_app, red, 100_000)

    def found(*where):
        args = [a for w in where for a in ("--where", w)]
        result = crm_cli("customers", "find", *args, "--json")
        assert result.exit_code == 0, result
        return sorted(r["id"] for r in result.json())

    assert found("tier=gold") == [gold]
    assert found("tier=GOLD") == [gold]
    assert found("tier=silver") == [silver]
    assert found("tier_rank>=1") == sorted([silver, gold])
    assert found("tier!=red", "tier_rank<2") == [silver]
    assert found("tier>silver") == [gold]  # along the ladder, as lottery's minimum tier asks
    assert found("tier>=silver") == sorted([silver, gold])
    assert found("tier<silver") == [red]
    refused = crm_cli("customers", "find", "--where", "tier>=platinum")
    assert refused.exit_code == 1 and "unknown tier 'platinum'" in refused.stderr


def test_reports(crm_app, crm_cli, tmp_path):
    cid = near_gold(crm_app, crm_cli, tmp_path)
    other = make_customer(crm_app, "Other")
    buy(crm_app, other, 100_000, days_ago(crm_app, 3))
    members = crm_cli("reports", "run", "tiers.members", "--json").json()
    assert [(r[0], r[4]) for r in members["rows"]] == [("gold", 0), ("silver", 1), ("red", 1)]
    assert members["totals"]["members"] == 2
    before = (
        (days_ago(crm_app, 15)).date().isoformat()
    )  # before the other customer's first purchase
    earlier = crm_cli("reports", "run", "tiers.members", "--to", before, "--json").json()
    assert [(r[0], r[4]) for r in earlier["rows"]] == [("gold", 0), ("silver", 1), ("red", 0)]
    crm_app.clock.advance(days=400)
    crm_cli("tiers", "evaluate")
    moves = crm_cli("reports", "run", "tiers.movements", "--period", "month", "--json").json()
    assert moves["totals"] == {
        "joined": 2,
        "up": 1,
        "down": 1,
        "moves": {"red→silver": 1, "silver→red": 1},
    }
    assert tier(crm_app, cid) == "red"


def test_merge_keeps_the_higher_tier_and_both_histories(crm_app, crm_cli, tmp_path):
    load_ladder(crm_cli, tmp_path)
    kept, other = make_customer(crm_app, "Kept"), make_customer(crm_app, "Other")
    buy(crm_app, kept, 100_000, days_ago(crm_app, 5))
    buy(crm_app, other, 11_000_000, days_ago(crm_app, 4))
    assert crm_cli("customers", "merge", str(kept), str(other)).exit_code == 0
    assert tier(crm_app, kept) == "gold"
    assert [h[2] for h in history(crm_app, kept)] == ["join", "join", "up", "up"]
    assert history(crm_app, other) == []
    members = crm_cli("reports", "run", "tiers.members", "--json").json()
    assert [(r[0], r[4]) for r in members["rows"]] == [("gold", 1), ("silver", 0), ("red", 0)]


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "tiers")
