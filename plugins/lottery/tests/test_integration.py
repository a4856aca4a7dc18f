"""The lottery inside the CRM: migrations, the report, the profile, merges, jobs and the demo."""

from datetime import datetime, timedelta, timezone

from crmcore_lottery.models import LotteryCampaign, LotteryMember, LotteryWinner
from lottery_test_helpers import END, IN_WINDOW, close, count, draw, new_campaign, weights

from crmcore.api import ReportParams, get_customer, merge_customers, profile_sections, run_report
from crmcore.testing import (
    assert_migrations_match_models,
    assert_persian_panel,
    make_customer,
    panel_html,
    panel_text,
    record_purchase,
    run_jobs,
)

UTC = timezone.utc


def test_migrations_match_models(crm_app):
    assert_migrations_match_models(crm_app, "lottery")


def test_campaigns_report(crm_app):
    new_campaign(crm_app, prizes=[{"name": "Coin", "quantity": 2}])
    new_campaign(
        crm_app,
        name="summer",
        entry_start=datetime(2025, 6, 1, tzinfo=UTC),
        entry_end=datetime(2025, 7, 1, tzinfo=UTC),
    )
    for i in range(3):
        record_purchase(crm_app, make_customer(crm_app, f"c{i}"), "1000", at=IN_WINDOW)
    close(crm_app)
    draw(crm_app)
    with crm_app.unit_of_work(readonly=True) as uow:
        report = run_report(uow, "lottery.campaigns", ReportParams(calendar="jalali"))
        march = run_report(
            uow,
            "lottery.campaigns",
            ReportParams(start=datetime(2025, 3, 5).date(), end=datetime(2025, 3, 6).date()),
        )
    assert [r[0] for r in report["rows"]] == ["spring", "summer"]
    spring = dict(zip(report["columns"], report["rows"][0]))
    assert spring["status"] == "drawn" and spring["entries_from"] == "1403-12-11 03:30"
    assert (
        spring["participants"],
        spring["entries"],
        spring["eligible"],
        spring["prizes"],
        spring["awarded"],
    ) == (3, 3, 3, 2, 2)
    assert report["totals"] == {"campaigns": 2, "entries": 3, "prizes": 3, "awarded": 2}
    assert [r[0] for r in march["rows"]] == ["spring"]


def test_profile_shows_entries_and_prizes(crm_app):
    new_campaign(crm_app)
    cid = make_customer(crm_app)
    other = make_customer(crm_app, "بی‌شانس")
    record_purchase(crm_app, cid, "1000", at=IN_WINDOW)
    with crm_app.unit_of_work(readonly=True) as uow:
        (section,) = [
            s for s in profile_sections(uow, get_customer(uow.session, cid)) if s.key == "lottery"
        ]
        code = section.data.pop("lottery_code")
        assert section.data == {
            "entries": [{"campaign": "spring", "status": "open", "entries": 1}],
            "prizes_won": [],
        }
        assert code == uow.session.get(LotteryMember, cid).code  # the member's code, on their card
        assert not [
            s for s in profile_sections(uow, get_customer(uow.session, other)) if s.key == "lottery"
        ]
    close(crm_app)
    draw(crm_app)
    with crm_app.unit_of_work(readonly=True) as uow:
        (section,) = [
            s for s in profile_sections(uow, get_customer(uow.session, cid)) if s.key == "lottery"
        ]
    assert section.data["prizes_won"][0]["prize"] == "Gold coin" and section.title.fa == "قرعه‌کشی"
    html = panel_html(crm_app, cid, "lottery", lang="fa")
    assert_persian_panel(html)
    assert "برندهٔ" in html and "<time" in html  # the prize won, on the panel's timeline
    assert "کد قرعه‌کشی" in html
    assert "Gold coin" in panel_text(crm_app, cid, "lottery", lang="en")


