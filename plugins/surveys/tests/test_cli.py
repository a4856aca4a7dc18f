"""The `crm surveys` commands: JSON output, one-line errors with exit code 1, nothing changed on bad input."""

import re

from surveys_test_helpers import new_customer

from crmcore.testing import outbox_events

DEFINITION = """
title: After-visit survey
title_fa: نظرسنجی پس از مراجعه
channel: any
sample: 50
delay: 2h
triggers:
  - purchase category=زعفران
  - ticket_closed
questions:
  - key: nps
    type: nps
    text: {en: "Would you recommend us?", fa: "ما را پیشنهاد می‌کنید؟"}
  - key: reason
    type: multiple
    text: {en: "What stood out?", fa: "چه چیزی برجسته بود؟"}
    choices:
      - {key: price, text: {en: Price, fa: قیمت}}
      - {key: staff, text: {en: Staff, fa: کارکنان}}
  - key: why
    type: text
    text: {fa: "توضیح دهید"}
"""


def test_create_from_file_show_and_list(crm_cli, tmp_path):
    f = tmp_path / "survey.yaml"
    f.write_text(DEFINITION, encoding="utf-8")
    r = crm_cli("surveys", "create", "visit", "--file", str(f), "--json")
    assert r.exit_code == 0, r.stderr
    data = r.json()
    assert (data["channel"], data["sample_percent"], data["delay"]) == ("any", 50, "2h")
    assert data["triggers"] == ["purchase category=زعفران", "ticket_closed"]
    assert "warning: trigger 'ticket_closed' waits for the 'tickets' plugin" in r.stderr
    shown = crm_cli("surveys", "show", "visit")
    assert (
        "* nps [nps] ما را پیشنهاد می‌کنید؟" in shown.stdout and "- staff: کارکنان" in shown.stdout
    )
    assert "Would you recommend us?" in crm_cli("surveys", "show", "visit", "--lang", "en").stdout
    listed = crm_cli("surveys", "list", "--json").json()
    assert [s["name"] for s in listed] == ["visit"] and listed[0]["version"] == 1


def test_invite_answer_results_followups_round_trip(crm_app, crm_cli):
    cid = new_customer(crm_app, "مریم", phone="09121234567")
    assert (
        crm_cli("surveys", "create", "nps", "--template", "nps", "--title-fa", "نظر شما").exit_code
        == 0
    )
    token = crm_cli("surveys", "invite", "nps", "09121234567").stdout.strip()
    assert len(token) == 32
    again = crm_cli("surveys", "invite", "nps", str(cid))
    assert again.exit_code == 1 and "was not invited: invited at" in again.stderr
    r = crm_cli("surveys", "answer", token, "-a", "nps=۵", "-a", "why=دیر رسید", "--json")
    assert r.exit_code == 0, r.stderr
    assert (r.json()["score"], r.json()["detractor"], r.json()["followup"]) == (
        5,
        True,
        "follow-up list",
    )
    reused = crm_cli("surveys", "answer", token, "-a", "nps=9")
    assert reused.exit_code == 1 and "a token is used once" in reused.stderr
    results = crm_cli("surveys", "results", "nps", "--json").json()
    assert results["questions"][0]["nps"] == "-100.0" and results["response_rate"] == "100.0"
    assert results["questions"][1]["latest"][0]["text"] == "دیر رسید"
    follow = crm_cli("surveys", "followups", "--json").json()
    assert [(f["customer_id"], f["score"]) for f in follow] == [(cid, 5)]
    assert (
        crm_cli("surveys", "followup-done", str(follow[0]["id"]), "--note", "تماس گرفتم").exit_code
        == 0
    )
    assert crm_cli("surveys", "followups", "--json").json() == []
    kinds = [i["kind"] for i in crm_cli("interactions", "list", str(cid), "--json").json()]
    assert kinds == ["survey_answer"]
    report = crm_cli("reports", "run", "surveys.nps", "--json").json()
    assert report["rows"][0][2:] == [1, 0, 0, 1, "0.0", "100.0", "-100.0"]


def test_bad_input_is_one_line_exit_1_and_changes_nothing(crm_app, crm_cli, tmp_path):
    new_customer(crm_app, "مریم", phone="09121234567")
    empty = tmp_path / "empty.yaml"
    empty.write_text("title: x\nquestions: []\n", encoding="utf-8")
    cases = [
        (("surveys", "create", "x", "--file", str(empty)), "a survey needs at least one question"),
        (
            (
                "surveys",
                "create",
                "x",
                "--template",
                "nps",
                "--title",
                "x",
                "--trigger",
                "tickt_closed",
            ),
            "unknown trigger event 'tickt_closed'",
        ),
        (
            ("surveys", "create", "x", "--template", "nps", "--title", "x", "--sample", "0"),
            "from 1 to 100",
        ),
        (
            ("surveys", "create", "Bad Name", "--template", "nps", "--title", "x"),
            "is not a survey name",
        ),
        (("surveys", "answer", "no-such-token", "-a", "nps=9"), "no invitation has this token"),
        (("surveys", "invite", "ghost", "1"), "no survey named 'ghost'"),
    ]
    for args, message in cases:
        r = crm_cli(*args)
        assert r.exit_code == 1, (args, r.stdout)
        assert message in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert crm_cli("surveys", "list", "--json").json() == []
    crm_cli("surveys", "create", "nps", "--template", "nps", "--title", "x")
    token = crm_cli("surveys", "invite", "nps", "1").stdout.strip()
    r = crm_cli("surveys", "answer", token, "-a", "nps=11")
    assert r.exit_code == 1 and "field answers.nps: 11 is out of range" in r.stderr
    assert crm_cli("surveys", "results", "nps", "--json").json()["responses"] == 0
    assert outbox_events(crm_app, "surveys_survey_answered") == []


