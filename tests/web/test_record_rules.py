"""Record rules (issue 29, hole 5): an agent no longer reads or changes every customer. A customer
has an owner and a team; each role's scope (all, team, own) for reading and writing decides, on the
API, the pages, the search, the export and the services; ``crm users scope`` and ``crm users team``
set them up."""

from __future__ import annotations

import csv

import pytest

from crmcore.api import hookimpl
from crmcore.services.access import set_role_scope, set_unassigned
from crmcore.testing import make_customer
from crmcore.web.users import add_team, add_user, create_token, set_membership

from .conftest import PASSWORD, bearer, csrf_of, login


@pytest.fixture
def reps(crm_app, users) -> dict[str, str]:
    """The fixture's users plus two more agents, ``reza`` and ``sima``; returns every API token."""
    tokens = dict(users)
    with crm_app.unit_of_work(actor="setup") as uow:
        for name in ("reza", "sima"):
            add_user(uow, name, PASSWORD, "agent")
            tokens[name] = create_token(uow, name, "tests")[1]
    return tokens


def scope(app, role: str, **kinds: str) -> None:
    with app.unit_of_work(actor="setup") as uow:
        set_role_scope(uow, role, **kinds)


def team(app, name: str, *members: str) -> None:
    with app.unit_of_work(actor="setup") as uow:
        add_team(uow, name)
        for m in members:
            set_membership(uow, name, m, True)


def created_by(client, token: str, name: str, **fields) -> int:
    made = client.post("/api/customers", json={"name": name, **fields}, headers=bearer(token))
    assert made.status_code == 201, made.text
    return made.json()["id"]


def test_the_creator_owns_a_customer_and_only_owner_or_team_may_change_it(client, reps, crm_app):
    cid = created_by(client, reps["reza"], "مریم رضایی", phones=["09121234567"])
    shown = client.get(f"/api/customers/{cid}", headers=bearer(reps["agent"]))
    assert shown.status_code == 200  # default: every role reads every customer
    assert shown.json()["assigned"] == {"user": "reza", "team": None}

    h = bearer(reps["agent"])
    refused = client.patch(f"/api/customers/{cid}", json={"city": "قم"}, headers=h)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"].startswith(f"customer {cid} is not yours to write")
    assert (
        client.post(
            f"/api/customers/{cid}/interactions", json={"kind": "note"}, headers=h
        ).status_code
        == 403
    )
    assert (
        client.put(
            f"/api/customers/{cid}/assignment", json={"user": "agent"}, headers=h
        ).status_code
        == 403
    )
    assert client.get(f"/api/customers/{cid}", headers=h).json()["city"] is None  # nothing stored

    assert (
        client.patch(
            f"/api/customers/{cid}", json={"city": "قم"}, headers=bearer(reps["reza"])
        ).status_code
        == 200
    )
    assert (
        client.patch(
            f"/api/customers/{cid}", json={"city": "کرج"}, headers=bearer(reps["manager"])
        ).status_code
        == 200
    )  # managers write all

    team(crm_app, "north", "reza", "agent")  # a teammate of the owner may now change it
    assert client.patch(f"/api/customers/{cid}", json={"city": "ری"}, headers=h).status_code == 200
    assert (
        client.post(
            f"/api/customers/{cid}/interactions", json={"kind": "note"}, headers=h
        ).status_code
        == 201
    )
    assert (
        client.patch(
            f"/api/customers/{cid}", json={"city": "ری"}, headers=bearer(reps["sima"])
        ).status_code
        == 403
    )


