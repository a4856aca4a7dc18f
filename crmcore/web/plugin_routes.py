"""Serving what plugins contributed: their API routes and pages (``crm_web_routes``), mounted ASGI apps such as
signed webhooks, and boards (``crm_web_boards``) with moves by drag or buttons."""

from __future__ import annotations

import json
from typing import Any, Optional

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..errors import CRMError, Forbidden
from .auth import SAFE_METHODS, Principal
from .contrib import WebContext, WebRoute
from .deps import (
    WebError,
    api_user,
    client_address,
    current_principal,
    form_text,
    page_user,
    state,
)
from .paging import CURSOR_HELP, LINK_HEADER, decode_cursor, next_link, next_url
from .view import redirect, render, render_plugin_page


class _Refused(Exception):
    """An endpoint answered with an error status (e.g. its form again, the reason beside the
    field): its unit of work is rolled back."""

    def __init__(self, response: Response):
        super().__init__(response.status_code)
        self.response = response


def _endpoint(plugin: str, route: WebRoute):
    readonly = route.access == "read" and all(m in SAFE_METHODS for m in route.methods)
    if route.public:
        readonly = all(m in SAFE_METHODS for m in route.methods)
        dependency = current_principal
    else:
        dependency = (
            api_user(route.access, plugin)
            if route.kind == "api"
            else page_user(route.access, plugin)
        )

    async def serve(
        request: Request, user: Principal | None, limit: int = 100, cursor: str | None = None
    ):
        web = state(request)
        body: Any = None
        if (
            route.public
            and request.method not in SAFE_METHODS
            and not web.allow(web.settings.lead_rate, f"public:{plugin}", client_address(request))
        ):
            raise WebError(429, "Too many attempts; wait a minute and try again.")
        if request.method not in SAFE_METHODS:
            if route.kind == "api":
                raw = await request.body()
                try:
                    body = json.loads(raw) if raw.strip() else None
                except ValueError as exc:
                    raise WebError(400, f"the body is not valid JSON: {exc}") from None
            else:
                body = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        scope = _cursor_scope(plugin, route, request)
        after = decode_cursor(web, scope, cursor) if route.paged else None

        def run():
            lang = web.language(request, user)
            actor = f"public:{plugin}" if route.public and user is None else None
            try:
                with web.unit(user, readonly=readonly, actor=actor) as uow:
                    ctx = WebContext(
                        request=request,
                        user=user,
                        uow=uow,
                        plugin=plugin,
                        path_params=dict(request.path_params),
                        query=dict(request.query_params),
                        body=body,
                        lang=lang,
                        renderer=lambda template, title="", **v: render_plugin_page(
                            request, user, template, title, **v
                        ),
                        limit=limit,
                        after=after,
                        url_after=lambda key: next_url(request, web, scope, key),
                    )
                    result = route.endpoint(ctx)
                    if isinstance(result, Response) and result.status_code >= 400:
                        # a page showing a refusal beside its field: nothing it did is stored
                        raise _Refused(result)
                    if not readonly:
                        uow.audit(
                            f"web.{request.method.lower()}",
                            plugin,
                            request.url.path[:60],
                            {"path": request.url.path, "query": str(request.url.query)[:500]},
                        )
                    return result, ctx.next_key
            except _Refused as refused:
                return refused.response, None

        result, next_key = await run_in_threadpool(run)
        if isinstance(result, Response):
            return result
        if route.kind == "page":
            return HTMLResponse(str(result))
        return JSONResponse(
            jsonable_encoder(result),
            headers=next_link(request, web, scope, next_key) if route.paged else None,
        )

    if route.paged:

        async def endpoint(
            request: Request,
            user: Principal = Depends(dependency),
            limit: int = Query(100, ge=1, le=500, description="items per page"),
            cursor: Optional[str] = Query(None, max_length=1000, description=CURSOR_HELP),
        ):
            return await serve(request, user, limit, cursor)
    else:

        async def endpoint(request: Request, user: Optional[Principal] = Depends(dependency)):
            return await serve(request, user)

    endpoint.__name__ = f"{plugin}_{route.path.strip('/').replace('/', '_') or 'root'}"
    return endpoint


def _cursor_scope(plugin: str, route: WebRoute, request: Request) -> str:
    """What a paged route's cursor is bound to: the route, its path parameters, its other query."""
    query = sorted(
        (k, v) for k, v in request.query_params.multi_items() if k not in ("limit", "cursor")
    )
    return json.dumps([plugin, route.path, sorted(request.path_params.items()), query], default=str)


