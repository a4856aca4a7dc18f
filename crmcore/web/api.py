"""The JSON API under ``/api/`` (described at ``/api/openapi.json``): customers, interactions, reports, the
caller and their tokens, users (admins). Every call is one unit of work acting as the caller."""
from __future__ import annotations

from typing import Any, Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ..services.customers import add_customer, customer_to_dict, get_customer, update_customer
from ..services.interactions import interaction_to_dict, list_interactions, record_interaction
from .auth import Principal
from .deps import api_user, state
from .panels import gather_panels, sections_json
from .search import instant_search



class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorOut(BaseModel):
    error: str
    field: Optional[str] = None


class CustomerIn(Strict):
    name: str = Field(min_length=1, max_length=300, examples=["مریم رضایی"])
    kind: Literal["person", "organisation"] = "person"
    phones: list[str] = Field(default_factory=list, max_length=10, examples=[["09121234567"]])
    emails: list[str] = Field(default_factory=list, max_length=10)
    tags: list[str] = Field(default_factory=list, max_length=30)
    external_id: Optional[str] = Field(default=None, max_length=100)
    birthday: Optional[str] = Field(default=None, max_length=20, description="Jalali (1370-05-12) or Gregorian")
    city: Optional[str] = Field(default=None, max_length=100)
    address: Optional[str] = Field(default=None, max_length=1000)
    owner: Optional[str] = Field(default=None, max_length=100)
    consent_sms: bool = False
    consent_email: bool = False
    attributes: dict[str, Any] = Field(default_factory=dict)


class CustomerPatch(Strict):
    name: Optional[str] = Field(default=None, max_length=300)
    kind: Optional[Literal["person", "organisation"]] = None
    external_id: Optional[str] = Field(default=None, max_length=100)
    birthday: Optional[str] = Field(default=None, max_length=20)
    city: Optional[str] = Field(default=None, max_length=100)
    address: Optional[str] = Field(default=None, max_length=1000)
    owner: Optional[str] = Field(default=None, max_length=100)
    consent_sms: Optional[bool] = None
    consent_email: Optional[bool] = None
    add_phones: list[str] = Field(default_factory=list, max_length=10)
    remove_phones: list[str] = Field(default_factory=list, max_length=10)
    add_emails: list[str] = Field(default_factory=list, max_length=10)
    remove_emails: list[str] = Field(default_factory=list, max_length=10)
    add_tags: list[str] = Field(default_factory=list, max_length=30)
    remove_tags: list[str] = Field(default_factory=list, max_length=30)
    attributes: Optional[dict[str, Any]] = None


class InteractionIn(Strict):
    kind: str = Field(min_length=1, max_length=40, examples=["note"])
    channel: Optional[str] = Field(default=None, max_length=40)
    direction: Optional[Literal["in", "out"]] = None
    occurred_at: Optional[str] = Field(default=None, max_length=40, description="ISO 8601 or Jalali; default now")
    amount: Optional[str] = Field(default=None, max_length=40, description="exact decimal, e.g. 1250000")
    currency: Optional[str] = Field(default=None, max_length=3)
    external_id: Optional[str] = Field(default=None, max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict)


class Match(BaseModel):
    id: int
    name: str
    phones: list[str]
    emails: list[str]
    external_id: Optional[str]
    city: Optional[str]
    score: int
    matched: str


class SearchOut(BaseModel):
    query: str
    results: list[Match]
    next_cursor: str | None = None  # pass as ``cursor`` for the next page; None on the last page


class TokenIn(Strict):
    name: str = Field(min_length=1, max_length=100)
    level: Optional[Literal["read", "write", "manage", "admin"]] = None


class UserIn(Strict):
    username: str = Field(min_length=2, max_length=60)
    password: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "manager", "agent", "read-only"]
    display_name: Optional[str] = Field(default=None, max_length=200)
    extension: Optional[str] = Field(default=None, max_length=20)
    locale: Optional[Literal["fa", "en"]] = None


class UserPatch(Strict):
    role: Optional[Literal["admin", "manager", "agent", "read-only"]] = None
    active: Optional[bool] = None
    display_name: Optional[str] = Field(default=None, max_length=200)
    extension: Optional[str] = Field(default=None, max_length=20)
    locale: Optional[Literal["fa", "en", ""]] = None
    permissions: dict[str, Literal["none", "read", "write", "manage", "inherit"]] = Field(default_factory=dict)


ERRORS = {401: {"model": ErrorOut, "description": "not authenticated"},
          403: {"model": ErrorOut, "description": "not allowed"},
          422: {"model": ErrorOut, "description": "invalid input (the field is named)"}}
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such record"}}
CONFLICT = {409: {"model": ErrorOut, "description": "clashes with stored data"}}
CustomerId = Path(ge=1, le=2**31 - 1)


