"""The JSON API under ``/api/`` (described at ``/api/openapi.json``): customers, interactions, reports, the
caller and their tokens, users (admins). Every call is one unit of work acting as the caller."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from ..domain.money import CURRENCY_EXPONENTS
from ..services.access import assign_customer, check_customer
from ..services.customers import customer_to_dict, get_customer, update_customer
from ..services.interactions import (
    MONEY_KINDS,
    interaction_to_dict,
    list_interactions,
    record_interaction,
)
from .auth import Principal
from .deps import WebError, api_user, state
from .paging import (
    CURSOR_HELP,
    LINK_HEADER,
    decode_cursor,
    next_link,
    next_url,
    page_of_list,
    page_of_query,
)
from .panels import gather_panels, sections_json
from .search import search_page
from .users import MIN_PASSWORD

CURRENCIES = tuple(sorted(CURRENCY_EXPONENTS))


class Strict(BaseModel):
    # strict: "true" is not a boolean, 1 is not a string
    model_config = ConfigDict(extra="forbid", strict=True)


class ErrorOut(BaseModel):
    error: str
    field: Optional[str] = None


# What the schema allows is accepted, and what it refuses is refused. Where the handlers read more
# than a
# schema can say (Persian digits and spaces in phones, foreign numbers, any email syntax), the
# pattern is
# given to the schema only (``documented``): a subset that is always accepted.


def _leap_jalali_years() -> str:
    import jdatetime

    return "|".join(str(y) for y in range(1300, 1500) if jdatetime.date(y, 1, 1).isleap())


_D31, _D30, _D29 = r"(0[1-9]|[12][0-9]|3[01])", r"(0[1-9]|[12][0-9]|30)", r"(0[1-9]|[12][0-9])"
_JALALI = (
    rf"(1[34][0-9][0-9]-(0[1-6]-{_D31}|(0[7-9]|1[01])-{_D30}|12-{_D29})"
    rf"|({_leap_jalali_years()})-12-30)"
)
_LEAP = r"(1[7-9]|2[0-9])(0[48]|[2468][048]|[13579][26])|2[048]00"
_GREGORIAN = (
    rf"((1[7-9][0-9][0-9]|2[0-9][0-9][0-9])-((0[13578]|1[02])-{_D31}|(0[469]|11)-{_D30}"
    rf"|02-(0[1-9]|1[0-9]|2[0-8]))|({_LEAP})-02-29)"
)
#: a day, Jalali (years 1300-1499) or Gregorian (1700-2999), exactly the days that exist
DATE = rf"^({_JALALI}|{_GREGORIAN})$"
DATETIME = (
    rf"^({_JALALI}|{_GREGORIAN})([T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?"
    r"(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?)?$"
)
#: Iranian mobile numbers (landlines and foreign numbers with a country code are accepted too)
PHONE = r"^(\+98|0)9(0[0-5]|1[0-9]|2[0-3]|3[0-9]|9[0-4])[0-9]{7}$"
_LABEL = r"[a-z0-9]{1,20}(-[a-z0-9]{1,20}){0,2}"
EMAIL = (
    rf"^[a-z0-9]{{1,20}}([._+-][a-z0-9]{{1,20}}){{0,3}}"
    rf"@{_LABEL}(\.{_LABEL}){{0,3}}\.[a-z]{{2,20}}$"
)
SOME_TEXT = r"\S"  # not only spaces
TAG = r"[0-9A-Za-z]"  # a letter or digit survives normalising
_WHOLE = r"(0|[1-9][0-9]{0,14})"
#: an amount in the currency's major unit, with at most as many decimals as the currency has
AMOUNT = rf"^{_WHOLE}(\.[0-9]{{1,{max(CURRENCY_EXPONENTS.values())}}})?$"
USERNAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,59}$"


def documented(pattern: str, **kwargs: Any) -> Any:
    extra = {"pattern": pattern}
    if "description" in kwargs:
        extra["description"] = kwargs.pop("description")
    return Field(json_schema_extra=extra, **kwargs)


Phone = Annotated[str, documented(PHONE, max_length=40)]
EmailText = Annotated[str, documented(EMAIL, max_length=254)]
Tag = Annotated[str, documented(TAG, max_length=100)]


class CustomerIn(Strict):
    name: str = documented(SOME_TEXT, min_length=1, max_length=300, examples=["مریم رضایی"])
    kind: Literal["person", "organisation"] = "person"
    phones: list[Phone] = Field(default_factory=list, max_length=10, examples=[["09121234567"]])
    emails: list[EmailText] = Field(default_factory=list, max_length=10)
    tags: list[Tag] = Field(default_factory=list, max_length=30)
    external_id: Optional[str] = Field(default=None, max_length=100)
    birthday: Optional[str] = Field(
        default=None,
        pattern=DATE,
        max_length=20,
        description="Jalali (1370-05-12) or Gregorian (1991-08-03)",
    )
    city: Optional[str] = Field(default=None, max_length=100)
    address: Optional[str] = Field(default=None, max_length=1000)
    owner: Optional[str] = Field(default=None, max_length=100)
    consent_sms: bool = False
    consent_email: bool = False
    attributes: dict[str, Any] = Field(
        default_factory=dict, description="the enabled plugins' attributes"
    )


class CustomerPatch(Strict):
    name: Optional[str] = documented(SOME_TEXT, default=None, min_length=1, max_length=300)
    kind: Optional[Literal["person", "organisation"]] = None
    external_id: Optional[str] = Field(default=None, max_length=100)
    birthday: Optional[str] = Field(
        default=None,
        pattern=rf"^(({DATE[1:-1]})|)$",
        max_length=20,
        description='a day as in CustomerIn; "" clears',
    )
    city: Optional[str] = Field(default=None, max_length=100)
    address: Optional[str] = Field(default=None, max_length=1000)
    owner: Optional[str] = Field(default=None, max_length=100)
    consent_sms: Optional[bool] = None
    consent_email: Optional[bool] = None
    add_phones: list[Phone] = Field(default_factory=list, max_length=10)
    remove_phones: list[Phone] = Field(default_factory=list, max_length=10)
    add_emails: list[EmailText] = Field(default_factory=list, max_length=10)
    remove_emails: list[EmailText] = Field(default_factory=list, max_length=10)
    add_tags: list[Tag] = Field(default_factory=list, max_length=30)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=30)
    attributes: Optional[dict[str, Any]] = Field(
        default=None, description="the enabled plugins' attributes"
    )


class AssignmentIn(Strict):
    user: Optional[str] = Field(default=None, max_length=60, description='a username; "" clears')
    team: Optional[str] = Field(default=None, max_length=100, description='a team name; "" clears')


def _decimals_by_currency() -> list[dict[str, Any]]:
    """The amount's decimals: as many as its currency has (IRR, the default, none)."""
    rules = []
    for exponent in sorted(set(CURRENCY_EXPONENTS.values())):
        codes = sorted(c for c, e in CURRENCY_EXPONENTS.items() if e == exponent)
        which: dict[str, Any] = {
            "properties": {"currency": {"enum": codes}},
            "required": ["currency"],
        }
        if "IRR" in codes:
            which = {
                "anyOf": [
                    which,
                    {"not": {"required": ["currency"]}},
                    {"properties": {"currency": {"type": "null"}}},
                ]
            }
        decimals = rf"(\.[0-9]{{1,{exponent}}})?" if exponent else ""
        rules.append(
            {
                "if": which,
                "then": {
                    "properties": {
                        "amount": {
                            "anyOf": [
                                {"type": "string", "pattern": rf"^{_WHOLE}{decimals}$"},
                                {"type": "null"},
                            ]
                        }
                    }
                },
            }
        )
    return rules


