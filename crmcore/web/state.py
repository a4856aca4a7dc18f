"""What every request handler shares: the CRM, the settings, the plugins' contributions, the templates, the
rate limiter and the signing key; and the helpers to authenticate a caller and open their unit of work."""

from __future__ import annotations

import logging
import secrets
import time
from contextlib import contextmanager
from typing import Any, Iterator

import attrs
from sqlalchemy import select

from ..errors import PluginHookError
from ..formatting import Formatter, money_unit_of
from .auth import Principal, bearer_of, principal_from, session_cookie_name
from .contrib import MenuItem, PhoneAction, SegmentAction, WebBoard, WebMount, WebPanel, WebRoute
from .i18n import LANGUAGES, translate
from .render import make_environment
from .settings import WebSettings
from .throttle import HashGate

log = logging.getLogger("crmcore.web")

LANG_COOKIE = "crm_lang"
MONEY_UNIT_TTL = 10.0  # seconds a changed money unit may take to reach the pages


@attrs.define
class Contributions:
    """Everything plugins added, each with the plugin it came from."""

    routes: list[tuple[str, WebRoute]] = attrs.field(factory=list)
    mounts: list[tuple[str, WebMount]] = attrs.field(factory=list)
    panels: dict[str, tuple[str, WebPanel]] = attrs.field(factory=dict)
    menu: list[tuple[str, MenuItem]] = attrs.field(factory=list)
    boards: dict[tuple[str, str], WebBoard] = attrs.field(factory=dict)
    segment_actions: list[tuple[str, SegmentAction]] = attrs.field(factory=list)
    phone_actions: list[tuple[str, PhoneAction]] = attrs.field(factory=list)

    @classmethod
    def collect(cls, pm) -> "Contributions":
        found = cls()
        for hook_name in (
            "crm_web_routes",
            "crm_web_panels",
            "crm_web_menu",
            "crm_web_boards",
            "crm_web_segment_actions",
            "crm_web_phone_actions",
        ):
            for impl in getattr(pm.hook, hook_name).get_hookimpls():
                plugin = impl.plugin_name
                try:
                    items = list(impl.function() or ())
                except Exception as exc:  # noqa: BLE001 - name the plugin, as the kernel does
                    raise PluginHookError(plugin, hook_name, exc) from exc
                for item in items:
                    found._add(plugin, hook_name, item)
        return found

    def _add(self, plugin: str, hook_name: str, item: Any) -> None:
        expected = {
            "crm_web_routes": (WebRoute, WebMount),
            "crm_web_panels": (WebPanel,),
            "crm_web_menu": (MenuItem,),
            "crm_web_boards": (WebBoard,),
            "crm_web_segment_actions": (SegmentAction,),
            "crm_web_phone_actions": (PhoneAction,),
        }[hook_name]
        if not isinstance(item, expected):
            raise PluginHookError(
                plugin,
                hook_name,
                TypeError(
                    f"returned {type(item).__name__}; expected {' or '.join(t.__name__ for t in expected)}"
                ),
            )
        if isinstance(item, WebRoute):
            self.routes.append((plugin, item))
        elif isinstance(item, WebMount):
            self.mounts.append((plugin, item))
        elif isinstance(item, WebPanel):
            if item.section in self.panels:
                raise PluginHookError(
                    plugin,
                    hook_name,
                    ValueError(
                        f"the panel of section {item.section!r} is already given by {self.panels[item.section][0]!r}"
                    ),
                )
            self.panels[item.section] = (plugin, item)
        elif isinstance(item, MenuItem):
            self.menu.append((plugin, item))
        elif isinstance(item, SegmentAction):
            self.segment_actions.append((plugin, item))
        elif isinstance(item, PhoneAction):
            self.phone_actions.append((plugin, item))
        else:
            if (plugin, item.key) in self.boards:
                raise PluginHookError(
                    plugin, hook_name, ValueError(f"two boards named {item.key!r}")
                )
            self.boards[(plugin, item.key)] = item


