"""``crm voip …`` in-process; ``crm voip listen`` against the simulated PBX (a real AMI TCP server)."""

import json

import pytest
from crmcore_voip.models import Call, FollowUp
from sqlalchemy import select

from crmcore.testing import make_customer, record_purchase


def ami_env(pbx, secret="s3cret"):
    return {
        "CRM_VOIP_AMI_HOST": "127.0.0.1",
        "CRM_VOIP_AMI_PORT": str(pbx.port),
        "CRM_VOIP_AMI_USERNAME": "crm",
        "CRM_VOIP_AMI_SECRET": secret,
        "CRM_VOIP_AREA_CODE": "21",
    }


def test_listen_prints_pops_logs_calls_and_survives_a_dropped_connection(
    app, crm_cli, fake_pbx, ami_calls, ami_drop
):
    maryam = make_customer(app, "مریم رضایی", phones=["09121234567"])
    record_purchase(app, maryam, "2500000", at="2025-03-01T10:00:00+03:30")
    ali = make_customer(app, "علی کریمی", phones=["02188888888"])
    a = ami_calls.inbound("1742547600.1", "09121234567", "101")
    b = ami_calls.inbound("1742547700.2", "88888888", "102", at=100, answer=False)
    c = ami_calls.inbound("1742547800.3", "09351112233", "103", at=200)
    d = ami_calls.inbound("1742547900.4", "۰۹۱۲۱۲۳۴۵۶۷", "101", at=300)
    pbx = fake_pbx(
        [
            [0.3]
            + a
            + ["Event: Garbage\r\nno colon here\r\n\r\n"]
            + d[:4]
            + [ami_drop],  # d answered, link drops
            [0.3] + b + ["\x00\xff junk\r\n\r\n"] + c[:3],  # d ended while we were away
        ]
    )
    result = crm_cli("voip", "listen", "--count", "4", "--retry-max", "0.05", env=ami_env(pbx))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4
    assert "incoming +989121234567 → 101 · مریم رضایی (#%d)" % maryam in lines[0]
    assert "last purchase: 2025-03-01 2,500,000 IRR" in lines[0]
    assert "مریم رضایی" in lines[1] and "→ 101" in lines[1]
    assert "+982188888888 → 102 · علی کریمی (#%d)" % ali in lines[2]
    assert (
        "+989351112233 → 103 · unknown caller — crm customers add --name NAME --phone +989351112233"
        in lines[3]
    )
    assert pbx.logins == 2 and pbx.action_names().count("CoreShowChannels") == 2
    with app.unit_of_work(readonly=True) as uow:
        calls = {c.call_key: c for c in uow.session.scalars(select(Call))}
        ups = list(uow.session.scalars(select(FollowUp)))
        uow.session.expunge_all()
    assert (
        calls["ami:1742547600.1"].status == "completed"
        and calls["ami:1742547600.1"].talk_seconds == 95
    )
    assert calls["ami:1742547600.1"].interaction_id is not None
    assert calls["ami:1742547900.4"].status == "completed"
    assert (
        calls["ami:1742547900.4"].details["closed_by"]
        == "ended while the CRM was disconnected from the PBX"
    )
    assert calls["ami:1742547700.2"].status == "missed"
    assert [(f.caller_e164, f.customer_id) for f in ups] == [("+982188888888", ali)]
    assert calls["ami:1742547800.3"].status == "ringing"


def test_listen_json_output(app, crm_cli, fake_pbx, ami_calls, ami_drop):
    pbx = fake_pbx([ami_calls.inbound("5.1", "09121234567", "101")])
    result = crm_cli("voip", "listen", "--count", "1", "--json", env=ami_env(pbx))
    pop = json.loads(result.stdout)
    assert (pop["number"], pop["extension"], pop["customer"]) == ("+989121234567", "101", None)
    assert pop["suggestion"]["action"] == "create_customer"


def test_listen_with_a_wrong_secret_fails_clearly(app, crm_cli, fake_pbx):
    pbx = fake_pbx([])
    result = crm_cli("voip", "listen", env=ami_env(pbx, secret="nope"))
    assert result.exit_code == 1
    assert "AMI login as 'crm' refused: Authentication failed" in result.stderr


def test_listen_without_credentials(app, crm_cli):
    result = crm_cli("voip", "listen", env={"CRM_VOIP_AMI_USERNAME": "", "CRM_VOIP_AMI_SECRET": ""})
    assert result.exit_code == 1 and "AMI username and secret are needed" in result.stderr


