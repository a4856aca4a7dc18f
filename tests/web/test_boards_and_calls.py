"""Boards contributed by plugins (moving cards by button or by script), plugin routes and pages, and the live
caller-ID stream fed by the outbox."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from crmcore.api import NotFound, ValidationError, hookimpl
from crmcore.storage.models import Setting
from crmcore.testing import emit_event, make_customer
from crmcore.web.contrib import BoardCard, BoardColumn, BoardData, MenuItem, WebBoard, WebRoute

from .conftest import bearer, login
from .test_api import audit

STAGES = {"new": "New", "proposal": "Proposal", "won": "Won"}


class DealsBoard:
    """A small pipeline keeping each deal's stage in crm_settings (so moves are transactional)."""

    def __init__(self, customer_id: int):
        self.customer_id = customer_id

    @staticmethod
    def stages(uow) -> dict[str, str]:
        return {
            s.key: s.value
            for s in uow.session.scalars(select(Setting).where(Setting.namespace == "deals"))
        }

    def load(self, uow, params):
        stages = self.stages(uow)
        return BoardData(
            columns=[
                BoardColumn(
                    key=k,
                    title=t,
                    title_fa={"new": "جدید"}.get(k),
                    cards=[
                        BoardCard(
                            id=d,
                            title=f"قرارداد {d}",
                            subtitle="مریم",
                            customer_id=self.customer_id,
                            badge="5000000",
                        )
                        for d, s in sorted(stages.items())
                        if s == k
                    ],
                )
                for k, t in STAGES.items()
            ]
        )

    def move(self, uow, card_id, column):
        if column not in STAGES:
            raise ValidationError(f"{column!r} is not a stage", field="column")
        row = uow.session.get(Setting, ("deals", card_id))
        if row is None:
            raise NotFound(f"no deal {card_id}", field="card")
        row.value = column

    @hookimpl
    def crm_web_boards(self):
        return [
            WebBoard(key="deals", title="Deals", title_fa="معاملات", load=self.load, move=self.move)
        ]

    @hookimpl
    def crm_web_menu(self):
        return [MenuItem(label="Forecast", label_fa="پیش‌بینی", href="/p/deals/forecast")]

    @hookimpl
    def crm_web_routes(self):
        def forecast_api(ctx):
            return {"open": len(self.stages(ctx.uow)), "user": ctx.user.username}

        def close_api(ctx):
            self.move(ctx.uow, str(ctx.path_params["deal"]), "won")
            return {"closed": ctx.path_params["deal"], "body": ctx.body}

        def forecast_page(ctx):
            return ctx.render(
                "deals_web_pages:forecast.html",
                title="Forecast",
                total=len(self.stages(ctx.uow)),
                note="<i>draft</i>",
            )

        return [
            WebRoute("/forecast", forecast_api),
            WebRoute("/deals/{deal}/close", close_api, methods=("POST",), access="write"),
            WebRoute("/forecast", forecast_page, kind="page"),
        ]


