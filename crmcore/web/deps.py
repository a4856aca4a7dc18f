"""FastAPI dependencies: the authenticated caller of an API call or a page, with CSRF and level checks, and
the errors the handlers raise (turned into JSON for the API, into pages for the browser)."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from .auth import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, Principal, csrf_ok

bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token from `crm users token create` or /account "
    "(`Authorization: Bearer crm_…`).",
)


class WebError(Exception):
    """An HTTP error with a message for people: JSON ``{"error", "field"}`` for the API, a page otherwise."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}


class LoginRequired(Exception):
    """A page needs a login: the browser is sent to ``/login?next=…``."""


def state(request: Request):
    return request.app.state.web


async def current_principal(request: Request) -> Principal | None:
    if "principal" not in request.scope.setdefault("state", {}):
        web = state(request)
        principal = await run_in_threadpool(web.authenticate, request.headers, request.cookies)
        request.state.principal = principal
    return request.state.principal


async def _csrf_given(request: Request) -> str | None:
    given = request.headers.get(CSRF_HEADER)
    if given:
        return given
    ctype = request.headers.get("content-type") or ""
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def api_user(access: str = "read", plugin: str | None = None):
    """Dependency: an API caller with at least ``access`` (for ``plugin`` when given); 401/403 otherwise."""

    async def dependency(
        request: Request, _credentials: HTTPAuthorizationCredentials | None = Depends(bearer_scheme)
    ) -> Principal:
        principal = await current_principal(request)
        if principal is None:
            raise WebError(
                401,
                "authentication required: send `Authorization: Bearer <API token>` or log in",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if request.method not in SAFE_METHODS and not csrf_ok(
            principal, await _csrf_given(request)
        ):
            raise WebError(
                403,
                f"missing or wrong CSRF token (send the {CSRF_HEADER} header with session cookies)",
            )
        if not principal.can(access, plugin):
            raise WebError(403, principal.refusal(access, plugin))
        return principal

    return dependency


def page_user(access: str = "read", plugin: str | None = None):
    """Dependency: a logged-in browser user with ``access``; a login redirect or a 403 page otherwise."""

    async def dependency(request: Request) -> Principal:
        principal = await current_principal(request)
        if principal is None:
            raise LoginRequired()
        if request.method not in SAFE_METHODS and not csrf_ok(
            principal, await _csrf_given(request)
        ):
            raise WebError(403, "This form expired; reload the page and send it again.")
        if not principal.can(access, plugin):
            raise WebError(403, "You may not do this.")
        return principal

    return dependency


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def form_text(form: Any, name: str, *, limit: int = 2000) -> str:
    value = form.get(name)
    if not isinstance(value, str):
        return ""
    return value.strip()[:limit]
