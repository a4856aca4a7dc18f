"""Surveys: create, change settings, publish new question versions, look up, describe."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from crmcore.api import Conflict, NotFound, ValidationError, format_datetime

from .definitions import (
    TEMPLATES,
    TRIGGER_EVENTS,
    describe_trigger,
    format_delay,
    parse_delay,
    parse_questions,
    parse_trigger,
)
from .models import CHANNELS, SURVEY_STATUSES, Invitation, Response, Survey, SurveyVersion

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
CACHE_KEY = "surveys.active"


def _forget_cached_surveys(uow) -> None:
    uow.cache.pop(CACHE_KEY, None)


def active_surveys(uow) -> list[Survey]:
    """Active surveys with their triggers, cached for the unit of work (imports call triggers per row)."""
    cached = uow.cache.get(CACHE_KEY)
    if cached is None:
        cached = list(
            uow.session.scalars(select(Survey).where(Survey.status == "active").order_by(Survey.id))
        )
        uow.cache[CACHE_KEY] = cached
    return cached


def trigger_warnings(uow, triggers: list[dict[str, Any]]) -> list[str]:
    """Triggers on events of plugins that are not enabled: they are kept but cannot fire."""
    warnings = []
    for t in triggers:
        plugin = TRIGGER_EVENTS[t["on"]]
        if plugin and not uow.has_plugin(plugin):
            warnings.append(
                f"trigger {t['on']!r} waits for the {plugin!r} plugin, which is not enabled: "
                f"it will not fire until `crm plugins enable {plugin}`"
            )
    return warnings


def _check_settings(
    *, channel: str | None, sample_percent: int | None, expire_days: int | None, status: str | None
) -> None:
    if channel is not None and channel not in CHANNELS:
        raise ValidationError(
            f"channel {channel!r} is not one of {', '.join(CHANNELS)}", field="channel"
        )
    if sample_percent is not None and (
        isinstance(sample_percent, bool) or not 1 <= int(sample_percent) <= 100
    ):
        raise ValidationError(
            f"sampling is a percentage from 1 to 100, not {sample_percent}", field="sample"
        )
    if expire_days is not None and not 1 <= int(expire_days) <= 365:
        raise ValidationError(
            f"invitations expire after 1 to 365 days, not {expire_days}", field="expire_days"
        )
    if status is not None and status not in SURVEY_STATUSES:
        raise ValidationError(
            f"status {status!r} is not one of {', '.join(SURVEY_STATUSES)}", field="status"
        )


def definition_from_template(template: str) -> list[dict[str, Any]]:
    if template not in TEMPLATES:
        raise ValidationError(
            f"unknown template {template!r} ({', '.join(TEMPLATES)})", field="template"
        )
    return [dict(q) for q in TEMPLATES[template]]


def create_survey(
    uow,
    *,
    name: str,
    title: str | None = None,
    title_fa: str | None = None,
    questions: list[dict[str, Any]] | None = None,
    triggers: list[Any] = (),
    channel: str = "sms",
    sample_percent: int = 100,
    delay: str | int | None = None,
    expire_days: int = 30,
    status: str = "active",
) -> tuple[Survey, list[str]]:
    """Create a survey (version 1 of its questions). Returns it and warnings about triggers that cannot fire."""
    name = (name or "").strip().lower()
    if not _NAME.match(name):
        raise ValidationError(
            f"{name!r} is not a survey name (lowercase letters, digits, - and _; up to 60)",
            field="name",
        )
    title = " ".join((title or "").split()) or None
    title_fa = " ".join((title_fa or "").split()) or None
    if not (title or title_fa):
        raise ValidationError("a survey needs a title (--title or --title-fa)", field="title")
    parsed_questions = parse_questions(questions)
    parsed_triggers = [parse_trigger(t) for t in triggers]
    _check_settings(
        channel=channel, sample_percent=sample_percent, expire_days=expire_days, status=status
    )
    delay_minutes = parse_delay(delay)
    existing = uow.session.scalar(select(Survey.id).where(Survey.name == name))
    if existing is not None:
        raise Conflict(f"a survey named {name!r} already exists (survey {existing})", field="name")
    now = uow.now()
    survey = Survey(
        name=name,
        title=title or title_fa,
        title_fa=title_fa,
        status=status,
        channel=channel,
        sample_percent=int(sample_percent),
        delay_minutes=delay_minutes,
        expire_days=int(expire_days),
        triggers=parsed_triggers,
        current_version=1,
        created_at=now,
        created_by=uow.actor,
    )
    survey.versions = [SurveyVersion(version=1, questions=parsed_questions, created_at=now)]
    uow.session.add(survey)
    uow.session.flush()
    uow.audit(
        "create",
        "survey",
        survey.id,
        {
            "name": name,
            "questions": len(parsed_questions),
            "triggers": [describe_trigger(t) for t in parsed_triggers],
        },
    )
    _forget_cached_surveys(uow)
    return survey, trigger_warnings(uow, parsed_triggers)


def get_survey(session, ref: str | int) -> Survey:
    """A survey by name or id."""
    text = str(ref).strip()
    survey = None
    if text.isdigit():
        survey = session.get(Survey, int(text))
    if survey is None:
        survey = session.scalar(select(Survey).where(Survey.name == text.lower()))
    if survey is None:
        raise NotFound(f"no survey named {text!r}", field="survey")
    return survey


def current_version(session, survey: Survey) -> SurveyVersion:
    return session.scalar(
        select(SurveyVersion).where(
            SurveyVersion.survey_id == survey.id, SurveyVersion.version == survey.current_version
        )
    )


def update_survey(
    uow,
    ref: str | int,
    *,
    title: str | None = None,
    title_fa: str | None = None,
    triggers: list[Any] | None = None,
    channel: str | None = None,
    sample_percent: int | None = None,
    delay: str | int | None = None,
    expire_days: int | None = None,
    status: str | None = None,
) -> tuple[Survey, list[str]]:
    """Change a survey's settings (not its questions: see :func:`revise_survey`). ``None`` keeps a value."""
    survey = get_survey(uow.session, ref)
    _check_settings(
        channel=channel, sample_percent=sample_percent, expire_days=expire_days, status=status
    )
    changes: dict[str, Any] = {}

    def put(attr: str, value: Any) -> None:
        if value is not None and getattr(survey, attr) != value:
            changes[attr] = [getattr(survey, attr), value]
            setattr(survey, attr, value)

    if title is not None and not title.strip():
        raise ValidationError("the title cannot be empty", field="title")
    put("title", " ".join(title.split()) if title else None)
    put("title_fa", " ".join(title_fa.split()) if title_fa else None)
    put("channel", channel)
    put("sample_percent", None if sample_percent is None else int(sample_percent))
    put("delay_minutes", None if delay is None else parse_delay(delay))
    put("expire_days", None if expire_days is None else int(expire_days))
    put("status", status)
    parsed = None
    if triggers is not None:
        parsed = [parse_trigger(t) for t in triggers]
        put("triggers", parsed)
    if changes:
        uow.audit(
            "update",
            "survey",
            survey.id,
            {k: v for k, v in changes.items() if k != "triggers"}
            | (
                {"triggers": [describe_trigger(t) for t in parsed]} if "triggers" in changes else {}
            ),
        )
    _forget_cached_surveys(uow)
    return survey, trigger_warnings(uow, survey.triggers)