def test_a_customer_of_a_team_is_its_members_and_is_reassigned(client, reps, crm_app, crm_cli):
    team(crm_app, "south", "sima")
    cid = created_by(client, reps["sima"], "زهرا احمدی")
    assert client.get(f"/api/customers/{cid}", headers=bearer(reps["sima"])).json()["assigned"] == {
        "user": "sima",
        "team": "south",
    }  # a creator in exactly one team shares with it
    given = client.put(
        f"/api/customers/{cid}/assignment", json={"user": "reza"}, headers=bearer(reps["sima"])
    )
    assert given.status_code == 200 and given.json()["assigned"] == {
        "user": "reza",
        "team": "south",
    }
    # still the team's: sima keeps writing, reza as owner too; agent is in neither
    for who, status in (("sima", 200), ("reza", 200), ("agent", 403)):
        r = client.patch(f"/api/customers/{cid}", json={"city": "یزد"}, headers=bearer(reps[who]))
        assert r.status_code == status, (who, r.text)
    unknown = client.put(
        f"/api/customers/{cid}/assignment", json={"team": "west"}, headers=bearer(reps["sima"])
    )
    assert unknown.status_code == 404 and unknown.json()["field"] == "team"

    out = crm_cli("customers", "assign", str(cid), "--user", "agent", "--team", "", "--json")
    assert out.exit_code == 0, out.stderr
    assert out.json() == [{"id": cid, "name": "زهرا احمدی", "user": "agent", "team": None}]
    assert (
        client.patch(
            f"/api/customers/{cid}", json={"city": "یزد"}, headers=bearer(reps["sima"])
        ).status_code
        == 403
    )
    bad = crm_cli("customers", "assign", str(cid), "--user", "nobody")
    assert bad.exit_code == 1 and "no user 'nobody'" in bad.stderr


def test_own_read_scope_hides_other_customers_everywhere(client, reps, crm_app, crm_cli, tmp_path):
    mine = created_by(client, reps["reza"], "رضا کریمی", phones=["09120000001"])
    theirs = created_by(client, reps["sima"], "رضا موسوی", phones=["09120000002"])
    scope(crm_app, "agent", read="own")
    h = bearer(reps["reza"])
    assert client.get(f"/api/customers/{theirs}", headers=h).status_code == 403
    assert client.get(f"/api/customers/{theirs}/interactions", headers=h).status_code == 403
    assert client.get(f"/api/customers/{mine}", headers=h).status_code == 200
    for q in ("رضا", "", "09120000002"):
        found = client.get("/api/customers", params={"q": q}, headers=h).json()["results"]
        assert theirs not in [m["id"] for m in found], q
    assert [
        m["id"]
        for m in client.get("/api/customers", params={"q": "رضا"}, headers=h).json()["results"]
    ] == [mine]
    both = client.get(
        "/api/customers", params={"q": "رضا"}, headers=bearer(reps["manager"])
    ).json()["results"]
    assert sorted(m["id"] for m in both) == sorted([mine, theirs])

    login(client, "reza")
    assert client.get(f"/customers/{theirs}").status_code == 403
    page = client.get("/customers", params={"q": "رضا"})
    assert f'/customers/{mine}"' in page.text and f'/customers/{theirs}"' not in page.text

    out = tmp_path / "reza.csv"
    assert crm_cli("customers", "export", str(out), "--as", "reza").exit_code == 0
    names = [row["name"] for row in csv.DictReader(out.open(encoding="utf-8-sig"))]
    assert names == ["رضا کریمی"]
    everyone = tmp_path / "all.csv"
    assert crm_cli("customers", "export", str(everyone)).exit_code == 0
    assert len(list(csv.DictReader(everyone.open(encoding="utf-8-sig")))) == 2


def test_pages_refuse_changes_to_another_agents_customer(client, reps, crm_app):
    theirs = created_by(client, reps["sima"], "لیلا نوری")
    csrf = login(client, "reza")
    page = client.get(f"/customers/{theirs}")
    assert page.status_code == 200 and f'action="/customers/{theirs}/edit"' not in page.text
    edit = client.post(f"/customers/{theirs}/edit", data={"city": "قم", "csrf_token": csrf})
    assert edit.status_code == 403
    note = client.post(f"/customers/{theirs}/note", data={"text": "سلام", "csrf_token": csrf})
    assert note.status_code == 403
    assert (
        client.get(f"/api/customers/{theirs}", headers=bearer(reps["sima"])).json()["city"] is None
    )
    made = client.post("/customers/new", data={"name": "امید", "csrf_token": csrf_of(page.text)})
    assert made.status_code == 200
    cid = int(str(made.url).rstrip("/").split("/")[-1].split("?")[0])
    assert (
        client.get(f"/api/customers/{cid}", headers=bearer(reps["reza"])).json()["assigned"]["user"]
        == "reza"
    )