def test_merging_moves_entries_and_prizes_but_not_the_frozen_participant(crm_app):
    new_campaign(crm_app, prizes=[{"name": "Coin", "quantity": 1}])
    keep, dup = make_customer(crm_app, "علی"), make_customer(crm_app, "علي")
    record_purchase(crm_app, dup, "1000", at=IN_WINDOW)
    close(crm_app)
    draw(crm_app)
    with crm_app.unit_of_work() as uow:
        merge_customers(uow, keep, dup)
    with crm_app.unit_of_work(readonly=True) as uow:
        winner = uow.session.query(LotteryWinner).one()
        dup_code = uow.session.get(LotteryMember, dup).code
        assert (winner.participant, winner.customer_id) == (dup_code, keep)
    from lottery_test_helpers import new_campaign as again

    again(crm_app, name="later", entry_start=END, entry_end=datetime(2025, 5, 1, tzinfo=UTC))
    record_purchase(crm_app, keep, "1000", at=datetime(2025, 4, 2, tzinfo=UTC))
    assert weights(crm_app, "later") == {keep: 1}
    from crmcore_lottery.campaigns import get_campaign
    from crmcore_lottery.drawing import verify_campaign

    with crm_app.unit_of_work(readonly=True) as uow:
        assert verify_campaign(
            uow, get_campaign(uow, "spring")
        ).ok  # merges do not disturb the proof


LOTTERY_JOBS = ["lottery.close_due", "lottery.draw_due"]


def test_jobs_close_and_draw_campaigns_when_their_time_comes(crm_app):
    new_campaign(crm_app)
    record_purchase(crm_app, make_customer(crm_app), "1000", at=IN_WINDOW)
    assert run_jobs(crm_app, only=LOTTERY_JOBS) == [
        {"job": "lottery.close_due", "ok": True, "summary": {"closed": []}},
        {"job": "lottery.draw_due", "ok": True, "summary": {"drawn": []}},
    ]
    new_campaign(crm_app, name="no-prizes", prizes=[])
    crm_app.clock.set(END)
    results = run_jobs(crm_app, only=LOTTERY_JOBS)
    assert results[0]["summary"] == {
        "closed": ["spring"],
        "not_closed": ["no-prizes: no prizes yet"],
    }
    # the draw waits the minimum gap after closing (an hour by default), so the hashes are out first
    assert results[1]["summary"] == {
        "drawn": [],
        "waiting": ["spring: not before 2025-04-01T01:00:00+00:00"],
    }
    crm_app.clock.set(END + timedelta(hours=1))
    results = run_jobs(crm_app, only=LOTTERY_JOBS)
    assert results[1]["summary"] == {"drawn": [{"campaign": "spring", "awarded": 1}]}
    assert count(crm_app, LotteryCampaign, LotteryCampaign.status == "drawn") == 1


def test_demo_part(tmp_path):
    from crmcore.testing import build_demo

    summary = build_demo(tmp_path / "demo.db", customers=25)
    lines = [line for line in summary["lines"] if line.startswith("lottery:")]
    assert len(lines) == 2
    assert "verify passed" in lines[0] and "staff excluded" in lines[0]
    assert "40 cards printed, 10 redeemed" in lines[1]


def _readme_verifier() -> str:
    from pathlib import Path

    text = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    after = text.split("A complete verifier", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_verifier_checks_an_exported_proof(crm_app, tmp_path):
    import json
    import subprocess
    import sys

    from crmcore_lottery.campaigns import get_campaign
    from crmcore_lottery.drawing import proof_document

    new_campaign(crm_app, prizes=[{"name": "Coin", "quantity": 1}, {"name": "Card", "quantity": 3}])
    for i in range(6):
        cid = make_customer(crm_app, f"c{i}")
        for _ in range(i + 1):
            record_purchase(crm_app, cid, "1000", at=IN_WINDOW)
    close(crm_app)
    draw(crm_app)
    with crm_app.unit_of_work(readonly=True) as uow:
        data = proof_document(uow, get_campaign(uow, "spring"))
    script = tmp_path / "verify.py"
    script.write_text(_readme_verifier(), encoding="utf-8")
    good = tmp_path / "proof.json"
    good.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), str(good)], capture_output=True, text=True)
    assert run.stdout.strip() == "verified", run.stderr
    data["winners"][1]["participant"], data["winners"][2]["participant"] = (
        data["winners"][2]["participant"],
        data["winners"][1]["participant"],
    )
    swapped = tmp_path / "swapped.json"
    swapped.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    run = subprocess.run(
        [sys.executable, str(script), str(swapped)], capture_output=True, text=True
    )
    assert run.stdout.strip() == "MISMATCH"
