"""The customer 360° page's header, unified timeline and quick actions, gathered from the kernel
and every plugin through ``crm_customer_summary``, ``crm_customer_timeline`` and
``crm_customer_actions`` (the kernel's own parts are hook implementations of the plugin
``kernel``). Each plugin's contribution is taken on its own: one that raises, or returns something
that is not a component the hook expects, is left out and named in ``failed`` (logged with its
name), never costing the page."""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timezone
from typing import Any, Callable, Iterator

import attrs
from sqlalchemy import func, select

from .. import ui
from ..domain.money import Money
from ..storage.models import Interaction

log = logging.getLogger("crmcore.profile")

KERNEL = "kernel"
#: how many timeline entries one page shows
TIMELINE_PAGE = 20
L = ui.Label


def _each(
    uow, hook: str, kwargs: dict[str, Any], may_read: Callable[[str], bool]
) -> Iterator[tuple[str, Any, str | None]]:
    """``(plugin, result, error)`` of every implementation of ``hook`` the viewer may read, each
    in its own savepoint."""
    for impl in getattr(uow.plugins.hook, hook).get_hookimpls():
        plugin = impl.plugin_name
        if plugin != KERNEL and not may_read(plugin):
            continue
        try:
            with uow.session.begin_nested():
                result = impl.function(*[kwargs[a] for a in impl.argnames])
        except Exception as exc:  # noqa: BLE001 - one broken plugin must not hide the customer
            log.exception(
                "%s of plugin %r failed for customer %s", hook, plugin, kwargs["customer"].id
            )
            yield plugin, None, f"{type(exc).__name__}: {exc}"[:300]
            continue
        yield plugin, result, None


def _kernel_last(plugin: str) -> int:
    return 1 if plugin == KERNEL else 0


def _checked(plugin: str, hook: str, result: Any, allowed: tuple[type, ...]) -> list:
    if result is None:
        return []
    items = list(result) if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if not isinstance(item, allowed):
            raise ui.ComponentError(
                f"{hook} of plugin {plugin!r} returned {type(item).__name__}, not "
                + " or ".join(f"crmcore.ui.{t.__name__}" for t in allowed)
            )
    return items


# --- the header -----------------------------------------------------------------------------
@attrs.frozen
class Contributed:
    """What one plugin gave one of the hooks (its components), or the error that left it out."""

    plugin: str
    items: tuple[Any, ...] = ()
    error: str | None = None


def summary(
    uow, customer, may_read: Callable[[str], bool] = lambda plugin: True
) -> list[Contributed]:
    """The header's facts (``ui.Stat`` and ``ui.Badge``), plugins' first and the kernel's last."""
    return _gather(
        uow,
        "crm_customer_summary",
        {"uow": uow, "customer": customer},
        may_read,
        (ui.Stat, ui.Badge),
    )


def actions(
    uow, customer, may_read: Callable[[str], bool] = lambda plugin: True
) -> list[Contributed]:
    """The plugins' quick actions (``ui.Action``) for the customer."""
    return _gather(
        uow, "crm_customer_actions", {"uow": uow, "customer": customer}, may_read, (ui.Action,)
    )


def _gather(uow, hook, kwargs, may_read, allowed) -> list[Contributed]:
    uow.may_read = may_read
    out = []
    for plugin, result, error in _each(uow, hook, kwargs, may_read):
        if error is None:
            try:
                out.append(Contributed(plugin, tuple(_checked(plugin, hook, result, allowed))))
            except ui.ComponentError as exc:
                log.error("%s", exc)
                out.append(Contributed(plugin, (), str(exc)))
        else:
            out.append(Contributed(plugin, (), error))
    return sorted(out, key=lambda c: (_kernel_last(c.plugin), c.plugin))


# --- the customer list's badges ---------------------------------------------------------------
def list_badges(
    uow, customer_ids: list[int], may_read: Callable[[str], bool] = lambda plugin: True
) -> dict[int, list[tuple[str, ui.Badge]]]:
    """``{customer id: [(plugin, badge)]}`` for a page of the customer list, from every plugin's
    ``crm_web_customer_badges`` the viewer may read (each in its own savepoint; one that fails or
    answers something else is logged with its name and left out)."""
    out: dict[int, list[tuple[str, ui.Badge]]] = {}
    if not customer_ids:
        return out
    hook = uow.plugins.hook.crm_web_customer_badges
    for impl in sorted(hook.get_hookimpls(), key=lambda i: i.plugin_name):
        plugin = impl.plugin_name
        if not may_read(plugin):
            continue
        try:
            with uow.session.begin_nested():
                found = (
                    impl.function(
                        *[
                            {"uow": uow, "customer_ids": list(customer_ids)}[a]
                            for a in impl.argnames
                        ]
                    )
                    or {}
                )
            if not isinstance(found, dict) or not all(
                isinstance(b, ui.Badge) for b in found.values()
            ):
                raise ui.ComponentError(
                    f"crm_web_customer_badges of plugin {plugin!r} must "
                    "answer {customer id: crmcore.ui.Badge}"
                )
        except Exception:  # noqa: BLE001 - one broken plugin must not hide the list
            log.exception("crm_web_customer_badges of plugin %r failed", plugin)
            continue
        for cid, badge in found.items():
            out.setdefault(cid, []).append((plugin, badge))
    return out