def test_unassigned_customers_are_shared_unless_made_private(client, reps, crm_app, crm_cli):
    cid = make_customer(
        crm_app, "مشتری بی‌صاحب"
    )  # e.g. from an import or the lead form: no owner, no team
    h = bearer(reps["agent"])
    assert client.patch(f"/api/customers/{cid}", json={"city": "قم"}, headers=h).status_code == 200
    with crm_app.unit_of_work(actor="setup") as uow:
        set_unassigned(uow, "private")
    assert client.patch(f"/api/customers/{cid}", json={"city": "قم"}, headers=h).status_code == 403
    assert (
        client.patch(
            f"/api/customers/{cid}", json={"city": "کرج"}, headers=bearer(reps["manager"])
        ).status_code
        == 200
    )


def test_scopes_and_teams_are_set_from_the_cli(crm_cli, reps, crm_app, client):
    assert crm_cli("users", "team", "add", "north").exit_code == 0
    assert crm_cli("users", "team", "join", "north", "reza", "sima").exit_code == 0
    assert crm_cli("users", "team", "list", "--json").json() == [
        {"name": "north", "members": ["reza", "sima"]}
    ]
    assert crm_cli("users", "team", "leave", "north", "sima").exit_code == 0
    assert crm_cli("users", "team", "list").stdout == "north: reza\n"
    set_ = crm_cli("users", "scope", "agent", "--read", "team", "--write", "own", "--json")
    assert set_.exit_code == 0, set_.stderr
    assert set_.json()["agent"] == {"read": "team", "write": "own"}
    assert set_.json()["admin"] == {"read": "all", "write": "all"}
    shown = crm_cli("users", "scope").stdout
    assert "agent      read team  write own" in shown and "unassigned records: shared" in shown
    assert (
        crm_cli("users", "scope", "admin", "--read", "own").exit_code == 2
    )  # admins always reach all
    assert crm_cli("users", "scope", "--read", "own").exit_code == 2
    bad = crm_cli("users", "team", "join", "west", "reza")
    assert bad.exit_code == 1 and "no team 'west'" in bad.stderr

    cid = created_by(client, reps["sima"], "نرگس")
    assert client.get(f"/api/customers/{cid}", headers=bearer(reps["reza"])).status_code == 403
    assert crm_cli("users", "team", "join", "north", "sima").exit_code == 0
    assert client.get(f"/api/customers/{cid}", headers=bearer(reps["reza"])).status_code == 200
    # write own: a teammate reads but does not change
    assert (
        client.patch(
            f"/api/customers/{cid}", json={"city": "قم"}, headers=bearer(reps["reza"])
        ).status_code
        == 403
    )


def test_services_enforce_the_rule_for_the_unit_of_works_viewer(crm_app, reps):
    from crmcore.api import Forbidden, customer_clause
    from crmcore.services.access import viewer_for
    from crmcore.services.customers import forget_customer, merge_customers, update_customer

    a, b = make_customer(crm_app, "الف"), make_customer(crm_app, "ب")
    with crm_app.unit_of_work(actor="setup") as uow:
        from crmcore.services.access import assign_customer

        assign_customer(uow, a, user="sima")
        assign_customer(uow, b, user="reza")
    with crm_app.unit_of_work() as uow:
        uow.viewer = viewer_for(uow.session, "reza")
        assert customer_clause(uow, "read") is None
        assert customer_clause(uow, "write") is not None
        update_customer(uow, b, city="قم")
        for action in (
            lambda: update_customer(uow, a, city="قم"),
            lambda: merge_customers(uow, b, a),
            lambda: forget_customer(uow, a),
        ):
            with pytest.raises(Forbidden):
                action()
    with crm_app.unit_of_work() as uow:  # no viewer (command line, jobs): unrestricted
        update_customer(uow, a, city="کرج")