class InteractionIn(Strict):
    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        json_schema_extra={
            "allOf": [
                {
                    "if": {
                        "properties": {"currency": {"type": "string"}},
                        "required": ["currency"],
                    },
                    "then": {"properties": {"amount": {"type": "string"}}, "required": ["amount"]},
                },
                {
                    "if": {
                        "properties": {"kind": {"enum": list(MONEY_KINDS)}},
                        "required": ["kind"],
                    },
                    "then": {"properties": {"amount": {"type": "string"}}, "required": ["amount"]},
                },
                *_decimals_by_currency(),
            ]
        },
    )

    kind: str = Field(
        min_length=1, max_length=40, examples=["note"], description="a known kind (the enum)"
    )
    channel: Optional[str] = Field(default=None, max_length=40)
    direction: Optional[Literal["in", "out"]] = None
    occurred_at: Optional[str] = Field(
        default=None,
        pattern=DATETIME,
        max_length=40,
        description="ISO 8601 or Jalali (local time without an offset); default now",
    )
    amount: Optional[str] = Field(
        default=None,
        pattern=AMOUNT,
        max_length=40,
        description="exact decimal in the currency's major unit, e.g. 1250000",
    )
    currency: Optional[Literal[CURRENCIES]] = None  # type: ignore[valid-type]
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
    next: Optional[str] = Field(
        None, description="the next page's URL (also in the `Link` header); null on the last page"
    )


