"""Cursor pagination of every list of the API (issue 29): ``?limit=`` and an opaque, signed
``?cursor=``; the next page in a ``Link: <…>; rel="next"`` header (and ``next`` in the search's
body); stable while records are added; a changed or foreign cursor is a 400."""

from __future__ import annotations

import re

from crmcore.api import hookimpl
from crmcore.testing import make_customer, record_purchase

from .conftest import bearer


def next_of(response) -> str | None:
    link = response.headers.get("link")
    if link is None:
        return None
    found = re.fullmatch(r'<(http://testserver/[^>]+)>; rel="next"', link)
    assert found, link
    return found.group(1)


def walk(client, url: str, headers, *, items=lambda r: r.json()) -> list[list]:
    """Every page from ``url`` on, following the ``Link`` headers."""
    pages = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.text
        pages.append(items(response))
        url = next_of(response)
        assert len(pages) < 50
    return pages


def test_interactions_page_newest_first_and_stay_stable_while_new_ones_arrive(
    client, users, crm_app
):
    cid = make_customer(crm_app, "مریم رضایی")
    ids = [
        record_purchase(crm_app, cid, 1000 * (i + 1), at=f"2025-01-0{i + 1}T10:00:00+00:00")
        for i in range(5)
    ]
    h = bearer(users["viewer"])
    first = client.get(f"/api/customers/{cid}/interactions", params={"limit": 2}, headers=h)
    assert [i["id"] for i in first.json()] == [ids[4], ids[3]]
    newest = record_purchase(
        crm_app, cid, 99, at="2025-02-01T10:00:00+00:00"
    )  # arrives between pages
    rest = walk(client, next_of(first), h)
    assert [[i["id"] for i in page] for page in rest] == [[ids[2], ids[1]], [ids[0]]]
    assert [
        i["id"] for i in client.get(f"/api/customers/{cid}/interactions", headers=h).json()
    ] == [newest, *reversed(ids)]
    assert (
        next_of(client.get(f"/api/customers/{cid}/interactions", headers=h)) is None
    )  # one page: no link


def test_search_pages_through_ranked_matches_and_every_customer(client, users, crm_app):
    ids = [
        make_customer(crm_app, name)
        for name in ("رضا", "رضا کریمی", "رضا موسوی", "علی رضایی", "رضا احمدی نیا")
    ]
    h = bearer(users["viewer"])
    everything = client.get("/api/customers", params={"q": "رضا", "limit": 100}, headers=h).json()[
        "results"
    ]
    first = client.get("/api/customers", params={"q": "رضا", "limit": 2}, headers=h)
    assert first.json()["next"] == next_of(first)
    pages = walk(
        client,
        "/api/customers?q=%D8%B1%D8%B6%D8%A7&limit=2",
        h,
        items=lambda r: r.json()["results"],
    )
    assert len(everything) == 5 and [len(p) for p in pages] == [2, 2, 1]
    assert [m["id"] for p in pages for m in p] == [m["id"] for m in everything]
    listed = walk(client, "/api/customers?limit=2", h, items=lambda r: r.json()["results"])
    assert [m["id"] for p in listed for m in p] == ids
    assert client.get("/api/customers", params={"limit": 5}, headers=h).json()["next"] is None


def test_a_changed_or_foreign_cursor_is_refused(client, users, crm_app):
    for name in ("الف", "ب", "پ"):
        make_customer(crm_app, name)
    h = bearer(users["admin"])
    cursor = re.search(
        r"cursor=([^&]+)", next_of(client.get("/api/customers?limit=1", headers=h))
    ).group(1)
    tampered = cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB")
    for url in (
        f"/api/customers?limit=1&cursor={tampered}",
        f"/api/customers?limit=1&q=x&cursor={cursor}",
        f"/api/users?cursor={cursor}",
        "/api/tokens?cursor=not-a-cursor",
    ):
        refused = client.get(url, headers=h)
        assert refused.status_code == 400, (url, refused.text)
        assert refused.json()["field"] == "cursor"


def test_users_tokens_reports_and_plugins_are_paged(client, users, crm_app):
    h = bearer(users["admin"])
    names = [u["username"] for p in walk(client, "/api/users?limit=3", h) for u in p]
    assert names == sorted(users)
    assert len(walk(client, "/api/users?limit=3", h)) == 2
    reports = [r["name"] for p in walk(client, "/api/reports?limit=2", h) for r in p]
    assert (
        reports == sorted(r["name"] for r in client.get("/api/reports", headers=h).json())
        and reports
    )
    for extra in ("a", "b"):
        assert client.post("/api/tokens", json={"name": extra}, headers=h).status_code == 201
    tokens = walk(client, "/api/tokens?limit=2", h)
    assert [t["name"] for p in tokens for t in p] == ["tests", "a", "b"] and len(tokens) == 2
    plugins = [p["name"] for page in walk(client, "/api/plugins?limit=1", h) for p in page]
    assert plugins == sorted(p["name"] for p in client.get("/api/plugins", headers=h).json())


def test_a_plugins_paged_route_gets_limit_cursor_and_link(crm_app_factory, users, make_client):
    from sqlalchemy import select

    from crmcore.storage.models import Customer
    from crmcore.web.contrib import WebRoute

    def names(ctx):
        rows = ctx.page(select(Customer), [(Customer.display_name, False), (Customer.id, False)])
        return [{"id": c.id, "name": c.display_name} for c in rows]

    class Roster:
        @hookimpl
        def crm_web_routes(self):
            return [WebRoute("/names", names, paged=True, summary="customers by name")]

    app = crm_app_factory(extra_plugins=[("roster", Roster(), None)])
    client = make_client(app)
    with app.unit_of_work(actor="setup") as uow:
        from crmcore.web.users import add_user, create_token

        add_user(uow, "boss", "a long enough password", "admin")
        h = bearer(create_token(uow, "boss", "t")[1])
    for name in ("ج", "الف", "ب", "د", "پ"):
        make_customer(app, name)
    pages = walk(client, "/api/p/roster/names?limit=2", h)
    assert [[c["name"] for c in p] for p in pages] == [["الف", "ب"], ["ج", "د"], ["پ"]]
    schema = client.get("/api/openapi.json", headers=h).json()["paths"]["/api/p/roster/names"][
        "get"
    ]
    assert {p["name"] for p in schema["parameters"]} == {"limit", "cursor"}
    assert "Link" in schema["responses"]["200"]["headers"]
    assert client.get("/api/p/roster/names?limit=0", headers=h).status_code == 422
    assert client.get("/api/p/roster/names?cursor=x", headers=h).status_code == 400
