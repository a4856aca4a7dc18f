"""Logging in and out, the language switch, the user's own account (password, API tokens) and the admins'
user management. Logins are rate limited per client address and username, and per address over all
usernames (password spraying); password checks wait for a turn (:mod:`crmcore.web.throttle`); the
login form carries a signed token so another site cannot log a browser in (login CSRF)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from ..domain.phones import Phone
from ..errors import CRMError
from .auth import Principal
from .contrib import LEVELS
from .deps import WebError, client_address, current_principal, form_text, page_user, state
from .i18n import LANGUAGES
from .models import ApiToken, WebUser
from .state import LANG_COOKIE
from .throttle import HashingBusy
from .users import (
    ROLES,
    add_user,
    authenticate,
    create_session,
    create_token,
    end_session,
    list_users,
    parse_lifetime,
    revoke_token,
    set_password,
    set_permission,
    token_state,
    update_user,
)
from .view import redirect, render, safe_next

FORM_MAX_AGE = 2 * 3600
#: the channels of staff notifications a user picks on their account page (the web list is always on)
NOTIFY_CHANNELS = ("email", "sms", "pop")
#: the lifetimes offered on the account page (the API and the CLI take any, e.g. 45d)
TOKEN_LIFETIMES = ("30d", "90d", "365d", "")
BUSY = "The server is busy; try again in a moment."


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def login_page(
        request: Request,
        *,
        error: str | None = None,
        status: int = 200,
        username: str = "",
        headers: dict[str, str] | None = None,
    ):
        token = state(request).serializer("login").dumps("login")
        return render(
            request,
            "login.html",
            None,
            status=status,
            title="Log in",
            error=error,
            form_token=token,
            username=username,
            next=safe_next(request.query_params.get("next")),
            headers=headers,
        )

    @r.get("/login")
    async def login_form(request: Request):
        if await current_principal(request) is not None:
            return redirect(safe_next(request.query_params.get("next")))
        return login_page(request)

    @r.post("/login")
    async def login(request: Request):
        from itsdangerous import BadData

        web = state(request)
        form = await request.form()
        username = form_text(form, "username", limit=60).lower()
        password = form.get("password") if isinstance(form.get("password"), str) else ""
        try:
            web.serializer("login").loads(form_text(form, "form_token"), max_age=FORM_MAX_AGE)
        except BadData:
            return login_page(
                request,
                error="This form expired; reload the page and send it again.",
                status=403,
                username=username,
            )
        address = client_address(request)
        if not (
            web.allow(web.settings.login_address_rate, "login-address", address)
            and web.allow(web.settings.login_rate, "login", address, username)
        ):
            return login_page(
                request,
                error="Too many attempts; wait a minute and try again.",
                status=429,
                username=username,
            )

        def check() -> str | None:
            with web.unit(None, actor=username or "anonymous") as uow:
                user = authenticate(uow, username, password[:200])
                if user is None:
                    return None
                raw, _row = create_session(
                    uow, user, hours=web.settings.session_hours, client=client_address(request)
                )
                return raw

        try:
            async with web.hashing.turn():
                raw = await run_in_threadpool(check)
        except HashingBusy:
            return login_page(
                request, error=BUSY, status=503, username=username, headers={"Retry-After": "5"}
            )
        if raw is None:
            return login_page(
                request, error="Wrong username or password.", status=401, username=username
            )
        response = redirect(safe_next(form_text(form, "next")))
        response.set_cookie(
            web.cookie_name,
            raw,
            max_age=int(web.settings.session_hours * 3600),
            httponly=True,
            secure=web.settings.secure_cookies,
            samesite="lax",
            path="/",
        )
        return response

    @r.post("/logout")
    async def logout(request: Request, user: Principal = Depends(page_user())):
        web = state(request)
        raw = request.cookies.get(web.cookie_name)

        def end() -> None:
            with web.unit(user) as uow:
                end_session(uow, raw)

        if raw:
            await run_in_threadpool(end)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(
            web.cookie_name, path="/", secure=web.settings.secure_cookies, httponly=True
        )
        return response

    @r.get("/lang/{code}")
    def language(request: Request, code: str):
        response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
        if code in LANGUAGES:
            response.set_cookie(
                LANG_COOKIE,
                code,
                max_age=365 * 86400,
                samesite="lax",
                path="/",
                secure=state(request).settings.secure_cookies,
            )
        return response

    # --- the user's own account -----------------------------------------------------------------
    def account_page(
        request: Request,
        user: Principal,
        *,
        new_token: str | None = None,
        error: str | None = None,
        status: int = 200,
        field: str | None = None,
        contact: dict | None = None,
    ):
        with state(request).unit(user, readonly=True) as uow:
            tokens = list(
                uow.session.scalars(
                    select(ApiToken).where(ApiToken.user_id == user.user_id).order_by(ApiToken.id)
                )
            )
            now = uow.now()
            me = uow.session.get(WebUser, user.user_id)
            mine = {
                "email": me.email or "",
                "phone": Phone(me.phone).national() if me.phone else "",
                "channels": me.notify_channels,
            }
        levels = [lv for lv in LEVELS[1:] if user.can(lv)]
        return render(
            request,
            "account.html",
            user,
            status=status,
            title="Account",
            tokens=tokens,
            new_token=new_token,
            error=error,
            levels=levels,
            lifetimes=TOKEN_LIFETIMES,
            states={t.id: token_state(t, now) for t in tokens},
            field=field,
            contact=contact or mine,
            channels=NOTIFY_CHANNELS,
        )

    @r.post("/account/contact")
    async def contact(request: Request, user: Principal = Depends(page_user())):
        """The user's own email, mobile and notification channels (staff notifications)."""
        form = await request.form()
        values = {
            "email": form_text(form, "email", limit=254),
            "phone": form_text(form, "phone", limit=40),
            "channels": [c for c in NOTIFY_CHANNELS if form.get(f"notify_{c}") == "on"],
        }

        def store() -> None:
            with state(request).unit(user) as uow:
                update_user(
                    uow,
                    user.username,
                    email=values["email"],
                    phone=values["phone"],
                    notify=values["channels"] or "web",
                )

        try:
            await run_in_threadpool(store)
        except CRMError as exc:
            return account_page(
                request, user, error=str(exc), status=422, field=exc.field, contact=values
            )
        return redirect("/account", "saved")

    @r.get("/account")
    def account(request: Request, user: Principal = Depends(page_user())):
        return account_page(request, user)

    def refuse_tokens(user: Principal) -> None:
        if not user.may_manage_tokens:
            raise WebError(
                403, "Creating or revoking tokens needs a login or an admin-level token."
            )

    @r.post("/account/tokens")
    async def token_create(request: Request, user: Principal = Depends(page_user())):
        refuse_tokens(user)
        form = await request.form()
        name, level = form_text(form, "name", limit=100), form_text(form, "level") or user.level
        expires = form_text(form, "expires", limit=10)

        def store() -> str:
            if level not in LEVELS[1:] or not user.can(level):
                raise CRMError(f"a token cannot exceed your level ({user.level})", field="level")
            with state(request).unit(user) as uow:
                lifetime = parse_lifetime(expires)
                return create_token(uow, user.username, name, level=level, expires=lifetime)[1]

        try:
            secret = await run_in_threadpool(store)
        except CRMError as exc:
            return account_page(request, user, error=str(exc), status=422)
        return account_page(request, user, new_token=secret, status=201)

    @r.post("/account/tokens/{name}/revoke")
    async def token_revoke(request: Request, name: str, user: Principal = Depends(page_user())):
        refuse_tokens(user)

        def store() -> None:
            with state(request).unit(user) as uow:
                revoke_token(uow, user.username, name)

        try:
            await run_in_threadpool(store)
        except CRMError as exc:
            return account_page(request, user, error=str(exc), status=422)
        return redirect("/account", "saved")

    @r.post("/account/password")
    async def password(request: Request, user: Principal = Depends(page_user())):
        form = await request.form()
        current = form.get("current") if isinstance(form.get("current"), str) else ""
        new = form.get("new") if isinstance(form.get("new"), str) else ""

        def store() -> None:
            with state(request).unit(user) as uow:
                if authenticate(uow, user.username, current[:200]) is None:
                    raise CRMError("the current password is wrong", field="current")
                set_password(uow, user.username, new)

        try:
            async with state(request).hashing.turn():
                await run_in_threadpool(store)
        except CRMError as exc:
            return account_page(request, user, error=str(exc), status=422)
        except HashingBusy:
            return account_page(request, user, error=BUSY, status=503)
        return RedirectResponse("/login", status_code=303)  # every session of the user ended

    # --- admins: users ----------------------------------------------------------------------------
    def users_page(
        request: Request, user: Principal, *, error: str | None = None, status: int = 200
    ):
        with state(request).unit(user, readonly=True) as uow:
            users = list_users(uow.session)
        return render(
            request,
            "users.html",
            user,
            status=status,
            title="Users",
            users=users,
            roles=list(ROLES),
            plugins=state(request).plugin_names(),
            levels=["inherit", *LEVELS[:-1]],
            error=error,
        )

    @r.get("/admin/users")
    def users(request: Request, user: Principal = Depends(page_user("admin"))):
        return users_page(request, user)

    @r.post("/admin/users")
    async def user_create(request: Request, user: Principal = Depends(page_user("admin"))):
        form = await request.form()
        password = form.get("password") if isinstance(form.get("password"), str) else ""

        def store() -> None:
            with state(request).unit(user) as uow:
                add_user(
                    uow,
                    form_text(form, "username", limit=60),
                    password,
                    form_text(form, "role"),
                    display_name=form_text(form, "display_name", limit=200),
                    extension=form_text(form, "extension", limit=20),
                )

        try:
            await run_in_threadpool(store)
        except CRMError as exc:
            return users_page(request, user, error=str(exc), status=422)
        return redirect("/admin/users", "saved")

    @r.post("/admin/users/{username}")
    async def user_update(
        request: Request, username: str, user: Principal = Depends(page_user("admin"))
    ):
        form = await request.form()

        def store() -> None:
            with state(request).unit(user) as uow:
                update_user(
                    uow,
                    username,
                    role=form_text(form, "role") or None,
                    active=form_text(form, "active") == "1" if "active" in form else None,
                    extension=form_text(form, "extension", limit=20)
                    if "extension" in form
                    else None,
                )
                plugin = form_text(form, "plugin")
                if plugin:
                    set_permission(uow, username, plugin, form_text(form, "level") or "inherit")

        try:
            await run_in_threadpool(store)
        except CRMError as exc:
            return users_page(request, user, error=str(exc), status=422)
        return redirect("/admin/users", "saved")

    return r
