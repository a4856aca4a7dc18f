"""Program versions in the database: load a file as a new version, read the active one."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any, Callable

from sqlalchemy import func, select

from crmcore.api import NotFound, ValidationError

from .models import LoyaltyProgram
from .program import DEFAULT_PROGRAM, Program, parse_toml, validate_program


def section_validators(uow) -> dict[str, Callable[[Any], Any]]:
    """``{section: validator}`` from the enabled plugins (hook ``loyalty_program_sections``)."""
    validators: dict[str, Callable[[Any], Any]] = {}
    for group in uow.app.plugins.call("loyalty_program_sections"):
        for name, validator in (group or {}).items():
            if name in ("program", "caps", "rules", "rewards") or name in validators:
                raise ValidationError(f"two owners claim the program section [{name}]", field=name)
            validators[name] = validator
    return validators


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def _from_row(uow, row: LoyaltyProgram) -> Program:
    return validate_program(parse_toml(row.source), section_validators(uow), version=row.version)


def active_program(uow) -> Program:
    """The active program (the highest loaded version), validated; an empty program before any load.

    ``program.sections[name]`` holds the validated section of another plugin (``tiers``, ``transfers``).
    """
    cached = uow.cache.get("loyalty.program")
    if cached is not None:
        return cached
    with uow.session.no_autoflush:
        row = uow.session.scalar(
            select(LoyaltyProgram).order_by(LoyaltyProgram.version.desc()).limit(1)
        )
    program = DEFAULT_PROGRAM if row is None else _from_row(uow, row)
    uow.cache["loyalty.program"] = program
    return program


def program_version(uow, version: int) -> Program:
    row = uow.session.scalar(select(LoyaltyProgram).where(LoyaltyProgram.version == version))
    if row is None:
        raise NotFound(f"no program version {version}", field="version")
    return _from_row(uow, row)


def check_program_text(uow, text: str) -> Program:
    """Validate a program file without storing it."""
    return validate_program(parse_toml(text), section_validators(uow))


def load_program(uow, text: str, *, source_name: str | None = None) -> tuple[Program, bool]:
    """Store ``text`` as the next version (validated first). Returns ``(program, created)``; loading the same
    text as the active version again changes nothing (``created`` is False)."""
    check_program_text(uow, text)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    current = uow.session.scalar(
        select(LoyaltyProgram).order_by(LoyaltyProgram.version.desc()).limit(1)
    )
    if current is not None and current.sha256 == digest:
        return _from_row(uow, current), False
    version = (uow.session.scalar(select(func.max(LoyaltyProgram.version))) or 0) + 1
    program = validate_program(parse_toml(text), section_validators(uow), version=version)
    uow.session.add(
        LoyaltyProgram(
            version=version,
            name=program.name,
            source=text,
            source_name=source_name,
            sha256=digest,
            config=_json_ready(program.config),
            loaded_at=uow.now(),
            loaded_by=uow.actor,
        )
    )
    uow.session.flush()
    uow.audit("load", "loyalty_program", version, {"name": program.name, "sha256": digest})
    uow.cache["loyalty.program"] = program
    return program, True


def program_versions(uow) -> list[LoyaltyProgram]:
    return list(uow.session.scalars(select(LoyaltyProgram).order_by(LoyaltyProgram.version)))


def program_to_dict(program: Program) -> dict[str, Any]:
    return {
        "version": program.version,
        "name": program.name,
        "currency": program.currency,
        "calendar": program.calendar,
        "spend_order": program.spend_order,
        "negative_balance": program.negative_balance,
        "expiry": program.expiry.describe(),
        "expiry_warning_days": program.expiry_warning_days,
        "point_value": program.point_value_minor,
        "caps": {
            "per_purchase": program.cap_per_purchase,
            "per_period": program.cap_per_period,
            "period": program.cap_period,
        },
        "rules": [
            _json_ready(
                {
                    "name": r.name,
                    "kind": r.kind,
                    "priority": r.priority,
                    "stacking": r.stacking,
                    "points": r.points,
                    "per": r.per_minor,
                    "skus": list(r.skus),
                    "categories": list(r.categories),
                    "factor": str(r.factor),
                    "rules": list(r.applies_to),
                    "every": r.every_minor,
                    "reward": r.reward,
                    "starts": r.starts,
                    "ends": r.ends,
                }
            )
            for r in program.rules
        ],
        "rewards": [
            _json_ready(
                {
                    "code": w.code,
                    "title": w.title,
                    "title_fa": w.title_fa,
                    "kind": w.kind,
                    "cost": w.cost,
                    "percent": w.percent,
                    "amount": w.amount_minor,
                    "sku": w.sku,
                    "valid_days": w.valid_days,
                    "per_customer_limit": w.per_customer_limit,
                    "global_limit": w.global_limit,
                    "available_from": w.available_from,
                    "available_until": w.available_until,
                }
            )
            for w in program.rewards.values()
        ],
        "sections": sorted(program.sections),
    }