def _documented(route: WebRoute) -> dict:
    """The answers a plugin route can give besides 200: the service's refusals (a plugin raises
    ValidationError, NotFound, Conflict, Forbidden), authentication, and the public routes' limit."""
    from .api import CONFLICT, ERRORS, NOT_FOUND, ErrorOut

    responses: dict = {**ERRORS, **NOT_FOUND, **CONFLICT}
    if route.public:
        responses.pop(401)
        responses[429] = {"model": ErrorOut, "description": "too many attempts from this address"}
    if route.paged:
        responses[200] = {"headers": LINK_HEADER}
    return responses


def mount_plugins(app: FastAPI, web) -> None:
    c = web.contributions
    for plugin, route in c.routes:
        prefix = f"/api/p/{plugin}" if route.kind == "api" else f"/p/{plugin}"
        app.add_api_route(
            prefix + route.path,
            _endpoint(plugin, route),
            methods=list(route.methods),
            include_in_schema=route.kind == "api",
            tags=[plugin],
            summary=route.summary or f"{plugin}: {route.path}",
            responses=_documented(route),
        )
    for plugin, mount in c.mounts:
        app.mount(
            f"/hooks/{plugin}{mount.path.rstrip('/')}",
            _guarded(mount.build(web.crm), plugin, mount, web),
        )


def _guarded(inner, plugin: str, mount, web):
    """The mounted app, behind the login check unless it is public (it then verifies its callers itself)."""
    if mount.public:
        return inner

    async def app(scope, receive, send):
        if scope["type"] == "http":
            from starlette.requests import Request as StarletteRequest

            request = StarletteRequest(scope, receive)
            principal = await run_in_threadpool(web.authenticate, request.headers, request.cookies)
            if principal is None or not principal.can(mount.access, plugin):
                status = 401 if principal is None else 403
                response = JSONResponse(
                    {
                        "error": "authentication required"
                        if status == 401
                        else f"needs {mount.access} access to {plugin}"
                    },
                    status_code=status,
                )
                await response(scope, receive, send)
                return
        await inner(scope, receive, send)

    return app


def build_board_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def board_or_404(request: Request, plugin: str, key: str):
        board = state(request).contributions.boards.get((plugin, key))
        if board is None:
            raise WebError(404, "Page not found.")
        return board

    def board_page(
        request: Request,
        user: Principal,
        plugin: str,
        key: str,
        *,
        error: str | None = None,
        status: int = 200,
    ):
        board = board_or_404(request, plugin, key)
        if not user.can("read", plugin):
            raise WebError(403, "You may not do this.")
        params = {k: v[:200] for k, v in request.query_params.items() if k != "ok"}
        with state(request).unit(user, readonly=True) as uow:
            data = board.load(uow, params)
        lang = state(request).language(request, user)
        return render(
            request,
            "board.html",
            user,
            status=status,
            title="Boards",
            board=board,
            data=data,
            plugin=plugin,
            heading=board.title_fa if lang == "fa" and board.title_fa else board.title,
            can_move=user.can("write", plugin),
            error=error,
        )

    @r.get("/boards/{plugin}/{key}")
    def show(request: Request, plugin: str, key: str, user: Principal = Depends(page_user())):
        return board_page(request, user, plugin, key)

    @r.post("/boards/{plugin}/{key}/move")
    async def move(request: Request, plugin: str, key: str, user: Principal = Depends(page_user())):
        board = board_or_404(request, plugin, key)
        wants_json = "application/json" in (request.headers.get("accept") or "")
        if not user.can("write", plugin):
            raise WebError(403, "You may not do this.")
        form = await request.form()
        card, column = form_text(form, "card", limit=100), form_text(form, "column", limit=100)

        def store() -> None:
            if not card or not column:
                raise CRMError(
                    "name the card and the column to move it to",
                    field="card" if not card else "column",
                )
            with state(request).unit(user) as uow:
                board.move(uow, card, column)
                uow.audit("move", f"{plugin}.{key}", card, {"column": column})

        try:
            await run_in_threadpool(store)
        except CRMError as exc:
            status = 403 if isinstance(exc, Forbidden) else 422
            if wants_json:
                return JSONResponse({"error": exc.message, "field": exc.field}, status_code=status)
            return board_page(request, user, plugin, key, error=str(exc), status=status)
        if wants_json:
            return JSONResponse({"ok": True, "card": card, "column": column})
        return redirect(f"/boards/{plugin}/{key}", "moved")

    return r
