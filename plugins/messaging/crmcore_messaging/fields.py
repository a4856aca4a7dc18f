"""The per-customer fields a template sees (plain values only: the sandbox never gets ORM objects)."""

from __future__ import annotations

from typing import Any

from crmcore.api import to_local


def customer_fields(uow, customer) -> dict[str, Any]:
    tz = uow.app.timezone
    words = customer.display_name.split()
    return {
        "name": customer.display_name,
        "first_name": words[0] if words and customer.kind == "person" else customer.display_name,
        "customer_id": customer.id,
        "city": customer.city or "",
        "tags": [t.tag for t in customer.tags],
        "today": to_local(uow.now(), tz).date(),
        "birthday": customer.birthday,
        "member_since": to_local(customer.created_at, tz).date(),
    }


def customer_language(customer, settings: dict[str, Any]) -> str:
    lang = (customer.attributes or {}).get("language")
    return lang if lang in ("fa", "en") else settings["default_language"]
