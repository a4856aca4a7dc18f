"""The managed lists people extend: lead sources and won/lost reasons (retire instead of delete)."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.api import Conflict, ValidationError

from .catalog import ensure_defaults
from .models import CloseReason, LeadSource
from .values import parse_code, parse_name

REASON_KINDS = ("won", "lost")


def add_source(uow, code: str, name: str, *, name_en: str | None = None) -> LeadSource:
    ensure_defaults(uow)
    code = parse_code(code)
    if uow.session.scalar(select(LeadSource.id).where(LeadSource.code == code)) is not None:
        raise Conflict(f"a lead source {code!r} already exists", field="code")
    source = LeadSource(
        code=code, name=parse_name(name), name_en=(name_en or "").strip() or None, active=True
    )
    uow.session.add(source)
    uow.session.flush()
    uow.audit("create", "pipeline_source", source.id, {"code": code})
    return source


def list_sources(uow) -> list[LeadSource]:
    ensure_defaults(uow)
    return list(uow.session.scalars(select(LeadSource).order_by(LeadSource.id)))


def add_reason(uow, kind: str, code: str, name: str, *, name_en: str | None = None) -> CloseReason:
    ensure_defaults(uow)
    if kind not in REASON_KINDS:
        raise ValidationError(f"{kind!r} is not a reason kind (won or lost)", field="kind")
    code = parse_code(code)
    if uow.session.scalar(
        select(CloseReason.id).where(CloseReason.kind == kind, CloseReason.code == code)
    ):
        raise Conflict(f"a {kind} reason {code!r} already exists", field="code")
    reason = CloseReason(
        kind=kind,
        code=code,
        name=parse_name(name),
        name_en=(name_en or "").strip() or None,
        active=True,
    )
    uow.session.add(reason)
    uow.session.flush()
    uow.audit("create", "pipeline_reason", reason.id, {"kind": kind, "code": code})
    return reason


def list_reasons(uow, kind: str | None = None) -> list[CloseReason]:
    ensure_defaults(uow)
    q = select(CloseReason).order_by(CloseReason.kind, CloseReason.id)
    if kind:
        q = q.where(CloseReason.kind == kind)
    return list(uow.session.scalars(q))
