"""Rendering a page inside the site layout, in the user's language and direction."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .auth import Principal
from .deps import state
from .i18n import translate
from .render import table_columns

#: fixed notices a redirect may ask for (``?ok=saved``): never text taken from the URL
NOTICES = {"saved": "Saved.", "moved": "Moved."}


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status: int = 200,
    title: str = "",
    headers: dict[str, str] | None = None,
    **variables: Any,
) -> HTMLResponse:
    web = state(request)
    lang = web.language(request, principal)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    notice = NOTICES.get(request.query_params.get("ok", ""))
    variables.setdefault("fmt", web.formatter(lang))
    if principal is not None and "unread" not in variables:
        variables["unread"] = unread_of(web, principal)
    html = web.templates.get_template(template).render(
        lang=lang,
        dir="rtl" if lang == "fa" else "ltr",
        tz=web.crm.timezone,
        user=principal,
        menu=web.menu(principal, lang),
        csrf=principal.csrf if principal else None,
        path=request.url.path,
        here=quote(here, safe="/?=&"),
        title=translate(title, lang) if title else "",
        notice=notice,
        columns=table_columns,
        **variables,
    )
    return HTMLResponse(html, status_code=status, headers=headers)


def unread_of(web, principal: Principal) -> int:
    """The header's bell: how many of the user's notifications are unread (one indexed count)."""
    from ..services.notifications import unread_count

    with web.crm.unit_of_work(readonly=True) as uow:
        return unread_count(uow.session, principal.user_id)


def redirect(url: str, ok: str | None = None) -> RedirectResponse:
    if ok:
        url += ("&" if "?" in url else "?") + f"ok={ok}"
    return RedirectResponse(url, status_code=303)


def safe_next(value: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: ``//evil.example`` and ``https://…`` are refused)."""
    if (
        not value
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or "\n" in value
    ):
        return default
    return value


def render_plugin_page(
    request: Request, principal: Principal | None, template: str, title: str = "", **variables: Any
) -> HTMLResponse:
    """A plugin's page: its template (auto-escaped, with the same filters) inside the site layout."""
    from markupsafe import Markup

    web = state(request)
    lang = web.language(request, principal)
    fmt = variables.pop("fmt", None) or web.formatter(lang)
    inner = web.templates.get_template(template).render(
        lang=lang,
        tz=web.crm.timezone,
        user=principal,
        fmt=fmt,
        csrf=principal.csrf if principal else None,
        columns=table_columns,
        **variables,
    )
    return render(
        request, "plugin_page.html", principal, title=title, content=Markup(inner), fmt=fmt
    )
