"""A plugin page that answers an error status (its form drawn again with the refusal beside the
field) stores nothing of what its endpoint did: no row, no outbox event, no audit entry."""

from __future__ import annotations

from fastapi.responses import HTMLResponse
from sqlalchemy import func, select

from crmcore.api import hookimpl
from crmcore.storage.models import AuditEntry, OutboxEvent, Setting
from crmcore.web.contrib import WebRoute

from .conftest import PASSWORD, login


class Notes:
    OUTBOX_EVENTS = {"notes_saved": "a note was saved: ``value``"}

    @hookimpl
    def crm_web_routes(self):
        def save(ctx):
            value = (ctx.body or {}).get("value", "")
            ctx.uow.session.add(Setting(namespace="notes", key="last", value=value))
            ctx.uow.emit("notes_saved", data={"value": value})
            ctx.uow.session.flush()
            if value == "bad":
                return HTMLResponse('<p class="error">value: refused</p>', status_code=422)
            return HTMLResponse("saved")

        return [WebRoute("/save", save, kind="page", methods=("POST",), access="write")]


def counts(app) -> tuple[int, int, int]:
    with app.unit_of_work(readonly=True) as uow:
        return tuple(
            uow.session.scalar(select(func.count()).select_from(m).where(*w))
            for m, w in (
                (Setting, [Setting.namespace == "notes"]),
                (OutboxEvent, [OutboxEvent.event == "notes_saved"]),
                (AuditEntry, [AuditEntry.entity == "notes"]),
            )
        )


def test_an_error_answer_rolls_the_page_back(crm_app_factory, make_client):
    app = crm_app_factory(extra_plugins=[("notes", Notes(), None)])
    with app.unit_of_work(actor="setup") as uow:
        from crmcore.web.users import add_user

        add_user(uow, "agent", PASSWORD, "agent")
    client = make_client(app)
    csrf = login(client, "agent")
    refused = client.post("/p/notes/save", data={"csrf_token": csrf, "value": "bad"})
    assert refused.status_code == 422 and "value: refused" in refused.text
    assert counts(app) == (0, 0, 0)
    saved = client.post("/p/notes/save", data={"csrf_token": csrf, "value": "good"})
    assert saved.status_code == 200
    assert counts(app) == (1, 1, 1)
