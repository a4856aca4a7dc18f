"""The user's own staff notifications: the list at ``/notifications`` (newest first, unread
marked), marking them read (one or all), the unread count the header's bell shows, and the same
through the API (``GET /api/notifications``, ``POST /api/notifications/read``). Each user sees only
their own."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from ..errors import CRMError
from ..services.notifications import list_notifications, mark_read, notification_to_dict
from .api import ERRORS, NOT_FOUND
from .auth import Principal
from .deps import WebError, api_user, form_text, page_user, state
from .view import redirect, render

SHOWN = 100


class ReadBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[int] | None = Field(
        None, description="the notifications to mark read; all unread when absent"
    )


def build_router() -> APIRouter:
    r = APIRouter()

    def rows(request: Request, user: Principal, unread: bool = False) -> list[Any]:
        with state(request).unit(user, readonly=True) as uow:
            return [
                notification_to_dict(n)
                for n in list_notifications(uow.session, user.username, unread=unread, limit=SHOWN)
            ]

    @r.get("/notifications", include_in_schema=False)
    def page(request: Request, user: Principal = Depends(page_user())):
        items = rows(request, user)
        return render(
            request,
            "notifications.html",
            user,
            title="Notifications",
            items=items,
            unread_shown=sum(1 for n in items if not n["read_at"]),
        )

    @r.post("/notifications/read", include_in_schema=False)
    async def read_page(request: Request, user: Principal = Depends(page_user())):
        form = await request.form()
        raw = form_text(form, "id", limit=20)

        def store() -> None:
            with state(request).unit(user) as uow:
                mark_read(uow, user.username, [int(raw)] if raw.isdigit() else None)

        try:
            await run_in_threadpool(store)
        except CRMError as exc:
            raise WebError(404, str(exc)) from None
        target = form_text(form, "next", limit=500)
        if raw.isdigit() and target.startswith("/") and not target.startswith("//"):
            return redirect(target)
        return redirect("/notifications", "saved")

    @r.get(
        "/api/notifications",
        tags=["notifications"],
        responses=ERRORS,
        summary="My staff notifications, newest first",
    )
    def api_list(request: Request, unread: bool = False, user: Principal = Depends(api_user())):
        return rows(request, user, unread)

    @r.post(
        "/api/notifications/read",
        tags=["notifications"],
        responses={**ERRORS, **NOT_FOUND},
        summary="Mark my notifications read",
    )
    def api_read(request: Request, body: ReadBody, user: Principal = Depends(api_user())):
        with state(request).unit(user) as uow:
            return {"marked": mark_read(uow, user.username, body.ids)}

    return r
