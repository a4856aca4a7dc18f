"""The screen pop: who is calling, with the customer's profile summary gathered through the kernel's
``crm_customer_profile`` hook (tier, open tickets… from whichever plugins are installed), or a suggestion to
add an unknown caller. It is the payload of the ``voip_incoming_call`` outbox event and what
``crm voip listen`` prints."""

from __future__ import annotations

import logging
from typing import Any

from crmcore.api import format_date, format_money, list_interactions

from .models import Call

log = logging.getLogger("crmcore_voip")

try:  # the kernel exports it since 0.1; fall back to the hook itself otherwise
    from crmcore.api import profile_sections as _profile_sections
except ImportError:  # pragma: no cover - older kernels
    _profile_sections = None


def gather_profile(uow, customer) -> dict[str, Any]:
    """``{section key: data}`` from every plugin's profile hook. A failing plugin costs its section, never
    the pop: the hook runs in a savepoint and the failure is logged."""
    try:
        with uow.session.begin_nested():
            if _profile_sections is not None:
                sections = _profile_sections(uow, customer)
            else:  # pragma: no cover
                sections = [
                    s for s in uow.call("crm_customer_profile", customer=customer) if s is not None
                ]
    except Exception as exc:  # noqa: BLE001 - a broken plugin must not hide who is calling
        log.warning("screen pop for customer %s without profile sections: %s", customer.id, exc)
        return {}
    # each panel's machine form: its data, or what its components hold
    return {s.key: s.json() for s in sections}


def _pick(data: Any, *names: str) -> Any:
    if not isinstance(data, dict):
        return None
    for n in names:
        if data.get(n) not in (None, ""):
            value = data[n]
            if isinstance(value, dict):
                value = value.get("name") or value.get("key") or value.get("title")
            return value
    return None


def summarise(sections: dict[str, Any]) -> dict[str, Any]:
    """The few facts an agent reads before answering, taken from whichever sections exist."""
    summary: dict[str, Any] = {}
    for key in ("tiers", "tier"):
        tier = _pick(sections.get(key), "tier", "current_tier", "current", "name")
        if tier is not None:
            summary["tier"] = tier
            break
    tickets = sections.get("tickets")
    if isinstance(tickets, dict):
        open_ = _pick(tickets, "open", "open_count", "open_tickets")
        if isinstance(open_, list):
            open_ = len(open_)
        if open_ is not None:
            summary["open_tickets"] = open_
    loyalty = sections.get("loyalty")
    points = _pick(loyalty, "balance", "points")
    if points is not None:
        summary["points"] = points
    return summary


def build_screen_pop(uow, call: Call, customer, others: list | None = None) -> dict[str, Any]:
    """The JSON-ready pop of ``call`` (see the module doc)."""
    pop: dict[str, Any] = {
        "call_id": call.id,
        "call_key": call.call_key,
        "source": call.source,
        "direction": call.direction,
        "extension": call.extension,
        "caller": call.caller if call.direction == "in" else call.callee,
        "number": call.party_e164,
        "number_kind": call.party_kind,
        "at": call.started_at.isoformat(),
        "customer": None,
        "summary": {},
        "sections": {},
        "other_matches": [],
        "suggestion": None,
    }
    if customer is not None:
        pop["customer"] = {
            "id": customer.id,
            "name": customer.display_name,
            "kind": customer.kind,
            "city": customer.city,
            "tags": [t.tag for t in customer.tags],
        }
        sections = gather_profile(uow, customer)
        pop["sections"] = sections
        summary = summarise(sections)
        last = list_interactions(uow.session, customer.id, kind="purchase", limit=1)
        if last:
            p = last[0]
            summary["last_purchase"] = {
                "at": p.occurred_at.isoformat(),
                "amount": str(p.money.amount) if p.money else None,
                "currency": p.currency,
            }
        pop["summary"] = summary
        pop["other_matches"] = [{"id": c.id, "name": c.display_name} for c in (others or [])]
    elif call.party_e164:
        pop["suggestion"] = unknown_caller_suggestion(uow, call.party_e164)
    return pop


def unknown_caller_suggestion(uow, e164: str) -> dict[str, Any]:
    """What to do with a number no customer has: open a lead when the pipeline plugin is there, else add a
    customer (the call joins their history as soon as a customer with this number exists)."""
    if uow.has_plugin("pipeline"):
        return {
            "action": "create_lead",
            "phone": e164,
            "hint": "unknown caller: open a lead for this number (crm pipeline …), or add a customer",
            "command": f"crm customers add --name NAME --phone {e164}",
        }
    return {
        "action": "create_customer",
        "phone": e164,
        "hint": "unknown caller: add them as a customer; this call is then added to their history",
        "command": f"crm customers add --name NAME --phone {e164}",
    }


def pop_line(pop: dict[str, Any], *, calendar: str = "gregorian", tz: str = "Asia/Tehran") -> str:
    """One line per pop, as ``crm voip listen`` prints it."""
    from datetime import datetime

    from crmcore.api import Money

    at = datetime.fromisoformat(pop["at"])
    head = f"{format_date(at, calendar, tz=tz)} {at.astimezone(_zone(tz)):%H:%M:%S}"
    where = f" → {pop['extension']}" if pop.get("extension") else ""
    number = pop.get("number") or pop.get("caller") or pop.get("number_kind")
    arrow = "incoming" if pop.get("direction") == "in" else "outgoing"
    parts = [f"{head} {arrow} {number}{where}"]
    c = pop.get("customer")
    if c:
        parts.append(f"{c['name']} (#{c['id']})")
        s = pop.get("summary") or {}
        if "tier" in s:
            parts.append(f"tier: {s['tier']}")
        if "points" in s:
            parts.append(f"points: {s['points']}")
        if "open_tickets" in s:
            parts.append(f"open tickets: {s['open_tickets']}")
        lp = s.get("last_purchase")
        if lp:
            when = format_date(datetime.fromisoformat(lp["at"]), calendar, tz=tz)
            amount = ""
            if lp.get("amount") is not None:
                amount = " " + format_money(Money.of(lp["amount"], lp["currency"] or "IRR"))
            parts.append(f"last purchase: {when}{amount}")
        if pop.get("other_matches"):
            parts.append(f"also {len(pop['other_matches'])} other customer(s) with this number")
    elif pop.get("suggestion"):
        parts.append(f"unknown caller — {pop['suggestion']['command']}")
    else:
        parts.append(f"no number ({pop.get('number_kind')})")
    return " · ".join(parts)


def _zone(tz: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)