class WebState:
    def __init__(self, crm, settings: WebSettings):
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.crm = crm
        self.settings = settings
        self.contributions = Contributions.collect(crm.plugins.pm)
        self.templates = make_environment()
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.hashing = HashGate(settings.hash_concurrency, settings.hash_wait)
        self.cookie_name = session_cookie_name(settings.secure_cookies)
        self._secret: str | None = settings.secret
        self._money_unit: tuple[str, float] | None = None

    # --- secrets and signing ------------------------------------------------------------------------
    @property
    def secret(self) -> str:
        """``CRM_WEB_SECRET``, else a random key created once and kept in ``crm_settings`` (web/secret)."""
        if self._secret is None:
            from ..storage.models import Setting

            with self.crm.unit_of_work(actor="crm web") as uow:
                row = uow.session.get(Setting, ("web", "secret"))
                if row is None:
                    row = Setting(namespace="web", key="secret", value=secrets.token_urlsafe(48))
                    uow.session.add(row)
                self._secret = str(row.value)
        return self._secret

    def serializer(self, purpose: str):
        from itsdangerous import URLSafeTimedSerializer

        return URLSafeTimedSerializer(self.secret, salt=f"crmcore.web.{purpose}")

    # --- rate limits ----------------------------------------------------------------------------------
    def allow(self, rates: str, *keys: str) -> bool:
        """Count one attempt against every limit of ``rates`` (``"5/minute;30/day"``); False when over."""
        from limits import parse_many

        limits = parse_many(rates)
        if not all(self.limiter.test(limit, *keys) for limit in limits):
            return False
        for limit in limits:
            self.limiter.hit(limit, *keys)
        return True

    # --- callers --------------------------------------------------------------------------------------
    def authenticate(self, headers, cookies) -> Principal | None:
        bearer = bearer_of(headers)
        cookie = cookies.get(self.cookie_name)
        if not bearer and not cookie:
            return None
        with self.crm.unit_of_work(readonly=True) as uow:
            principal = principal_from(uow.session, bearer=bearer, cookie=cookie, now=uow.now())
        if principal is not None and principal.token_id is not None:
            from .models import ApiToken

            with self.crm.unit_of_work(actor=principal.actor) as uow:
                token = uow.session.get(ApiToken, principal.token_id)
                if token is not None:
                    token.last_used_at = uow.now()
        return principal

    @contextmanager
    def unit(
        self, principal: Principal | None, *, readonly: bool = False, actor: str | None = None
    ) -> Iterator[Any]:
        who = actor or (principal.actor if principal else "web")
        with self.crm.unit_of_work(actor=who, readonly=readonly) as uow:
            if principal is not None:
                from ..services.access import Viewer

                uow.viewer = Viewer(principal.user_id, principal.username, principal.role)
            yield uow

    # --- language and menu ----------------------------------------------------------------------------
    def language(self, request, principal: Principal | None = None) -> str:
        chosen = request.cookies.get(LANG_COOKIE)
        if chosen in LANGUAGES:
            return chosen
        if principal is not None and principal.locale in LANGUAGES:
            return principal.locale
        return self.settings.locale

    def formatter(self, lang: str) -> Formatter:
        """How values are shown to a reader in ``lang``: its calendar, the server's zone, the
        business's money unit (read from the settings at most every :data:`MONEY_UNIT_TTL`
        seconds)."""
        now = time.monotonic()
        if self._money_unit is None or now - self._money_unit[1] > MONEY_UNIT_TTL:
            try:
                with self.crm.unit_of_work(readonly=True) as uow:
                    unit = money_unit_of(uow)
            except Exception:  # noqa: BLE001 - a page is still worth showing in rials
                log.exception("the money unit setting could not be read")
                unit = "rial"
            self._money_unit = (unit, now)
        return Formatter.for_language(lang, tz=self.crm.timezone, money_unit=self._money_unit[0])

    def menu(self, principal: Principal | None, lang: str) -> list[dict[str, Any]]:
        """The navigation: the kernel's pages, then one entry per plugin (its boards and pages; a
        plugin with several is a group opening on hover, focus or tap), then the rarer pages
        grouped under "More". On a phone every link sits in the bar that scrolls sideways."""
        if principal is None:
            return []

        def link(href: str, label: str) -> dict[str, Any]:
            return {"href": href, "label": translate(label, lang)}

        items: list[dict[str, Any]] = [
            link("/", "Dashboard"),
            link("/customers", "Customers"),
            link("/reports", "Reports"),
            link("/calls", "Calls"),
        ]
        by_plugin: dict[str, list[dict[str, Any]]] = {}
        for (plugin, key), board in sorted(self.contributions.boards.items()):
            if principal.can("read", plugin):
                title = board.title_fa if lang == "fa" and board.title_fa else board.title
                by_plugin.setdefault(plugin, []).append(link(f"/boards/{plugin}/{key}", title))
        for plugin, item in self.contributions.menu:
            if principal.can(item.access, plugin):
                by_plugin.setdefault(plugin, []).append(
                    link(item.href, item.label_fa if lang == "fa" and item.label_fa else item.label)
                )
        for links in by_plugin.values():
            items.append(
                links[0] if len(links) == 1 else {"label": links[0]["label"], "children": links}
            )
        more = []
        if principal.can("write"):
            more.append(link("/leads", "Pending leads"))
        if principal.can("manage"):
            more.append(link("/audit", "Audit log"))
        if principal.can("admin"):
            more.append(link("/admin/users", "Users"))
        more.append(link("/account", "Account"))
        items.append({"label": translate("More", lang), "children": more})
        return items

    def plugin_names(self) -> list[str]:
        return list(self.crm.plugins.enabled)

    def known_users(self) -> int:
        from .models import WebUser

        with self.crm.unit_of_work(readonly=True) as uow:
            return len(list(uow.session.scalars(select(WebUser.id).limit(1))))