def test_segment_invite_counts_skips_and_import_dry_run(crm_app, crm_cli, tmp_path):
    for n in range(4):
        new_customer(crm_app, f"مشتری {n}", phone=f"0912000000{n}", sms=n != 3, tags=["vip"])
    crm_cli("surveys", "create", "nps", "--template", "nps", "--title", "x")
    r = crm_cli("surveys", "invite", "nps", "--where", "tag=vip", "--json")
    assert r.exit_code == 0, r.stderr
    out = r.json()
    assert len(out["invited"]) == 3 and out["skipped"] == {"consent": 1}
    f = tmp_path / "answers.csv"
    f.write_text(
        "token,nps,why\n"
        + "".join(f"{i['token']},{s},\n" for i, s in zip(out["invited"], (10, 9, 2))),
        encoding="utf-8",
    )
    dry = crm_cli("surveys", "import-answers", str(f), "--dry-run", "--json")
    assert dry.json() == {"recorded": 3, "detractors": 1, "dry_run": True}
    assert crm_cli("surveys", "results", "nps", "--json").json()["responses"] == 0
    real = crm_cli("surveys", "import-answers", str(f))
    assert real.stdout.strip() == "recorded 3 answers (1 low scores)"
    assert crm_cli("surveys", "results", "nps", "--json").json()["questions"][0]["nps"] == "33.3"


def test_update_settings_and_invitations_listing(crm_app, crm_cli):
    new_customer(crm_app, "مریم", phone="09121234567")
    crm_cli("surveys", "create", "nps", "--template", "nps", "--title", "x")
    r = crm_cli(
        "surveys",
        "update",
        "nps",
        "--status",
        "paused",
        "--delay",
        "3h",
        "--trigger",
        "deal_won",
        "--json",
    )
    assert (r.json()["status"], r.json()["delay"], r.json()["triggers"]) == (
        "paused",
        "3h",
        ["deal_won"],
    )
    assert "'pipeline' plugin" in r.stderr
    paused = crm_cli("surveys", "invite", "nps", "1")
    assert paused.exit_code == 1 and "is paused" in paused.stderr
    crm_cli("surveys", "update", "nps", "--status", "active")
    s = crm_cli(
        "surveys",
        "settings",
        "--fatigue-days",
        "10",
        "--link-template",
        "https://shop.ir/s/{token}",
        "--json",
    )
    assert s.json() == {
        "fatigue_days": 10,
        "max_event_age_days": 7,
        "link_template": "https://shop.ir/s/{token}",
    }
    bad = crm_cli("surveys", "settings", "--link-template", "https://shop.ir/s/")
    assert bad.exit_code == 1 and "must contain {token}" in bad.stderr
    crm_cli("surveys", "invite", "nps", "1")
    rows = crm_cli("surveys", "invitations", "nps", "--json").json()
    assert [(r["status"], r["trigger"]) for r in rows] == [("created", "manual")]
    assert rows[0]["url"] == f"https://shop.ir/s/{rows[0]['token']}"
    jalali = crm_cli("--calendar", "jalali", "surveys", "invitations", "nps", "--json").json()
    assert re.fullmatch(r"14\d\d-\d\d-\d\d \d\d:\d\d", jalali[0]["send_at"])  # a Jalali year


def test_a_nul_in_a_comment_is_refused_and_nothing_stored(crm_app, crm_cli):
    from crmcore_surveys.models import Response
    from sqlalchemy import select

    new_customer(crm_app, "مریم", phone="09121234567")
    assert crm_cli("surveys", "create", "nps", "--template", "nps", "--title", "Us").exit_code == 0
    token = crm_cli("surveys", "invite", "nps", "09121234567").stdout.strip()
    r = crm_cli("surveys", "answer", token, "-a", "nps=5", "-a", "why=دیر\x00رسید")
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "U+0000" in lines[0] and "why" in lines[0]
    with crm_app.unit_of_work(readonly=True) as uow:
        assert uow.session.scalars(select(Response)).first() is None
    assert crm_cli("surveys", "answer", token, "-a", "nps=5", "-a", "why=دیر").exit_code == 0
