"""The CLI contract: ids and --json on stdout, exit 1 with one line on stderr for bad input, exit 2 for usage."""

import json

from crmcore.testing import outbox_events


def test_add_show_find_round_trip(crm_cli):
    r = crm_cli(
        "customers",
        "add",
        "--name",
        "علی‌رضا كريمي",
        "--phone",
        "۰۹۱۲۱۲۳۴۵۶۷",
        "--email",
        "Ali@X.ir",
        "--tag",
        "vip",
        "--birthday",
        "1370/05/12",
        "--city",
        "تهران",
    )
    assert r.exit_code == 0, r
    cid = int(r.stdout.strip())
    shown = crm_cli("customers", "show", str(cid), "--json").json()
    assert shown["name"] == "علی‌رضا كريمي"
    assert shown["phones"] == [{"e164": "+989121234567", "kind": "mobile"}]
    assert shown["emails"] == ["ali@x.ir"] and shown["tags"] == ["vip"]
    assert shown["birthday"] == "1991-08-03"
    assert "sections" in shown and "recent_interactions" in shown
    assert crm_cli("customers", "show", "+98 912 123 4567", "--json").json()["id"] == cid
    found = crm_cli("customers", "find", "علیرضا کریمی", "--json").json()
    assert [f["id"] for f in found] == [cid]
    assert crm_cli("customers", "find", "0912 123 4567", "--json").json()[0]["matched"] == "phone"
    assert crm_cli("customers", "find", "ALI@x.IR", "--json").json()[0]["matched"] == "email"
    assert crm_cli("customers", "find", "nobody", "--json").json() == []


def test_bad_input_exits_1_with_one_line_and_stores_nothing(crm_cli, crm_app):
    r = crm_cli("customers", "add", "--name", "x", "--phone", "12345")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert "phone" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert outbox_events(crm_app) == []
    r = crm_cli("customers", "show", "42")
    assert r.exit_code == 1 and "42" in r.stderr
    r = crm_cli("interactions", "record", "42", "--kind", "call")
    assert r.exit_code == 1
    r = crm_cli("interactions", "record", "1", "--kind", "call", "--payload", "{not json")
    assert r.exit_code == 1 and "payload" in r.stderr


def test_usage_errors_exit_2(crm_cli):
    assert crm_cli("customers", "add").exit_code == 2  # --name missing
    assert crm_cli("customers", "find", "--limit", "0").exit_code == 2
    assert crm_cli("no-such-command").exit_code == 2


def test_interactions_record_and_list(crm_cli):
    cid = crm_cli(
        "customers", "add", "--name", "Sara Ahmadi", "--phone", "09351112233"
    ).stdout.strip()
    r = crm_cli(
        "interactions",
        "record",
        "09351112233",
        "--kind",
        "purchase",
        "--amount",
        "۲٬۵۰۰٬۰۰۰",
        "--at",
        "1403-07-15 14:30",
        "--payload",
        json.dumps({"lines": [{"sku": "SAF-05"}]}),
        "--json",
    )
    assert r.exit_code == 0, r
    assert r.json()["amount"] == "2500000"
    crm_cli(
        "interactions",
        "record",
        cid,
        "--kind",
        "call",
        "--direction",
        "in",
        "--at",
        "2024-10-07T10:00:00Z",
    )
    items = crm_cli("interactions", "list", cid, "--json").json()
    assert [i["kind"] for i in items] == ["call", "purchase"]
    jalali = crm_cli("--calendar", "jalali", "interactions", "list", cid)
    assert "1403-07-15 14:30" in jalali.stdout


def test_update_merge_and_forget_commands(crm_cli):
    a = crm_cli("customers", "add", "--name", "مریم", "--phone", "09120000001").stdout.strip()
    b = crm_cli("customers", "add", "--name", "مريم", "--phone", "09120000002").stdout.strip()
    assert crm_cli("customers", "update", a, "--add-tag", "vip", "--city", "رشت").exit_code == 0
    assert crm_cli("customers", "merge", a, b).exit_code == 0
    assert crm_cli("customers", "show", b, "--json").json()["id"] == int(a)
    r = crm_cli("customers", "merge", a, b)
    assert r.exit_code == 1 and "already merged" in r.stderr
    assert crm_cli("customers", "forget", a, "--yes").exit_code == 0
    assert crm_cli("customers", "show", a).exit_code == 1


def test_reports_list_and_run_json_shape(crm_cli):
    cid = crm_cli("customers", "add", "--name", "x", "--phone", "09120000003").stdout.strip()
    crm_cli(
        "interactions",
        "record",
        cid,
        "--kind",
        "purchase",
        "--amount",
        "1000",
        "--at",
        "1403-01-01 10:00",
    )
    names = [r["name"] for r in crm_cli("reports", "list", "--json").json()]
    assert {"customers.summary", "sales.by_period"} <= set(names)
    summary = crm_cli("reports", "run", "customers.summary", "--json").json()
    assert set(summary) == {"report", "columns", "rows", "totals"}
    assert summary["totals"]["customers"] == 1 and summary["totals"]["interactions"] == 1
    r = crm_cli("reports", "run", "nope")
    assert r.exit_code == 1 and "unknown report" in r.stderr
    r = crm_cli("reports", "run", "sales.by_period", "--from", "1403/12/31")
    assert r.exit_code == 1 and "Jalali" in r.stderr


def test_jobs_list_and_unknown_job(crm_cli):
    jobs = crm_cli("jobs", "list", "--json").json()
    # crm_app enables no plugin here: only the kernel's own job
    assert [j["name"] for j in jobs] == ["outbox.prune"]
    r = crm_cli("jobs", "run", "--only", "no-such-job")
    assert r.exit_code == 1 and "unknown job" in r.stderr
