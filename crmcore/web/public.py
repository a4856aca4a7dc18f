"""The embeddable public lead form (``/forms/lead``): a site's visitors become customers tagged ``lead`` (and,
through ``crm_web_lead_received``, a deal or a ticket of whichever plugin wants them).

No login; instead: a signed, time-limited form token (a post not loaded from this form is refused: CSRF), a
hidden honeypot field, a rate limit per client address (``CRM_WEB_LEAD_RATE``), and the usual validation of
phones and emails. A visitor whose phone or email is already known never changes that customer: the
submission waits as a pending lead for a person to accept or reject (:mod:`crmcore.services.leads`).
The visitor is thanked the same way either way, so the form does not tell who is a customer.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from ..domain.emails import email_address
from ..domain.phones import parse_phone
from ..errors import CRMError, ValidationError
from ..services.leads import file_lead
from .deps import client_address, form_text, state
from .view import render

FORM_MAX_AGE = 6 * 3600
HONEYPOT = "website"
ACTOR = "public-form"


def _clean(form) -> dict[str, Any]:
    fields = {
        "name": form_text(form, "name", limit=300),
        "phone": form_text(form, "phone", limit=40),
        "email": form_text(form, "email", limit=254),
        "message": form_text(form, "message", limit=2000),
        "source": form_text(form, "source", limit=60),
        "page": form_text(form, "page", limit=500),
        "ref": form_text(form, "ref", limit=40),
    }
    if not fields["name"]:
        raise ValidationError("a name is required", field="name")
    if not fields["phone"] and not fields["email"]:
        raise ValidationError("give a phone number or an email so we can reach you", field="phone")
    if fields["phone"]:
        fields["phone"] = parse_phone(fields["phone"]).e164
    if fields["email"]:
        fields["email"] = email_address(fields["email"])
    return fields


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    def page(
        request: Request,
        *,
        values: dict[str, str] | None = None,
        error: str | None = None,
        done: bool = False,
        status: int = 200,
    ):
        web = state(request)
        token = web.serializer("lead").dumps("lead")
        headers = {"Content-Security-Policy": _csp(web.settings.form_ancestors)}
        return render(
            request,
            "lead_form.html",
            None,
            status=status,
            title="Contact us",
            headers=headers,
            values=values
            or {
                "source": request.query_params.get("source", "")[:60],
                "ref": request.query_params.get("ref", "")[:40],
            },
            error=error,
            done=done,
            form_token=token,
        )

    @r.get("/forms/lead")
    def form(request: Request):
        return page(request)

    @r.post("/forms/lead")
    async def submit(request: Request):
        from itsdangerous import BadData

        web = state(request)
        form = await request.form()
        values = {
            k: form_text(form, k, limit=2000)
            for k in ("name", "phone", "email", "message", "source", "ref")
        }
        try:
            web.serializer("lead").loads(form_text(form, "form_token"), max_age=FORM_MAX_AGE)
        except BadData:
            return page(
                request,
                values=values,
                status=403,
                error="This form expired; reload the page and send it again.",
            )
        if not web.allow(web.settings.lead_rate, "lead", client_address(request)):
            return page(
                request,
                values=values,
                status=429,
                error="Too many attempts; wait a minute and try again.",
            )
        if form_text(form, HONEYPOT):
            return page(
                request, done=True
            )  # a robot filled the hidden field: thank it, store nothing

        def store() -> None:
            fields = _clean(form)
            fields["device"] = device_of(request)
            with web.unit(None, actor=ACTOR) as uow:
                file_lead(uow, fields)

        try:
            await run_in_threadpool(store)
        except CRMError as exc:
            return page(request, values=values, status=422, error=str(exc))
        return page(request, done=True)

    return r


def device_of(request: Request) -> str:
    """A coarse fingerprint of the visitor's device (address and browser), so that plugins can notice many
    sign-ups from one device (referral abuse) without storing either."""
    import hashlib

    seen = f"{client_address(request)}|{request.headers.get('user-agent', '')}"
    return hashlib.sha256(seen.encode("utf-8")).hexdigest()[:32]


def _csp(ancestors: str) -> str:
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors {ancestors}"
    )