@pytest.fixture
def board_app(crm_app_factory, tmp_path, monkeypatch):
    package = tmp_path / "deals_web_pages"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "forecast.html").write_text(
        '<p id="forecast">{{ t("Deals") }} {{ total | num }} {{ note }}</p>'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    app = crm_app_factory(extra_plugins=[])
    cid = make_customer(app, "مریم")
    app = crm_app_factory(extra_plugins=[("deals", DealsBoard(cid), None)])
    with app.unit_of_work() as uow:
        uow.session.add_all(
            [
                Setting(namespace="deals", key="d1", value="new"),
                Setting(namespace="deals", key="d2", value="proposal"),
            ]
        )
    return app


def stage_of(app, deal: str) -> str:
    with app.unit_of_work(readonly=True) as uow:
        return uow.session.get(Setting, ("deals", deal)).value


def test_board_shows_columns_and_moves_cards_by_button(board_app, make_client, users):
    client = make_client(board_app)
    csrf = login(client, "agent")
    page = client.get("/boards/deals/deals")
    assert "<h1>معاملات</h1>" in page.text and 'data-column="proposal"' in page.text
    assert (
        'href="/boards/deals/deals"' in page.text
        and 'href="/p/deals/forecast">پیش‌بینی' in page.text
    )
    moved = client.post(
        "/boards/deals/deals/move", data={"card": "d1", "column": "won", "csrf_token": csrf}
    )
    assert moved.status_code == 200 and "منتقل شد" in moved.text
    assert stage_of(board_app, "d1") == "won"
    assert ("agent", "move", "deals.deals") in audit(board_app)


def test_board_moves_by_script_answer_json_and_bad_moves_change_nothing(
    board_app, make_client, users
):
    client = make_client(board_app)
    csrf = login(client, "agent")
    js = {"Accept": "application/json"}
    ok = client.post(
        "/boards/deals/deals/move",
        data={"card": "d2", "column": "won", "csrf_token": csrf},
        headers=js,
    )
    assert ok.json() == {"ok": True, "card": "d2", "column": "won"}
    bad = client.post(
        "/boards/deals/deals/move",
        data={"card": "d1", "column": "lost", "csrf_token": csrf},
        headers=js,
    )
    assert bad.status_code == 422 and bad.json() == {
        "error": "'lost' is not a stage",
        "field": "column",
    }
    missing = client.post(
        "/boards/deals/deals/move", data={"card": "d9", "column": "won", "csrf_token": csrf}
    )
    assert missing.status_code == 422 and "no deal d9" in missing.text
    forged = client.post(
        "/boards/deals/deals/move", data={"card": "d1", "column": "won"}, headers=js
    )
    assert forged.status_code == 403
    assert stage_of(board_app, "d1") == "new"


def test_board_moves_need_write_access_for_the_plugin(board_app, make_client, users):
    client = make_client(board_app)
    admin = bearer(users["admin"])
    assert (
        client.patch(
            "/api/users/agent", json={"permissions": {"deals": "read"}}, headers=admin
        ).status_code
        == 200
    )
    csrf = login(client, "agent")
    page = client.get("/boards/deals/deals").text
    assert 'class="move"' not in page
    refused = client.post(
        "/boards/deals/deals/move", data={"card": "d1", "column": "won", "csrf_token": csrf}
    )
    assert refused.status_code == 403
    assert stage_of(board_app, "d1") == "new"
    assert client.get("/boards/deals/nope").status_code == 404


def test_plugin_routes_run_as_the_user_with_the_plugins_access(
    board_app, make_client, users, tmp_path
):
    client = make_client(board_app)
    assert client.get("/api/p/deals/forecast").status_code == 401
    assert client.get("/api/p/deals/forecast", headers=bearer(users["viewer"])).json() == {
        "open": 2,
        "user": "viewer",
    }
    refused = client.post("/api/p/deals/deals/d1/close", json={}, headers=bearer(users["viewer"]))
    assert refused.status_code == 403 and "write access to deals" in refused.json()["error"]
    closed = client.post(
        "/api/p/deals/deals/d1/close", json={"reason": "signed"}, headers=bearer(users["agent"])
    )
    assert closed.json() == {"closed": "d1", "body": {"reason": "signed"}}
    assert stage_of(board_app, "d1") == "won"
    assert ("agent (token tests)", "web.post", "deals") in audit(board_app)
    broken = client.post(
        "/api/p/deals/deals/d2/close", content=b"{", headers=bearer(users["agent"])
    )
    assert broken.status_code == 400
    schema = client.get("/api/openapi.json", headers=bearer(users["viewer"])).json()
    assert "/api/p/deals/forecast" in schema["paths"]
    login(client, "viewer")
    page = client.get("/p/deals/forecast").text
    assert (
        '<p id="forecast">معاملات ۲ &lt;i&gt;draft&lt;/i&gt;</p>' in page
        and '<html lang="fa" dir="rtl">' in page
    )


def pop(customer_id, name, number, extension=None):
    return {
        "call_id": 1,
        "at": "2025-03-21T09:00:00+00:00",
        "direction": "in",
        "extension": extension,
        "number": number,
        "customer": {"id": customer_id, "name": name} if customer_id else None,
        "summary": {"tier": "gold", "points": 1200},
        "suggestion": None if customer_id else {"phone": number},
    }


def events_of(text: str) -> list[dict]:
    found = []
    for block in text.split("\n\n"):
        lines = dict(
            line.split(": ", 1)
            for line in block.splitlines()
            if ": " in line and not line.startswith(":")
        )
        if lines.get("event") == "call":
            found.append({"id": int(lines["id"]), **json.loads(lines["data"])})
    return found


def test_the_call_stream_sends_new_incoming_calls_and_resumes_after_the_last_event(
    make_client, web_settings, users, crm_app, monkeypatch
):
    import attrs

    import crmcore.web.events as events

    client = make_client(crm_app, attrs.evolve(web_settings, sse_max_seconds=2.0))
    cid = make_customer(crm_app, "مریم رضایی")
    emit_event(
        crm_app, "voip_incoming_call", customer_id=cid, data=pop(cid, "مریم رضایی", "+989121234567")
    )
    started = threading.Event()
    newest = events.newest_id
    monkeypatch.setattr(events, "newest_id", lambda uow: (newest(uow), started.set())[0])

    def call_while_streaming():
        started.wait(10)  # the stream has read where the outbox ends: this call comes after
        emit_event(crm_app, "voip_incoming_call", data=pop(None, None, "+982188776655"))

    caller = threading.Thread(target=call_while_streaming)
    caller.start()
    live = client.get("/events/calls", headers=bearer(users["agent"]))
    caller.join()
    assert live.headers["content-type"].startswith("text/event-stream")
    calls = events_of(live.text)
    assert [c["number"] for c in calls] == ["+982188776655"]  # the older call is not replayed
    assert calls[0]["customer"] is None and calls[0]["suggestion"] == {"phone": "+982188776655"}
    resumed = events_of(
        client.get("/events/calls", headers={**bearer(users["agent"]), "Last-Event-ID": "0"}).text
    )
    assert [(c["customer"], c["summary"]) for c in resumed][0] == (
        {"id": cid, "name": "مریم رضایی"},
        {"tier": "gold", "points": 1200},
    )
    assert len(resumed) == 2


def test_users_with_an_extension_see_only_their_calls(client, users, crm_app):
    assert (
        client.patch(
            "/api/users/agent", json={"extension": "101"}, headers=bearer(users["admin"])
        ).status_code
        == 200
    )
    for ext in ("101", "102", None):
        emit_event(
            crm_app, "voip_incoming_call", data=pop(None, None, f"+9821000000{ext or '00'}", ext)
        )
    seen = events_of(client.get("/events/calls?after=0", headers=bearer(users["agent"])).text)
    assert [c["extension"] for c in seen] == ["101", None]
    everyone = events_of(client.get("/events/calls?after=0", headers=bearer(users["viewer"])).text)
    assert len(everyone) == 3
    login(client, "viewer")
    page = client.get("/calls").text
    assert page.count('<bdi dir="ltr">') == 3 and "افزودن به مشتریان" in page


def test_mounted_apps_are_public_only_when_declared(crm_app_factory, make_client, users):
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from crmcore.web.contrib import WebMount

    def hello(crm):
        return Starlette(
            routes=[
                Route(
                    "/ping",
                    lambda request: JSONResponse({"timezone": crm.timezone}),
                    methods=["POST"],
                )
            ]
        )

    class Hooks:
        @hookimpl
        def crm_web_routes(self):
            return [
                WebMount("/signed", factory=hello, public=True),
                WebMount("/private", factory=hello),
            ]

    client = make_client(crm_app_factory(extra_plugins=[("pbx", Hooks(), None)]))
    assert client.post("/hooks/pbx/signed/ping").json() == {"timezone": "Asia/Tehran"}
    assert client.post("/hooks/pbx/private/ping").status_code == 401
    assert (
        client.post("/hooks/pbx/private/ping", headers=bearer(users["viewer"])).status_code == 403
    )
    assert client.post("/hooks/pbx/private/ping", headers=bearer(users["agent"])).status_code == 200


def test_public_plugin_routes_need_no_login_or_csrf_and_are_rate_limited(
    crm_app_factory, make_client, users
):
    seen = []

    def answer(ctx):
        seen.append((ctx.user, ctx.uow.actor))
        return {"token": ctx.path_params["token"], "body": ctx.body}

    class Hooks:
        @hookimpl
        def crm_web_routes(self):
            return [
                WebRoute("/answers/{token}", answer, methods=("POST",), public=True),
                WebRoute("/private", answer, methods=("POST",), access="write"),
            ]

    client = make_client(crm_app_factory(extra_plugins=[("poll", Hooks(), None)]))
    ok = client.post("/api/p/poll/answers/abc", json={"nps": 9})
    assert ok.status_code == 200 and ok.json() == {"token": "abc", "body": {"nps": 9}}
    assert seen == [(None, "public:poll")]
    assert client.post("/api/p/poll/private", json={}).status_code == 401
    # CRM_WEB_LEAD_RATE (3/minute in these tests) per address: a public form cannot be hammered
    codes = [client.post("/api/p/poll/answers/abc", json={}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    spec = client.get("/api/openapi.json", headers=bearer(users["admin"])).json()
    assert "post" in spec["paths"]["/api/p/poll/answers/{token}"]