# --- the timeline ---------------------------------------------------------------------------
def moment_of(at: datetime | date) -> datetime:
    """An entry's ``at`` as an aware UTC datetime (a plain date counts from its midnight, UTC)."""
    if isinstance(at, datetime):
        return at if at.tzinfo is not None else at.replace(tzinfo=timezone.utc)
    return datetime.combine(at, time(0), timezone.utc)


@attrs.frozen
class TimelinePage:
    """One page of the unified timeline, newest first: ``entries`` as ``(plugin, entry)``;
    ``before`` the moment to ask the next page with (``None``: nothing older); ``sources`` the
    plugins that gave any entry (for the filter); ``failed`` the plugins left out."""

    entries: list[tuple[str, ui.TimelineEntry]]
    before: datetime | None
    sources: list[str]
    failed: list[str]


def timeline(
    uow,
    customer,
    *,
    before: datetime | None = None,
    limit: int = TIMELINE_PAGE,
    only: str | None = None,
    may_read: Callable[[str], bool] = lambda plugin: True,
) -> TimelinePage:
    """The customer's events before ``before`` from every source (``only``: one plugin's, or
    ``kernel`` for interactions and notes), newest first, ``limit`` of them (more when several
    happened at the very moment the page ends, so that none is skipped by the next page)."""
    uow.may_read = may_read
    kwargs = {"uow": uow, "customer": customer, "before": before, "limit": limit + 1}
    found: list[tuple[datetime, str, ui.TimelineEntry]] = []
    sources, failed = [], []
    for plugin, result, error in _each(uow, "crm_customer_timeline", kwargs, may_read):
        if only and plugin != only:
            continue
        try:
            entries = _checked(plugin, "crm_customer_timeline", result, (ui.TimelineEntry,))
        except ui.ComponentError as exc:
            log.error("%s", exc)
            error = str(exc)
        if error is not None:
            failed.append(plugin)
            continue
        if entries:
            sources.append(plugin)
        for e in entries:
            at = moment_of(e.at)
            if before is None or at < before:
                found.append((at, plugin, e))
    found.sort(key=lambda x: x[0], reverse=True)
    shown = found[:limit]
    while len(shown) < len(found) and found[len(shown)][0] == shown[-1][0]:
        shown.append(found[len(shown)])
    more = shown[-1][0] if len(found) > len(shown) else None
    return TimelinePage([(p, e) for _, p, e in shown], more, sources, failed)


# --- the kernel's own parts (hook implementations in crmcore.kernel_hooks) ------------------
def kernel_summary(uow, customer) -> list:
    from .access import assignment_of

    session = uow.session
    totals: dict[str, int] = {}
    last = None
    # one query: lifetime value per currency and the last purchase
    for currency, kind, minor, latest in session.execute(
        select(
            Interaction.currency,
            Interaction.kind,
            func.sum(Interaction.amount_minor),
            func.max(Interaction.occurred_at),
        )
        .where(
            Interaction.customer_id == customer.id,
            Interaction.kind.in_(("purchase", "refund")),
            Interaction.currency.is_not(None),
        )
        .group_by(Interaction.currency, Interaction.kind)
    ):
        sign = -1 if kind == "refund" else 1
        totals[currency] = totals.get(currency, 0) + sign * int(minor or 0)
        if kind == "purchase" and latest is not None:
            latest = moment_of(latest)
            last = latest if last is None or latest > last else last
    owner = assignment_of(session, customer)
    items: list = [
        ui.Stat(
            L("Lifetime value", "ارزش طول عمر"),
            [Money(totals[c], c) for c in sorted(totals)],
            kind="money",
            href=f"/customers/{customer.id}?only=kernel#timeline",
        ),
        ui.Stat(L("Last purchase", "آخرین خرید"), last, kind="date"),
        ui.Stat(
            L("Owner", "مسئول"),
            owner["user"] or L("unassigned", "بدون مسئول"),
            kind="text",
            hint=owner["team"],
        ),
    ]
    for channel, allowed in (
        (L("SMS", "پیامک"), customer.consent_sms),
        (L("email", "ایمیل"), customer.consent_email),
    ):
        items.append(
            ui.Badge(
                L(f"{channel.en} allowed", f"{channel.fa} مجاز")
                if allowed
                else L(f"no {channel.en}", f"بدون {channel.fa}"),
                tone="success" if allowed else "neutral",
            )
        )
    items += [ui.Badge(tag.tag, tone="info") for tag in customer.tags]
    return items


def kernel_timeline(uow, customer, before: datetime | None, limit: int) -> list:
    from .interactions import channel_label, interaction_details, kind_label

    q = select(Interaction).where(Interaction.customer_id == customer.id)
    if before is not None:
        q = q.where(Interaction.occurred_at < before)
    q = q.order_by(Interaction.occurred_at.desc(), Interaction.id.desc()).limit(limit)
    out = []
    found = list(uow.session.scalars(q))
    # what the recording plugin says (a call: answered and how long, or missed), else the text
    said = interaction_details(uow, found)
    for i in found:
        text = said.get(i.id)
        channel = channel_label(i.channel)
        detail = (str(text)[:300] if isinstance(text, str) else text) if text else channel
        tone = {"purchase": "success", "refund": "warning", "note": "info"}.get(i.kind, "neutral")
        out.append(
            ui.TimelineEntry(
                i.occurred_at,
                kind_label(i.kind),
                detail=detail,
                tone=tone,
                kind=L("interaction", "تعامل") if i.kind != "note" else L("note", "یادداشت"),
                value=i.money,
                value_kind="money" if i.money is not None else "auto",
            )
        )
    return out