class PerCustomer:
    """A plugin whose report has a row per customer and does not narrow its own query: the
    kernel's record rules must still keep other agents' rows out of every download."""

    @hookimpl
    def crm_reports(self):
        from sqlalchemy import select

        from crmcore.reports import Report, ReportResult
        from crmcore.storage.models import Customer

        def run(uow, params):
            rows = [
                [cid, name]
                for cid, name in uow.session.execute(
                    select(Customer.id, Customer.display_name).order_by(Customer.id)
                )
            ]
            return ReportResult(["customer_id", "name"], rows, {"customers": len(rows)})

        return [
            Report(
                "percustomer.list", "Customers one by one", "", run, customer_column="customer_id"
            )
        ]


def test_report_downloads_follow_the_record_rules(reps, crm_app, crm_app_factory, make_client):
    app = crm_app_factory(extra_plugins=[("percustomer", PerCustomer(), None)])
    client = make_client(app)
    mine = created_by(client, reps["reza"], "رضا کریمی")
    theirs = created_by(client, reps["sima"], '=HYPERLINK("x")')

    def download(who: str) -> list[list[str]]:
        web = make_client(app)
        login(web, who)
        r = web.get("/reports/percustomer.list.csv")
        assert r.status_code == 200, r.text
        return list(csv.reader(r.text.lstrip("\ufeff").splitlines()))

    # by default every role reads every customer
    assert [row[0] for row in download("reza")[1:] if row] == [str(mine), str(theirs), "customers"]
    scope(app, "agent", read="own")
    restricted = download("reza")
    assert restricted == [["customer_id", "name"], [str(mine), "رضا کریمی"]]  # no totals
    assert [row[0] for row in download("sima")[1:]] == [str(theirs)]
    assert [row[0] for row in download("manager")[1:3]] == [str(mine), str(theirs)]
    login(client, "reza")
    page = client.get("/reports/percustomer.list")
    assert page.status_code == 200 and "رضا کریمی" in page.text and "HYPERLINK" not in page.text
    api = client.get("/api/reports/percustomer.list", headers=bearer(reps["reza"]))
    assert api.status_code == 200 and [r[0] for r in api.json()["rows"]] == [mine]


def test_caller_id_pops_hide_customers_the_user_may_not_read(client, reps, crm_app):
    """The pops (``/events/calls``, ``/calls``) follow the read scope: another agent's customer
    calls in as "a colleague's customer", without name, link or profile facts."""
    from crmcore.testing import emit_event

    from .test_boards_and_calls import events_of, pop

    mine = created_by(client, reps["reza"], "علی نوری", phones=["09127654321"])
    theirs = created_by(client, reps["sima"], "مریم رضایی", phones=["09121234567"])
    for cid, name, number in (
        (theirs, "مریم رضایی", "+989121234567"),
        (mine, "علی نوری", "+989127654321"),
    ):
        emit_event(crm_app, "voip_incoming_call", customer_id=cid, data=pop(cid, name, number))
    scope(crm_app, "agent", read="own")
    seen = events_of(client.get("/events/calls?after=0", headers=bearer(reps["reza"])).text)
    assert [(p["customer"], p["restricted"], p["summary"]) for p in seen] == [
        (None, True, {}),
        ({"id": mine, "name": "علی نوری"}, False, {"tier": "gold", "points": 1200}),
    ]
    manager = events_of(client.get("/events/calls?after=0", headers=bearer(reps["manager"])).text)
    assert [p["customer"]["name"] for p in manager] == ["مریم رضایی", "علی نوری"]
    login(client, "reza")
    page = client.get("/calls").text
    assert "مریم رضایی" not in page and "مشتری همکار" in page and "علی نوری" in page