def _customer_json(web, customer) -> dict[str, Any]:
    return customer_to_dict(customer, calendar=web.crm.calendar, tz=web.crm.timezone, with_sections=False)


def build_router() -> APIRouter:
    r = APIRouter(prefix="/api", responses=ERRORS)

    @r.get("/me", tags=["account"], summary="The caller: user, role, level, per-plugin permissions")
    def me(user: Principal = Depends(api_user("read"))) -> dict[str, Any]:
        return user.to_dict()

    @r.get("/customers", tags=["customers"], response_model=SearchOut,
           summary="Search customers (Persian-normalised names, any phone format, email, external id)")
    def search(request: Request, q: str = Query("", max_length=200), limit: int = Query(20, ge=1, le=100),
               cursor: str | None = Query(None, max_length=60),
               user: Principal = Depends(api_user("read"))):
        web = state(request)
        with web.unit(user, readonly=True) as uow:
            page = instant_search(uow, q, limit, cursor)
            return {"query": q, "results": page.results, "next_cursor": page.next_cursor}

    @r.post("/customers", tags=["customers"], status_code=201, responses=CONFLICT, summary="Add a customer")
    def create(request: Request, body: CustomerIn, user: Principal = Depends(api_user("write"))) -> dict[str, Any]:
        web = state(request)
        with web.unit(user) as uow:
            customer = add_customer(uow, **body.model_dump())
            return _customer_json(web, customer)

    @r.get("/customers/{customer_id}", tags=["customers"], responses=NOT_FOUND,
           summary="A customer with every plugin's profile section (the 360° view)")
    def show(request: Request, customer_id: int = CustomerId,
             user: Principal = Depends(api_user("read"))) -> dict[str, Any]:
        web = state(request)
        with web.unit(user, readonly=True) as uow:
            customer = get_customer(uow.session, customer_id)
            data = customer_to_dict(customer, calendar=web.crm.calendar, tz=web.crm.timezone, with_sections=False)
            data["sections"] = sections_json(gather_panels(uow, customer, lambda p: user.can("read", p)))
        return data

    @r.patch("/customers/{customer_id}", tags=["customers"], responses={**NOT_FOUND, **CONFLICT},
             summary="Change a customer (fields given replace; add_/remove_ lists change phones, emails, tags)")
    def patch(request: Request, body: CustomerPatch, customer_id: int = CustomerId,
              user: Principal = Depends(api_user("write"))) -> dict[str, Any]:
        web = state(request)
        fields = body.model_dump(exclude_unset=True)
        with web.unit(user) as uow:
            customer = update_customer(uow, customer_id, **fields)
            return _customer_json(web, customer)

    @r.get("/customers/{customer_id}/interactions", tags=["interactions"], responses=NOT_FOUND,
           summary="A customer's interactions, newest first")
    def interactions(request: Request, customer_id: int = CustomerId, kind: Optional[str] = Query(None, max_length=40),
                     limit: int = Query(50, ge=1, le=500),
                     user: Principal = Depends(api_user("read"))) -> list[dict[str, Any]]:
        web = state(request)
        with web.unit(user, readonly=True) as uow:
            customer = get_customer(uow.session, customer_id)
            return [interaction_to_dict(i, calendar=web.crm.calendar, tz=web.crm.timezone)
                    for i in list_interactions(uow.session, customer.id, kind=kind, limit=limit)]

    @r.post("/customers/{customer_id}/interactions", tags=["interactions"], status_code=201,
            responses={**NOT_FOUND, **CONFLICT}, summary="Record a purchase, refund, call, message, visit or note")
    def record(request: Request, body: InteractionIn, customer_id: int = CustomerId,
               user: Principal = Depends(api_user("write"))) -> dict[str, Any]:
        web = state(request)
        with web.unit(user) as uow:
            customer = get_customer(uow.session, customer_id)
            interaction = record_interaction(uow, customer, **body.model_dump())
            uow.audit("record", "interaction", interaction.id, {"kind": interaction.kind}, customer_id=customer.id)
            return interaction_to_dict(interaction)

    @r.get("/reports", tags=["reports"], summary="The reports of the kernel and the enabled plugins")
    def reports(request: Request, user: Principal = Depends(api_user("read"))) -> list[dict[str, Any]]:
        from ..reports import report_registry

        web = state(request)
        with web.unit(user, readonly=True) as uow:
            return [{"name": rep.name, "title": rep.title, "title_fa": rep.title_fa, "description": rep.description}
                    for rep in report_registry(uow).values()]

    @r.get("/reports/{name}", tags=["reports"], responses=NOT_FOUND,
           summary="Run a report: {report, columns, rows, totals}; amounts are exact decimal strings")
    def report(request: Request, name: str = Path(max_length=100),
               start: Optional[str] = Query(None, alias="from", max_length=20),
               end: Optional[str] = Query(None, alias="to", max_length=20),
               period: Literal["day", "week", "month", "jalali_month", "year", "jalali_year"] = "month",
               calendar: Literal["gregorian", "jalali"] = "gregorian",
               option: list[str] = Query([], max_length=20, description="report-specific NAME=VALUE"),
               user: Principal = Depends(api_user("read"))) -> dict[str, Any]:
        from .reports_view import run_named

        web = state(request)
        return run_named(web, user, name, start, end, period, calendar, option)

    @r.get("/plugins", tags=["account"], summary="Enabled plugins and what they add to the web interface")
    def plugins(request: Request, user: Principal = Depends(api_user("read"))) -> list[dict[str, Any]]:
        web = state(request)
        c = web.contributions
        manifests = web.crm.plugins.manifests
        return [{"name": n, "version": manifests[n].version if n in manifests else None,
                 "level": user.level_for(n),
                 "routes": [f"{'/api/p' if rt.kind == 'api' else '/p'}/{p}{rt.path}" for p, rt in c.routes if p == n],
                 "boards": [f"/boards/{p}/{k}" for (p, k) in c.boards if p == n],
                 "panels": [s for s, (p, _) in c.panels.items() if p == n]}
                for n in web.plugin_names()]

    # --- tokens -----------------------------------------------------------------------------------
    @r.get("/tokens", tags=["account"], summary="The caller's API tokens")
    def tokens(request: Request, user: Principal = Depends(api_user("read"))) -> list[dict[str, Any]]:
        from .models import ApiToken
        from .users import token_to_dict

        web = state(request)
        with web.unit(user, readonly=True) as uow:
            rows = uow.session.scalars(select(ApiToken).where(ApiToken.user_id == user.user_id).order_by(ApiToken.id))
            return [token_to_dict(t) for t in rows]

    @r.post("/tokens", tags=["account"], status_code=201, responses=CONFLICT,
            summary="Create an API token for the caller (the secret is returned once)")
    def new_token(request: Request, body: TokenIn, user: Principal = Depends(api_user("read"))) -> dict[str, Any]:
        from .users import create_token, rank, token_to_dict

        web = state(request)
        level = body.level or user.level
        if rank(level) > rank(user.level):
            from .deps import WebError

            raise WebError(403, f"a token cannot exceed the level of the credentials creating it ({user.level})",
                           field="level")
        with web.unit(user) as uow:
            token, secret = create_token(uow, user.username, body.name, level=level)
            return {**token_to_dict(token), "token": secret}

    @r.delete("/tokens/{name}", tags=["account"], status_code=204, responses=NOT_FOUND,
              summary="Revoke one of the caller's tokens")
    def delete_token(request: Request, name: str = Path(max_length=100), user: Principal = Depends(api_user("read"))):
        from .users import revoke_token

        web = state(request)
        with web.unit(user) as uow:
            revoke_token(uow, user.username, name)
        return Response(status_code=204)

    # --- users (admins) ---------------------------------------------------------------------------
    @r.get("/users", tags=["users"], summary="Every user (admins)")
    def users(request: Request, user: Principal = Depends(api_user("admin"))) -> list[dict[str, Any]]:
        from .users import list_users, user_to_dict

        web = state(request)
        with web.unit(user, readonly=True) as uow:
            return [user_to_dict(u) for u in list_users(uow.session)]

    @r.post("/users", tags=["users"], status_code=201, responses=CONFLICT, summary="Add a user (admins)")
    def add(request: Request, body: UserIn, user: Principal = Depends(api_user("admin"))) -> dict[str, Any]:
        from .users import add_user, user_to_dict

        web = state(request)
        with web.unit(user) as uow:
            return user_to_dict(add_user(uow, body.username, body.password, body.role, display_name=body.display_name,
                                         extension=body.extension, locale=body.locale))

    @r.patch("/users/{username}", tags=["users"], responses={**NOT_FOUND, **CONFLICT},
             summary="Change a user's role, state, extension or per-plugin permissions (admins)")
    def change(request: Request, body: UserPatch, username: str = Path(max_length=60),
               user: Principal = Depends(api_user("admin"))) -> dict[str, Any]:
        from .users import set_permission, update_user, user_to_dict

        web = state(request)
        with web.unit(user) as uow:
            changed = update_user(uow, username, role=body.role, active=body.active, display_name=body.display_name,
                                  extension=body.extension, locale=body.locale)
            for plugin, level in body.permissions.items():
                changed = set_permission(uow, username, plugin, level)
            return user_to_dict(changed)

    return r

