"""Form fields that fit Iran: a phone number is parsed by the kernel
(:func:`crmcore.domain.phones.parse_phone`) and shown beside the field as it will be stored, both
when the page is drawn and as the user types (``/api/phone``); dates get the Jalali picker on
Persian pages (``app.js``); amounts are grouped as typed and read back exactly by
:func:`crmcore.domain.money.parse_money`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from ..domain.phones import parse_phone
from ..errors import ValidationError
from .auth import Principal
from .deps import api_user, state
from .i18n import translate

KINDS_FA = {"mobile": "همراه", "landline": "ثابت", "other": "سایر"}


def phone_preview(raw: str | None, lang: str) -> dict[str, Any]:
    """What a typed phone number becomes: ``{"ok", "text", "e164"}``; ``text`` is shown beside the
    field."""
    raw = (raw or "").strip()[:40]
    if not raw:
        return {"ok": None, "text": "", "e164": None}
    try:
        phone = parse_phone(raw)
    except ValidationError as exc:
        return {
            "ok": False,
            "text": translate("Not a phone number", lang) if lang == "fa" else exc.message,
            "e164": None,
        }
    national = phone.national() if phone.e164.startswith("+98") else phone.e164
    kind = KINDS_FA.get(phone.kind, phone.kind) if lang == "fa" else phone.kind
    if lang == "fa":
        from ..domain.text import to_persian_digits

        national = to_persian_digits(national)
    return {"ok": True, "text": f"{national} · {kind}", "e164": phone.e164}


def build_router() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/api/phone")
    def phone(request: Request, number: str = "", user: Principal = Depends(api_user())):
        """How ``number`` would be stored (the customer forms' preview)."""
        return phone_preview(number, state(request).language(request, user))

    return r