def revise_survey(uow, ref: str | int, questions: list[dict[str, Any]]) -> SurveyVersion:
    """Publish a new version of the questions; invitations already sent keep the version they were sent with."""
    survey = get_survey(uow.session, ref)
    parsed = parse_questions(questions)
    if parsed == current_version(uow.session, survey).questions:
        raise ValidationError(
            f"the questions are the same as version {survey.current_version}", field="questions"
        )
    survey.current_version += 1
    version = SurveyVersion(
        survey_id=survey.id, version=survey.current_version, questions=parsed, created_at=uow.now()
    )
    uow.session.add(version)
    uow.session.flush()
    uow.audit("revise", "survey", survey.id, {"version": version.version, "questions": len(parsed)})
    _forget_cached_surveys(uow)
    return version


def survey_counts(session, survey_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Invitations handed to the channels (not cancelled) and responses per survey, for response
    rates."""
    inv = (
        select(Invitation.survey_id, func.count(Invitation.id))
        .where(Invitation.sent_at.is_not(None), Invitation.status != "cancelled")
        .group_by(Invitation.survey_id)
    )
    res = select(Response.survey_id, func.count(Response.id)).group_by(Response.survey_id)
    if survey_ids is not None:
        inv = inv.where(Invitation.survey_id.in_(survey_ids))
        res = res.where(Response.survey_id.in_(survey_ids))
    counts: dict[int, dict[str, int]] = {}
    for sid, n in session.execute(inv):
        counts.setdefault(sid, {"sent": 0, "responses": 0})["sent"] = n
    for sid, n in session.execute(res):
        counts.setdefault(sid, {"sent": 0, "responses": 0})["responses"] = n
    return counts


def response_rate(sent: int, responses: int) -> str | None:
    """Responses per sent invitation, as an exact percentage with one decimal (``"37.5"``)."""
    from .metrics import percent

    return None if sent == 0 else str(percent(responses, sent))


def survey_to_dict(
    uow,
    survey: Survey,
    *,
    calendar: str = "gregorian",
    tz: str = "Asia/Tehran",
    with_questions: bool = False,
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    counts = counts or survey_counts(uow.session, [survey.id]).get(
        survey.id, {"sent": 0, "responses": 0}
    )
    data: dict[str, Any] = {
        "id": survey.id,
        "name": survey.name,
        "title": survey.title,
        "title_fa": survey.title_fa,
        "status": survey.status,
        "channel": survey.channel,
        "sample_percent": survey.sample_percent,
        "delay": format_delay(survey.delay_minutes),
        "expire_days": survey.expire_days,
        "triggers": [describe_trigger(t) for t in survey.triggers],
        "version": survey.current_version,
        "created_at": format_datetime(survey.created_at, calendar, tz=tz),
        "invitations_sent": counts["sent"],
        "responses": counts["responses"],
        "response_rate": response_rate(counts["sent"], counts["responses"]),
        "warnings": trigger_warnings(uow, survey.triggers),
    }
    if with_questions:
        data["questions"] = current_version(uow.session, survey).questions
    return data