#: what parse_lifetime accepts from the API, bounded to ten years so the description is exact
LIFETIME_PATTERN = (
    r"^(?:(?:[1-9][0-9]{0,2}|[12][0-9]{3}|3[0-5][0-9]{2}|36[0-4][0-9]|3650)d"
    r"|(?:[1-9][0-9]{0,3}|[1-7][0-9]{4}|8[0-6][0-9]{3}|87[0-5][0-9]{2}|87600)h"
    r"|(?:[1-9][0-9]?|[1-4][0-9]{2}|50[0-9]|51[0-9]|52[01])w)$"
)


class TokenIn(Strict):
    name: str = documented(SOME_TEXT, min_length=1, max_length=100)
    level: Optional[Literal["read", "write", "manage", "admin"]] = None
    expires: Optional[str] = Field(
        default=None,
        pattern=LIFETIME_PATTERN,
        examples=["90d"],
        description="lifetime up to ten years: days (90d, at most "
        "3650d), hours (12h) or weeks (4w); none: until "
        "revoked",
    )


NOTIFY_PATTERN = r"^$|^(web|email|sms|pop)(,(web|email|sms|pop))*$"
NOTIFY_DOC = (
    "channels of staff notifications besides the web list: email, sms, pop "
    "(comma-separated); 'web' the list only; '' every channel the user has an address for"
)


class UserIn(Strict):
    username: str = documented(USERNAME_PATTERN, min_length=2, max_length=60)
    password: str = Field(min_length=MIN_PASSWORD, max_length=200)
    role: Literal["admin", "manager", "agent", "read-only"]
    display_name: Optional[str] = Field(default=None, max_length=200)
    extension: Optional[str] = Field(default=None, max_length=20)
    locale: Optional[Literal["fa", "en"]] = None
    email: Optional[str] = documented(
        f"^$|{EMAIL}",
        default=None,
        max_length=254,
        description="the user's own address, for staff notifications",
    )
    phone: Optional[str] = documented(
        f"^$|{PHONE}",
        default=None,
        max_length=40,
        description="the user's own mobile, for staff notifications by SMS",
    )
    notify: Optional[str] = documented(
        NOTIFY_PATTERN, default=None, max_length=40, description=NOTIFY_DOC
    )


Permission = Literal["none", "read", "write", "manage", "inherit"]


class UserPatch(Strict):
    role: Optional[Literal["admin", "manager", "agent", "read-only"]] = None
    active: Optional[bool] = None
    display_name: Optional[str] = Field(default=None, max_length=200)
    extension: Optional[str] = Field(default=None, max_length=20)
    locale: Optional[Literal["fa", "en", ""]] = None
    email: Optional[str] = documented(
        f"^$|{EMAIL}",
        default=None,
        max_length=254,
        description="the user's own address ('' clears it)",
    )
    phone: Optional[str] = documented(
        f"^$|{PHONE}",
        default=None,
        max_length=40,
        description="the user's own mobile ('' clears it)",
    )
    notify: Optional[str] = documented(
        NOTIFY_PATTERN, default=None, max_length=40, description=NOTIFY_DOC
    )
    permissions: dict[Annotated[str, documented(SOME_TEXT, max_length=100)], Permission] = Field(
        default_factory=dict
    )


