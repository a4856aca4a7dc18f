"""The managed lists of the pipeline (pipelines and stages, lead sources, close reasons), their defaults
seeded on first use, and lookups by code or name (Persian names match however they are typed)."""

from __future__ import annotations

from sqlalchemy import select

from crmcore.api import NotFound, normalize

from .models import CloseReason, LeadSource, Pipeline, Stage

DEFAULT_PIPELINE = ("default", "فروش")
#: code, Persian name, English name, default win probability, kind
DEFAULT_STAGES = [
    ("lead", "سرنخ", "Lead", 10, "open"),
    ("contact", "تماس اولیه", "Initial contact", 20, "open"),
    ("proforma", "ارسال پیش‌فاکتور", "Proforma sent", 40, "open"),
    ("negotiation", "مذاکره", "Negotiation", 60, "open"),
    ("won", "برنده", "Won", 100, "won"),
    ("lost", "بازنده", "Lost", 0, "lost"),
]
DEFAULT_SOURCES = [
    ("website", "وب‌سایت", "Website"),
    ("referral", "معرفی", "Referral"),
    ("exhibition", "نمایشگاه", "Exhibition"),
    ("phone", "تماس تلفنی", "Phone"),
    ("social", "شبکه‌های اجتماعی", "Social media"),
    ("campaign", "کمپین", "Campaign"),
]
DEFAULT_REASONS = [
    ("lost", "price", "قیمت بالا", "Price too high"),
    ("lost", "competitor", "انتخاب رقیب", "Chose a competitor"),
    ("lost", "budget", "نبود بودجه", "No budget"),
    ("lost", "no_response", "عدم پاسخگویی", "No response"),
    ("lost", "timing", "زمان نامناسب", "Bad timing"),
    ("won", "price", "قیمت مناسب", "Good price"),
    ("won", "quality", "کیفیت محصول", "Product quality"),
    ("won", "relationship", "رابطه و اعتماد", "Relationship and trust"),
    ("won", "speed", "سرعت پاسخگویی", "Fast response"),
]


def ensure_defaults(uow) -> None:
    """Seed the default pipeline, lead sources and close reasons the first time the plugin is used."""
    if uow.cache.get("pipeline.defaults"):
        return
    session = uow.session
    if session.scalar(select(Pipeline.id).limit(1)) is None:
        pipeline = Pipeline(
            code=DEFAULT_PIPELINE[0],
            name=DEFAULT_PIPELINE[1],
            is_default=True,
            created_at=uow.now(),
        )
        pipeline.stages = [
            Stage(code=c, name=n, name_en=e, probability=p, kind=k, position=i)
            for i, (c, n, e, p, k) in enumerate(DEFAULT_STAGES)
        ]
        session.add(pipeline)
    if session.scalar(select(LeadSource.id).limit(1)) is None:
        session.add_all(LeadSource(code=c, name=n, name_en=e) for c, n, e in DEFAULT_SOURCES)
    if session.scalar(select(CloseReason.id).limit(1)) is None:
        session.add_all(
            CloseReason(kind=k, code=c, name=n, name_en=e) for k, c, n, e in DEFAULT_REASONS
        )
    session.flush()
    uow.cache["pipeline.defaults"] = True


def _matches(ref: str, code: str, *names: str | None) -> bool:
    key = normalize(ref)
    return ref.strip().lower() == code or any(n and normalize(n) == key for n in names)


def get_pipeline(uow, ref: str | None = None) -> Pipeline:
    """The pipeline with this code or name, or the default one when ``ref`` is empty."""
    ensure_defaults(uow)
    pipelines = uow.session.scalars(select(Pipeline).order_by(Pipeline.id)).all()
    if not ref:
        for p in pipelines:
            if p.is_default:
                return p
        return pipelines[0]
    for p in pipelines:
        if _matches(ref, p.code, p.name):
            return p
    raise NotFound(
        f"unknown pipeline {ref!r} (pipelines: {', '.join(p.code for p in pipelines)})",
        field="pipeline",
    )


def find_stage(pipeline: Pipeline, ref: str | None, *, field: str = "stage") -> Stage:
    """The stage of ``pipeline`` with this code, Persian name or English name."""
    for s in pipeline.stages:
        if ref and _matches(ref, s.code, s.name, s.name_en):
            return s
    raise NotFound(
        f"unknown stage {ref!r} in pipeline {pipeline.code!r} "
        f"(stages: {', '.join(s.code for s in pipeline.stages)})",
        field=field,
    )


def closing_stage(pipeline: Pipeline, kind: str) -> Stage:
    return next(s for s in pipeline.stages if s.kind == kind)


def first_open_stage(pipeline: Pipeline) -> Stage:
    return next(s for s in pipeline.stages if s.kind == "open")


def get_source(uow, ref: str, *, field: str = "source") -> LeadSource:
    ensure_defaults(uow)
    sources = uow.session.scalars(select(LeadSource).order_by(LeadSource.id)).all()
    for s in sources:
        if ref and _matches(ref, s.code, s.name, s.name_en):
            if not s.active:
                raise NotFound(f"lead source {s.code!r} is retired", field=field)
            return s
    active = ", ".join(s.code for s in sources if s.active)
    raise NotFound(f"unknown lead source {ref!r} (sources: {active})", field=field)


def get_reason(uow, kind: str, ref: str, *, field: str = "reason") -> CloseReason:
    ensure_defaults(uow)
    reasons = uow.session.scalars(
        select(CloseReason).where(CloseReason.kind == kind).order_by(CloseReason.id)
    ).all()
    for r in reasons:
        if ref and _matches(ref, r.code, r.name, r.name_en):
            if not r.active:
                raise NotFound(f"{kind} reason {r.code!r} is retired", field=field)
            return r
    active = ", ".join(r.code for r in reasons if r.active)
    raise NotFound(
        f"unknown {kind} reason {ref!r} (reasons: {active}; add one with "
        f"crm pipeline reasons add {kind} CODE NAME)",
        field=field,
    )