def test_lookup_in_any_format(app, crm_cli):
    cid = make_customer(app, "مریم", phones=["09121234567"])
    out = crm_cli("voip", "lookup", "۰۰۹۸ ۹۱۲ ۱۲۳ ۴۵۶۷", "--json").json()
    assert out["number"] == "+989121234567" and out["customers"] == [{"id": cid, "name": "مریم"}]
    assert "internal extension" in crm_cli("voip", "lookup", "101").stdout
    assert "no customer" in crm_cli("voip", "lookup", "09350000000").stdout


def test_calls_follow_ups_and_report_commands(app, crm_cli, fake_pbx, ami_calls):
    cid = make_customer(app, "مریم", phones=["09121234567"])
    pbx = fake_pbx(
        [
            ami_calls.inbound("7.1", "09121234567", "101", answer=False)
            + ami_calls.inbound("7.2", "09121234567", "102", at=60)[:3]
        ]
    )
    assert crm_cli("voip", "listen", "--count", "2", env=ami_env(pbx)).exit_code == 0
    calls = crm_cli("voip", "calls", "--customer", str(cid), "--json").json()
    assert [c["status"] for c in calls] == ["ringing", "missed"]
    text = crm_cli("voip", "calls").stdout
    assert "missed" in text and "+989121234567" in text
    ups = crm_cli("voip", "follow-ups", "list", "--json").json()
    assert [(u["number"], u["missed_calls"], u["via"]) for u in ups] == [
        ("+989121234567", 1, "voip")
    ]
    done = crm_cli("voip", "follow-ups", "done", str(ups[0]["id"]))
    assert done.exit_code == 0
    again = crm_cli("voip", "follow-ups", "done", str(ups[0]["id"]))
    assert again.exit_code == 1 and "already done" in again.stderr
    assert crm_cli("voip", "follow-ups", "done", "999").exit_code == 1
    assert crm_cli("voip", "follow-ups", "list", "--json").json() == []
    report = crm_cli("reports", "run", "voip.calls", "--json").json()
    assert report["totals"]["calls"] == 1 and report["totals"]["missed"] == 1


def test_click_to_call(app, crm_cli, fake_pbx):
    cid = make_customer(app, "مریم", phones=["09121234567", "02188888888"])
    pbx = fake_pbx([])
    result = crm_cli(
        "voip", "call", str(cid), "--extension", "101", "--number", "88888888", env=ami_env(pbx)
    )
    assert result.exit_code == 0, result.stderr
    assert "ringing 101, then 02188888888 (مریم)" in result.stdout
    sent = next(a for _, a in pbx.actions if a["Action"] == "Originate")
    assert (sent["Channel"], sent["Exten"], sent["Context"]) == (
        "PJSIP/101",
        "02188888888",
        "from-internal",
    )
    bad = crm_cli(
        "voip", "call", str(cid), "--extension", "101", "--number", "09350000000", env=ami_env(pbx)
    )
    assert bad.exit_code == 1 and "is not one of مریم's numbers" in bad.stderr


@pytest.mark.parametrize(
    "number, message",
    [
        ("abc", "'abc' is not a phone number (it has characters other than digits)"),
        ("anonymous", "'anonymous' is not a phone number"),
    ],
)
def test_lookup_of_something_that_is_no_number_fails(app, crm_cli, number, message):
    result = crm_cli("voip", "lookup", number)
    assert result.exit_code == 1 and message in result.stderr
    assert "Traceback" not in result.stderr and result.stderr.strip().count("\n") == 0


def test_interactions_list_shows_answered_and_missed_calls_with_duration(app, crm_cli):
    from crmcore_voip.service import handle_call_event

    from .test_calls import answered_call, ev

    cid = make_customer(app, "مریم", phones=["09121234567"])
    with app.unit_of_work() as uow:
        missed = [ev("ringing", "m1", 600, extension="101"), ev("hangup", "m1", 630)]
        for e in answered_call("a1") + missed:
            handle_call_event(uow, e)
    lines = crm_cli("interactions", "list", str(cid), env={"CRM_LANG": "en"}).stdout.splitlines()
    assert [line.split("\t")[-1] for line in lines] == ["missed", "answered · 2:00"]
    fa = crm_cli("interactions", "list", str(cid), env={"CRM_LANG": "fa"}).stdout.splitlines()
    assert fa[-1].split("\t")[-1] == "پاسخ داده شد · ۲:۰۰"