ERRORS = {
    400: {
        "model": ErrorOut,
        "description": "unreadable request: a body that is not JSON, a cursor "
        "that is not one a page gave",
    },
    401: {"model": ErrorOut, "description": "not authenticated"},
    403: {"model": ErrorOut, "description": "not allowed"},
    422: {"model": ErrorOut, "description": "invalid input (the field is named)"},
}
NOT_FOUND = {404: {"model": ErrorOut, "description": "no such record"}}
CONFLICT = {409: {"model": ErrorOut, "description": "clashes with stored data"}}
CustomerId = Path(ge=1, le=2**31 - 1)
PAGED = {200: {"description": "a page of the list", "headers": LINK_HEADER}}
LIMIT = Query(100, ge=1, le=500, description="items per page")
CURSOR = Query(None, max_length=1000, description=CURSOR_HELP)


async def token_manager(user: Principal = Depends(api_user("read"))) -> Principal:
    """The caller, when they may create or revoke tokens (:attr:`Principal.may_manage_tokens`)."""
    if not user.may_manage_tokens:
        raise WebError(
            403,
            f"the token {user.token_name!r} has {user.token_level} access; "
            "creating or revoking tokens needs a login or an admin-level token",
        )
    return user


def _customer_json(web, customer) -> dict[str, Any]:
    return customer_to_dict(
        customer, calendar=web.crm.calendar, tz=web.crm.timezone, with_sections=False
    )


