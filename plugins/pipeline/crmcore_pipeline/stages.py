"""Pipelines and their ordered stages: create, add, change, reorder and remove stages."""

from __future__ import annotations

from sqlalchemy import func, or_, select

from crmcore.api import Conflict, ValidationError

from .catalog import ensure_defaults, find_stage, get_pipeline
from .models import Deal, Pipeline, Stage, StageHistory
from .values import parse_code, parse_name, parse_probability


def create_pipeline(uow, code: str, name: str, *, default: bool = False) -> Pipeline:
    """A new pipeline with its two closing stages (won, lost); add open stages with :func:`add_stage`."""
    ensure_defaults(uow)
    code = parse_code(code)
    name = parse_name(name)
    if uow.session.scalar(select(Pipeline.id).where(Pipeline.code == code)) is not None:
        raise Conflict(f"a pipeline with code {code!r} already exists", field="code")
    pipeline = Pipeline(code=code, name=name, is_default=False, created_at=uow.now())
    pipeline.stages = [
        Stage(code="won", name="برنده", name_en="Won", probability=100, kind="won", position=0),
        Stage(code="lost", name="بازنده", name_en="Lost", probability=0, kind="lost", position=1),
    ]
    uow.session.add(pipeline)
    uow.session.flush()
    if default:
        set_default_pipeline(uow, code)
    uow.audit("create", "pipeline", pipeline.id, {"code": code, "name": name})
    return pipeline


def set_default_pipeline(uow, ref: str) -> Pipeline:
    pipeline = get_pipeline(uow, ref)
    for p in uow.session.scalars(select(Pipeline)):
        p.is_default = p.id == pipeline.id
    uow.session.flush()
    return pipeline


def _renumber(stages: list[Stage]) -> None:
    ordered = (
        [s for s in stages if s.kind == "open"]
        + [s for s in stages if s.kind == "won"]
        + [s for s in stages if s.kind == "lost"]
    )
    for i, s in enumerate(ordered):
        s.position = i


def _place(pipeline: Pipeline, stage: Stage, before: str | None) -> None:
    others = [s for s in pipeline.stages if s is not stage]
    if before:
        anchor = find_stage(pipeline, before, field="before")
        if anchor is stage:
            raise ValidationError("a stage cannot be placed before itself", field="before")
        index = others.index(anchor)
    else:
        index = next(i for i, s in enumerate(others) if s.kind != "open")
    others.insert(index, stage)
    _renumber(others)
    pipeline.stages.sort(key=lambda s: s.position)


def add_stage(
    uow,
    pipeline_ref: str | None,
    code: str,
    name: str,
    probability: str | int,
    *,
    name_en: str | None = None,
    before: str | None = None,
) -> Stage:
    """Add an open stage, before ``before`` (a stage code or name) or else before the closing stages."""
    pipeline = get_pipeline(uow, pipeline_ref)
    code = parse_code(code)
    if any(s.code == code for s in pipeline.stages):
        raise Conflict(f"pipeline {pipeline.code!r} already has a stage {code!r}", field="code")
    stage = Stage(
        pipeline=pipeline,
        code=code,
        name=parse_name(name),
        probability=parse_probability(probability),
        name_en=(name_en or "").strip() or None,
        kind="open",
        position=len(pipeline.stages),
    )
    uow.session.add(stage)
    _place(pipeline, stage, before)
    uow.session.flush()
    uow.audit("create", "pipeline_stage", stage.id, {"pipeline": pipeline.code, "code": code})
    return stage


def update_stage(
    uow,
    pipeline_ref: str | None,
    stage_ref: str,
    *,
    name: str | None = None,
    name_en: str | None = None,
    probability: str | int | None = None,
    before: str | None = None,
) -> dict:
    """Rename a stage, change its default probability, or move it before another stage; returns the changes."""
    pipeline = get_pipeline(uow, pipeline_ref)
    stage = find_stage(pipeline, stage_ref)
    changes: dict = {}
    if name is not None:
        changes["name"] = [stage.name, parse_name(name)]
        stage.name = changes["name"][1]
    if name_en is not None:
        changes["name_en"] = [stage.name_en, name_en.strip() or None]
        stage.name_en = changes["name_en"][1]
    if probability is not None:
        value = parse_probability(probability)
        if stage.kind != "open":
            raise ValidationError(
                f"stage {stage.code!r} closes deals; its probability is fixed at "
                f"{stage.probability}",
                field="probability",
            )
        changes["probability"] = [stage.probability, value]
        stage.probability = value
    if before is not None:
        if stage.kind != "open":
            raise ValidationError(
                f"stage {stage.code!r} closes deals and stays at the end", field="before"
            )
        _place(pipeline, stage, before)
        changes["position"] = stage.position
    uow.session.flush()
    if changes:
        uow.audit("update", "pipeline_stage", stage.id, changes)
    return changes


def remove_stage(uow, pipeline_ref: str | None, stage_ref: str) -> None:
    """Remove an open stage no deal is in or has ever passed through (rename it otherwise)."""
    pipeline = get_pipeline(uow, pipeline_ref)
    stage = find_stage(pipeline, stage_ref)
    if stage.kind != "open":
        raise ValidationError(
            f"stage {stage.code!r} closes deals; every pipeline keeps it", field="stage"
        )
    session = uow.session
    in_it = session.scalar(select(func.count(Deal.id)).where(Deal.stage_id == stage.id)) or 0
    if in_it:
        raise Conflict(
            f"{in_it} deal(s) are in stage {stage.code!r}; move them first", field="stage"
        )
    passed = (
        session.scalar(
            select(func.count(StageHistory.id)).where(
                or_(StageHistory.to_stage_id == stage.id, StageHistory.from_stage_id == stage.id)
            )
        )
        or 0
    )
    if passed:
        raise Conflict(
            f"stage {stage.code!r} is in the history of deals; rename it instead of removing it",
            field="stage",
        )
    if sum(1 for s in pipeline.stages if s.kind == "open") == 1:
        raise ValidationError(
            f"stage {stage.code!r} is the only open stage of pipeline {pipeline.code!r}",
            field="stage",
        )
    pipeline.stages.remove(stage)
    session.delete(stage)
    _renumber(pipeline.stages)
    session.flush()
    uow.audit("delete", "pipeline_stage", stage.id, {"pipeline": pipeline.code, "code": stage.code})


def list_pipelines(uow) -> list[Pipeline]:
    ensure_defaults(uow)
    return list(uow.session.scalars(select(Pipeline).order_by(Pipeline.id)))


def stage_to_dict(stage: Stage) -> dict:
    return {
        "code": stage.code,
        "name": stage.name,
        "name_en": stage.name_en,
        "position": stage.position,
        "probability": stage.probability,
        "kind": stage.kind,
    }


def pipeline_to_dict(pipeline: Pipeline) -> dict:
    return {
        "code": pipeline.code,
        "name": pipeline.name,
        "default": bool(pipeline.is_default),
        "stages": [stage_to_dict(s) for s in pipeline.stages],
    }
