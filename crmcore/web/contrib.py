"""What plugins give the web interface through the hooks of :mod:`crmcore.hooks.web`, and the context their
endpoints receive. Cheap to import (no web framework): plugins import these from ``crmcore.web.contrib``."""

from __future__ import annotations

from typing import Any, Callable

import attrs

LEVELS = ("none", "read", "write", "manage", "admin")
ACCESS = ("read", "write", "manage", "admin")


def _access(_instance, attribute, value):
    if value not in ACCESS:
        raise ValueError(f"{attribute.name} must be one of {', '.join(ACCESS)}, not {value!r}")


def _path(_instance, attribute, value):
    if not value.startswith("/"):
        raise ValueError(f"{attribute.name} must start with '/', not {value!r}")


@attrs.frozen
class WebRoute:
    """A JSON API route (``kind="api"``, at ``/api/p/<plugin><path>``) or an HTML page (``kind="page"``, at
    ``/p/<plugin><path>``). ``endpoint(ctx: WebContext)`` returns a JSON-ready value or ``ctx.render(...)``.
    Path parameters use Starlette syntax (``/deals/{deal_id:int}``) and arrive in
    ``ctx.path_params``. ``paged=True`` (a GET api route returning a list): the endpoint returns
    ``ctx.page(select, order)`` and the kernel takes ``?limit=`` and ``?cursor=`` and sends the next
    page's ``Link``, as on its own lists. ``public=True``: served without a login, for people who
    are not users (a customer answering a survey, a visitor checking a draw); ``access`` is then
    ignored, ``ctx.user`` is ``None`` unless someone logged in opens it, unsafe methods need no
    CSRF token and are rate-limited per address (``CRM_WEB_LEAD_RATE``): the endpoint authenticates
    its caller itself, e.g. by an unguessable token in the path."""

    path: str = attrs.field(validator=_path)
    endpoint: Callable[["WebContext"], Any]
    kind: str = attrs.field(default="api", validator=attrs.validators.in_(("api", "page")))
    methods: tuple[str, ...] = ("GET",)
    access: str = attrs.field(default="read", validator=_access)
    summary: str | None = None
    paged: bool = False
    public: bool = False


@attrs.frozen
class WebMount:
    """An ASGI application mounted at ``/hooks/<plugin><path>``: ``app``, or ``factory(crm)`` building it for the
    served :class:`crmcore.app.CRM`. ``public=True``: no login (the app verifies its callers itself, e.g. signed
    webhooks); otherwise a session or API token with ``access`` to the plugin is required."""

    path: str = attrs.field(validator=_path)
    app: Any = None
    factory: Callable[[Any], Any] | None = None
    public: bool = False
    access: str = attrs.field(default="write", validator=_access)

    def __attrs_post_init__(self):
        if (self.app is None) == (self.factory is None):
            raise ValueError("give a WebMount either app or factory")

    def build(self, crm) -> Any:
        return self.app if self.app is not None else self.factory(crm)


@attrs.frozen
class WebPanel:
    """A template replacing the generic rendering of the profile section ``section`` on the customer page."""

    section: str
    template: str  # "package:path/inside/package.html"


@attrs.frozen
class MenuItem:
    label: str
    href: str
    label_fa: str | None = None
    access: str = attrs.field(default="read", validator=_access)


@attrs.frozen
class BoardCard:
    id: str
    title: str
    subtitle: str | None = None
    customer_id: int | None = None
    #: a short figure: an amount (``Money``), a priority, a due date (``date``); shown by the
    #: formatting layer
    badge: Any = None
    #: the card's own page (``/p/pipeline/deals/7``), linked from its title
    href: str | None = None


@attrs.frozen
class BoardColumn:
    key: str
    title: str
    cards: list[BoardCard] = attrs.field(factory=list)
    title_fa: str | None = None
    #: e.g. the column's total: text, a ``Money`` or a list of them (one per currency)
    summary: Any = None


@attrs.frozen
class BoardData:
    columns: list[BoardColumn]
    title: str | None = None


@attrs.frozen
class WebBoard:
    """Cards in columns; ``load(uow, params)`` reads them, ``move(uow, card_id, column)`` moves one."""

    key: str
    title: str
    load: Callable[[Any, dict[str, str]], BoardData]
    move: Callable[[Any, str, str], Any]
    title_fa: str | None = None


@attrs.define
class WebContext:
    """What a plugin endpoint receives: the request, the user, the unit of work acting as the user."""

    request: Any
    user: Any  # crmcore.web.auth.Principal
    uow: Any
    plugin: str
    path_params: dict[str, Any]
    query: dict[str, str]
    body: Any = None  # parsed JSON (api routes) or form fields (page routes) of unsafe methods
    lang: str = "fa"
    renderer: Callable[..., Any] | None = None
    #: paged routes: the page size, the key of the last item already served, and the next page's key
    limit: int = 100
    after: list[Any] | None = None
    next_key: list[Any] | None = None
    #: ``url_after(key)``: this list's URL for the page after ``key`` (set by the kernel)
    url_after: Callable[[list[Any] | None], str | None] | None = None

    def page(self, stmt, order: list[tuple[Any, bool]]) -> list[Any]:
        """One page of ``stmt`` (a select of ORM rows) in ``order``: ``(column, descending)`` pairs,
        the last unique (e.g. ``[(Deal.created_at, True), (Deal.id, True)]``); for ``paged``
        routes."""
        from .paging import page_of_query

        rows, self.next_key = page_of_query(
            self.uow.session,
            stmt,
            order,
            self.limit,
            self.after,
            lambda row: [getattr(row, c.key) for c, _d in order],
        )
        return rows

    def next_page_url(self) -> str | None:
        """After :meth:`page`: the URL of the next page (for a paged page route's "more" link),
        ``None`` on the last page."""
        return self.url_after(self.next_key) if self.url_after and self.next_key else None

    def render(self, template: str, title: str = "", **variables: Any):
        """An HTML page: ``template`` (``"package:path.html"``) inside the site layout, auto-escaped."""
        assert self.renderer is not None
        return self.renderer(template, title=title, **variables)


@attrs.frozen
class SegmentField:
    """A value a segment action asks for: free text, or one of
    ``options(uow) -> [(value, label)]``."""

    name: str
    label: str
    label_fa: str | None = None
    options: Callable[[Any], list[tuple[str, str]]] | None = None
    required: bool = True


@attrs.frozen
class SegmentAction:
    """An action on the customers a segment's ``--where`` clauses select (see
    ``crm_web_segment_actions``)."""

    key: str
    label: str
    run: Callable[[Any, list[str], dict[str, str]], str]
    label_fa: str | None = None
    fields: tuple[SegmentField, ...] = ()
    access: str = attrs.field(default="write", validator=_access)


@attrs.frozen
class PhoneAction:
    """A button beside each phone number of a customer (the customer page): a form posting
    ``customer_id`` and ``phone`` (E.164) with the session's CSRF token to the plugin's page route
    ``/p/<plugin><path>``; shown to users whose level for the plugin reaches ``access``, and only
    while ``available(crm)`` says so (e.g. a telephony adapter is configured)."""

    key: str
    label: str
    path: str = attrs.field(validator=_path)
    label_fa: str | None = None
    access: str = attrs.field(default="write", validator=_access)
    available: Callable[[Any], bool] | None = None