def build_router() -> APIRouter:
    r = APIRouter(prefix="/api", responses=ERRORS)

    @r.get("/me", tags=["account"], summary="The caller: user, role, level, per-plugin permissions")
    def me(user: Principal = Depends(api_user("read"))) -> dict[str, Any]:
        return user.to_dict()

    @r.get(
        "/customers",
        tags=["customers"],
        response_model=SearchOut,
        responses=PAGED,
        summary="Search customers (Persian-normalised names, any phone format, email, external id)",
    )
    def search(
        request: Request,
        response: Response,
        q: str = Query("", max_length=200),
        limit: int = Query(20, ge=1, le=100),
        cursor: Optional[str] = CURSOR,
        user: Principal = Depends(api_user("read")),
    ):
        web = state(request)
        scope = f"customers?q={q}"
        key = decode_cursor(web, scope, cursor)
        with web.unit(user, readonly=True) as uow:
            results, next_key = search_page(uow, q, limit, key)
        url = next_url(request, web, scope, next_key)
        if url:
            response.headers["Link"] = f'<{url}>; rel="next"'
        return {"query": q, "results": results, "next": url}

    @r.post(
        "/customers",
        tags=["customers"],
        status_code=201,
        responses={
            200: {"description": "merged into the stored customer (on_duplicate=merge)"},
            409: {
                "model": ErrorOut,
                "description": "a stored customer has one of the phones or emails "
                "(named in the message), or the external id",
            },
        },
        summary="Add a customer (a phone or email already stored: 409, unless on_duplicate "
        "says otherwise)",
    )
    def create(
        request: Request,
        body: CustomerIn,
        on_duplicate: Literal["refuse", "merge", "create"] = Query(
            "refuse",
            description="when a stored customer has one of the phones or emails: "
            "refuse (409), merge into them (200: empty fields "
            "filled, contacts and tags added, nothing overwritten) "
            "or create a second customer (201)",
        ),
        user: Principal = Depends(api_user("write")),
    ):
        from fastapi.encoders import jsonable_encoder
        from fastapi.responses import JSONResponse

        from ..services.duplicate_contacts import add_or_merge

        web = state(request)
        with web.unit(user) as uow:
            customer, created = add_or_merge(
                uow,
                body.model_dump(),
                on_duplicate=on_duplicate,
                given=frozenset(body.model_fields_set),
            )
            data = _customer_json(web, customer)
        return JSONResponse(jsonable_encoder(data), status_code=201 if created else 200)

    @r.get(
        "/customers/{customer_id}",
        tags=["customers"],
        responses=NOT_FOUND,
        summary="A customer with every plugin's profile section (the 360° view)",
    )
    def show(
        request: Request, customer_id: int = CustomerId, user: Principal = Depends(api_user("read"))
    ) -> dict[str, Any]:
        web = state(request)
        with web.unit(user, readonly=True) as uow:
            customer = get_customer(uow.session, customer_id)
            check_customer(uow, customer, "read")
            data = customer_to_dict(
                customer, calendar=web.crm.calendar, tz=web.crm.timezone, with_sections=False
            )
            data["sections"] = sections_json(
                gather_panels(uow, customer, lambda p: user.can("read", p))
            )
        return data

    @r.patch(
        "/customers/{customer_id}",
        tags=["customers"],
        responses={**NOT_FOUND, **CONFLICT},
        summary="Change a customer (fields given replace; add_/remove_ lists change phones, emails, tags)",
    )
    def patch(
        request: Request,
        body: CustomerPatch,
        customer_id: int = CustomerId,
        user: Principal = Depends(api_user("write")),
    ) -> dict[str, Any]:
        web = state(request)
        fields = body.model_dump(exclude_unset=True)
        with web.unit(user) as uow:
            customer = update_customer(uow, customer_id, **fields)
            return _customer_json(web, customer)

    @r.put(
        "/customers/{customer_id}/assignment",
        tags=["customers"],
        responses=NOT_FOUND,
        summary='Give a customer to a user and/or a team (record rules; "" clears, absent keeps)',
    )
    def assign(
        request: Request,
        body: AssignmentIn,
        customer_id: int = CustomerId,
        user: Principal = Depends(api_user("write")),
    ) -> dict[str, Any]:
        web = state(request)
        with web.unit(user) as uow:
            customer = assign_customer(uow, customer_id, user=body.user, team=body.team)
            return _customer_json(web, customer)

    @r.get(
        "/customers/{customer_id}/interactions",
        tags=["interactions"],
        responses={**NOT_FOUND, **PAGED},
        summary="A customer's interactions, newest first",
    )
    def interactions(
        request: Request,
        response: Response,
        customer_id: int = CustomerId,
        kind: Optional[str] = Query(None, max_length=40),
        limit: int = Query(50, ge=1, le=500),
        cursor: Optional[str] = CURSOR,
        user: Principal = Depends(api_user("read")),
    ) -> list[dict[str, Any]]:
        web = state(request)
        scope = f"interactions/{customer_id}?kind={kind or ''}"
        key = decode_cursor(web, scope, cursor)
        with web.unit(user, readonly=True) as uow:
            customer = get_customer(uow.session, customer_id)
            check_customer(uow, customer, "read")
            found = list_interactions(
                uow.session,
                customer.id,
                kind=kind,
                limit=limit + 1,
                after=tuple(key) if key else None,
            )
            page, next_key = page_of_list(found, limit, None, lambda i: (i.occurred_at, i.id))
            response.headers.update(next_link(request, web, scope, next_key))
            return [
                interaction_to_dict(i, calendar=web.crm.calendar, tz=web.crm.timezone) for i in page
            ]

    @r.post(
        "/customers/{customer_id}/interactions",
        tags=["interactions"],
        status_code=201,
        responses={**NOT_FOUND, **CONFLICT},
        summary="Record a purchase, refund, call, message, visit or note",
    )
    def record(
        request: Request,
        body: InteractionIn,
        customer_id: int = CustomerId,
        user: Principal = Depends(api_user("write")),
    ) -> dict[str, Any]:
        web = state(request)
        with web.unit(user) as uow:
            customer = get_customer(uow.session, customer_id)
            check_customer(uow, customer, "write")
            interaction = record_interaction(uow, customer, **body.model_dump())
            uow.audit(
                "record",
                "interaction",
                interaction.id,
                {"kind": interaction.kind},
                customer_id=customer.id,
            )
            return interaction_to_dict(interaction)

    @r.get(
        "/reports",
        tags=["reports"],
        responses=PAGED,
        summary="The reports of the kernel and the enabled plugins",
    )
    def reports(
        request: Request,
        response: Response,
        limit: int = LIMIT,
        cursor: Optional[str] = CURSOR,
        user: Principal = Depends(api_user("read")),
    ) -> list[dict[str, Any]]:
        from ..reports import report_registry

        web = state(request)
        key = decode_cursor(web, "reports", cursor)
        with web.unit(user, readonly=True) as uow:
            found = sorted(
                (
                    {
                        "name": rep.name,
                        "title": rep.title,
                        "title_fa": rep.title_fa,
                        "description": rep.description,
                    }
                    for rep in report_registry(uow).values()
                ),
                key=lambda x: x["name"],
            )
        page, next_key = page_of_list(found, limit, key, lambda x: [x["name"]])
        response.headers.update(next_link(request, web, "reports", next_key))
        return page

    @r.get(
        "/reports/{name}",
        tags=["reports"],
        responses=NOT_FOUND,
        summary="Run a report: {report, columns, rows, totals}; amounts are exact decimal strings",
    )
    def report(
        request: Request,
        name: str = Path(max_length=100),
        start: Optional[str] = Query(None, alias="from", max_length=20, pattern=DATE),
        end: Optional[str] = Query(None, alias="to", max_length=20, pattern=DATE),
        period: Literal["day", "week", "month", "jalali_month", "year", "jalali_year"] = "month",
        calendar: Literal["gregorian", "jalali"] = "gregorian",
        option: list[str] = Query(
            [],
            max_length=20,
            description="report-specific NAME=VALUE",
            json_schema_extra={"items": {"type": "string", "pattern": r"^[^=]*\S[^=]*="}},
        ),
        user: Principal = Depends(api_user("read")),
    ) -> dict[str, Any]:
        from .reports_view import run_named

        web = state(request)
        return run_named(web, user, name, start, end, period, calendar, option)

    @r.get(
        "/plugins",
        tags=["account"],
        responses=PAGED,
        summary="Enabled plugins and what they add to the web interface",
    )
    def plugins(
        request: Request,
        response: Response,
        limit: int = LIMIT,
        cursor: Optional[str] = CURSOR,
        user: Principal = Depends(api_user("read")),
    ) -> list[dict[str, Any]]:
        web = state(request)
        key = decode_cursor(web, "plugins", cursor)
        c = web.contributions
        manifests = web.crm.plugins.manifests
        page, next_key = page_of_list(sorted(web.plugin_names()), limit, key, lambda n: [n])
        response.headers.update(next_link(request, web, "plugins", next_key))
        return [
            {
                "name": n,
                "version": manifests[n].version if n in manifests else None,
                "level": user.level_for(n),
                "routes": [
                    f"{'/api/p' if rt.kind == 'api' else '/p'}/{p}{rt.path}"
                    for p, rt in c.routes
                    if p == n
                ],
                "boards": [f"/boards/{p}/{k}" for (p, k) in c.boards if p == n],
                "panels": [s for s, (p, _) in c.panels.items() if p == n],
            }
            for n in page
        ]

    # --- tokens -----------------------------------------------------------------------------------
    @r.get("/tokens", tags=["account"], responses=PAGED, summary="The caller's API tokens")
    def tokens(
        request: Request,
        response: Response,
        limit: int = LIMIT,
        cursor: Optional[str] = CURSOR,
        user: Principal = Depends(api_user("read")),
    ) -> list[dict[str, Any]]:
        from .models import ApiToken
        from .users import token_to_dict

        web = state(request)
        key = decode_cursor(web, "tokens", cursor)
        with web.unit(user, readonly=True) as uow:
            rows, next_key = page_of_query(
                uow.session,
                select(ApiToken).where(ApiToken.user_id == user.user_id),
                [(ApiToken.id, False)],
                limit,
                key,
                lambda t: [t.id],
            )
            response.headers.update(next_link(request, web, "tokens", next_key))
            return [token_to_dict(t, uow.now()) for t in rows]

    @r.post(
        "/tokens",
        tags=["account"],
        status_code=201,
        responses=CONFLICT,
        summary="Create an API token for the caller (the secret is returned once); needs a "
        "login or an admin-level token",
    )
    def new_token(
        request: Request, body: TokenIn, user: Principal = Depends(token_manager)
    ) -> dict[str, Any]:
        from .users import create_token, parse_lifetime, rank, token_to_dict

        web = state(request)
        level = body.level or user.level
        if rank(level) > rank(user.level):
            raise WebError(
                403,
                f"a token cannot exceed the level of the credentials creating it ({user.level})",
                field="level",
            )
        with web.unit(user) as uow:
            token, secret = create_token(
                uow, user.username, body.name, level=level, expires=parse_lifetime(body.expires)
            )
            return {**token_to_dict(token, uow.now()), "token": secret}

    @r.delete(
        "/tokens/{name}",
        tags=["account"],
        status_code=204,
        responses=NOT_FOUND,
        summary="Revoke one of the caller's tokens; needs a login or an admin-level token",
    )
    def delete_token(
        request: Request, name: str = Path(max_length=100), user: Principal = Depends(token_manager)
    ):
        from .users import revoke_token

        web = state(request)
        with web.unit(user) as uow:
            revoke_token(uow, user.username, name)
        return Response(status_code=204)

    # --- users (admins) ---------------------------------------------------------------------------
    @r.get("/users", tags=["users"], responses=PAGED, summary="Every user (admins)")
    def users(
        request: Request,
        response: Response,
        limit: int = LIMIT,
        cursor: Optional[str] = CURSOR,
        user: Principal = Depends(api_user("admin")),
    ) -> list[dict[str, Any]]:
        from .models import WebUser
        from .users import user_to_dict

        web = state(request)
        key = decode_cursor(web, "users", cursor)
        with web.unit(user, readonly=True) as uow:
            rows, next_key = page_of_query(
                uow.session,
                select(WebUser),
                [(WebUser.username, False)],
                limit,
                key,
                lambda u: [u.username],
            )
            response.headers.update(next_link(request, web, "users", next_key))
            return [user_to_dict(u) for u in rows]

    @r.post(
        "/users", tags=["users"], status_code=201, responses=CONFLICT, summary="Add a user (admins)"
    )
    def add(
        request: Request, body: UserIn, user: Principal = Depends(api_user("admin"))
    ) -> dict[str, Any]:
        from .users import add_user, user_to_dict

        web = state(request)
        with web.unit(user) as uow:
            return user_to_dict(
                add_user(
                    uow,
                    body.username,
                    body.password,
                    body.role,
                    display_name=body.display_name,
                    extension=body.extension,
                    locale=body.locale,
                    email=body.email,
                    phone=body.phone,
                    notify=body.notify,
                )
            )

    @r.patch(
        "/users/{username}",
        tags=["users"],
        responses={**NOT_FOUND, **CONFLICT},
        summary="Change a user's role, state, extension or per-plugin permissions (admins)",
    )
    def change(
        request: Request,
        body: UserPatch,
        username: str = Path(max_length=60),
        user: Principal = Depends(api_user("admin")),
    ) -> dict[str, Any]:
        from .users import set_permission, update_user, user_to_dict

        web = state(request)
        with web.unit(user) as uow:
            changed = update_user(
                uow,
                username,
                role=body.role,
                active=body.active,
                display_name=body.display_name,
                extension=body.extension,
                locale=body.locale,
                email=body.email,
                phone=body.phone,
                notify=body.notify,
            )
            for plugin, level in body.permissions.items():
                changed = set_permission(uow, username, plugin, level)
            return user_to_dict(changed)

    return r
