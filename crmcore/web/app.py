"""The ASGI application of ``crm web``: the JSON API, the pages, the public form, the caller-ID stream, what
plugins add, and the static assets (served from the package: no CDN, no build step)."""

from __future__ import annotations

import importlib.resources
import logging

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..errors import Conflict, CRMError, Forbidden, NotFound, PluginHookError
from .deps import LoginRequired, WebError, api_user
from .middleware import BodyLimit, SecurityHeaders
from .settings import WebSettings
from .state import WebState

log = logging.getLogger("crmcore.web")

STATUS = {NotFound: 404, Conflict: 409, Forbidden: 403}
JSON_PREFIXES = ("/api/", "/events/", "/hooks/")

DESCRIPTION = """The HTTP API of crmcore. Authenticate with an API token (`Authorization: Bearer crm_…`, from
`crm users token create USER NAME` or the Account page); browser sessions also work and then need the
`X-CSRF-Token` header on changes. Errors are `{"error": message, "field": name-or-null}`: 401 without
credentials, 403 without the needed level or outside the caller's record rules, 404 unknown records,
405 a method the path does not serve (`Allow` lists those it does), 409 clashes, 413 bodies over the
limit, 400 unreadable requests, 422 invalid input (nothing is stored). Lists are paged: `limit` and
the `cursor` of the `Link: <…>; rel="next"` header. Plugins add routes under `/api/p/<plugin>/`."""


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES) or request.url.path == "/api"


def _error(request: Request, status: int, message: str, field: str | None = None, headers=None):
    if _wants_json(request):
        return JSONResponse({"error": message, "field": field}, status_code=status, headers=headers)
    from .view import render

    principal = getattr(request.state, "principal", None)
    title = {404: "Not found", 403: "Forbidden"}.get(status, "CRM")
    return render(
        request,
        "error.html",
        principal,
        status=status,
        title=title,
        message=message,
        headers=headers,
    )


def _validation_message(exc: RequestValidationError) -> tuple[int, str, str | None]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        first = next(e for e in errors if e.get("type") == "json_invalid")
        return (
            400,
            f"the body is not valid JSON: {first.get('ctx', {}).get('error', 'cannot parse it')}",
            None,
        )
    parts, field = [], None
    for e in errors[:5]:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path")]
        where = ".".join(loc) or "body"
        field = field or where
        parts.append(f"{where}: {e.get('msg', 'invalid')}")
    return 422, "; ".join(parts) or "invalid request", field


def create_app(crm, settings: WebSettings | None = None) -> FastAPI:
    """Build the web application for ``crm`` (a :class:`crmcore.app.CRM`)."""
    from . import (
        account_pages,
        api,
        customer_list,
        dashboard,
        events,
        forms,
        lead_review,
        notifications,
        pages,
        plugin_routes,
        public,
        shell,
    )

    settings = settings or WebSettings.from_env()
    web = WebState(crm, settings)
    app = FastAPI(
        title="crmcore",
        version=__version__,
        description=DESCRIPTION,
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = web

    @app.exception_handler(WebError)
    async def web_error(request: Request, exc: WebError):
        return _error(request, exc.status, exc.message, exc.field, exc.headers or None)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired):
        from urllib.parse import quote

        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here)}", status_code=303)

    @app.exception_handler(CRMError)
    async def crm_error(request: Request, exc: CRMError):
        if isinstance(exc, PluginHookError):
            log.error("plugin failure: %s", exc, exc_info=exc.cause)
            return _error(request, 500, str(exc))
        return _error(
            request, STATUS.get(type(exc), 422), exc.message if exc.field else str(exc), exc.field
        )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        status, message, field = _validation_message(exc)
        return _error(request, status, message, field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "error"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404:
            message = (
                "Page not found." if not _wants_json(request) else f"no route {request.url.path}"
            )
        elif exc.status_code == 405:  # every method of the path, not only the first route's
            from .openapi import allowed_methods

            allowed = allowed_methods(request.app, request.scope)
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            message = f"{request.method} is not allowed here (allowed: {', '.join(allowed)})"
        return _error(request, exc.status_code, message, None, headers)

    @app.get("/health", include_in_schema=False)
    def health():
        return {"ok": True}

    @app.get("/api/openapi.json", include_in_schema=False)
    def openapi(_user=Depends(api_user("read"))):
        from .openapi import exact_openapi

        return JSONResponse(exact_openapi(app, web))

    app.include_router(api.build_router())
    app.include_router(events.build_router())
    app.include_router(notifications.build_router())
    app.include_router(account_pages.build_router())
    app.include_router(public.build_router())
    app.include_router(lead_review.build_router())
    app.include_router(plugin_routes.build_board_router())
    app.include_router(dashboard.build_router())
    app.include_router(customer_list.build_router())
    app.include_router(pages.build_router())
    app.include_router(shell.build_router())
    app.include_router(forms.build_router())
    plugin_routes.mount_plugins(app, web)
    static = importlib.resources.files("crmcore.web") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(
        SecurityHeaders, form_ancestors=settings.form_ancestors, hsts=settings.secure_cookies
    )
    app.add_middleware(BodyLimit, max_body=settings.max_body)
    return app
