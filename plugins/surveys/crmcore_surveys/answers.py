"""Recording answers: by invitation token (CLI, HTTP API, CSV import), stored as a response and as a
``survey_answer`` interaction; low scores go to tickets (if installed) or to the follow-up list."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from crmcore.api import (
    Conflict,
    CRMError,
    ValidationError,
    format_datetime,
    get_customer,
    parse_datetime,
    record_interaction,
)

from .definitions import RATINGS, first_rating, is_detractor, validate_answers
from .invitations import find_invitation
from .models import FollowUp, Response

INTERACTION_KIND = "survey_answer"


def record_answer(
    uow,
    token: str,
    raw_answers: dict[str, Any],
    *,
    answered_at: str | datetime | None = None,
    channel: str | None = None,
    calendar: str = "gregorian",
    partial: bool = False,
) -> Response:
    """Record the answers to the invitation holding ``token``.

    Refused (nothing stored) when the token is unknown, already used, cancelled or expired, or an answer is
    out of range, unknown or missing.
    """
    session = uow.session
    invitation = find_invitation(session, token)
    tz = uow.app.timezone
    if invitation.status == "answered":
        prior = session.scalar(select(Response.id).where(Response.invitation_id == invitation.id))
        raise Conflict(
            f"this invitation was already answered at "
            f"{format_datetime(invitation.answered_at, calendar, tz=tz)} (response {prior}); "
            f"a token is used once",
            field="token",
        )
    if invitation.status == "cancelled":
        raise Conflict(f"invitation {invitation.id} was cancelled", field="token")
    at = (
        parse_datetime(answered_at, tz=tz, field="answered_at")
        if answered_at not in (None, "")
        else uow.now()
    )
    if at > uow.now():
        raise ValidationError("the answer time is in the future", field="answered_at")
    if at < invitation.created_at:
        raise ValidationError(
            f"the answer time is before the invitation was made "
            f"({format_datetime(invitation.created_at, calendar, tz=tz)})",
            field="answered_at",
        )
    if at >= invitation.expires_at:
        raise Conflict(
            f"invitation {invitation.id} expired at "
            f"{format_datetime(invitation.expires_at, calendar, tz=tz)}",
            field="token",
        )
    customer = get_customer(session, invitation.customer_id)
    questions = invitation.version_row.questions
    answers = validate_answers(questions, raw_answers, partial=partial)
    scores = {
        kind: next((answers.get(q["key"]) for q in questions if q["type"] == kind), None)
        for kind in RATINGS
    }
    primary = first_rating(questions)
    comment = next(
        (answers[q["key"]] for q in questions if q["type"] == "text" and q["key"] in answers), None
    )
    response = Response(
        survey_id=invitation.survey_id,
        version_id=invitation.version_id,
        invitation_id=invitation.id,
        customer_id=customer.id,
        answered_at=at,
        channel=channel or invitation.channel,
        answers=answers,
        score=answers.get(primary["key"]) if primary else None,
        nps_score=scores["nps"],
        csat_score=scores["csat"],
        ces_score=scores["ces"],
        comment=comment,
        detractor=is_detractor(scores["nps"], scores["csat"]),
    )
    response.survey = invitation.survey
    response.version_row = invitation.version_row
    session.add(response)
    invitation.status = "answered"
    invitation.answered_at = at
    session.flush()
    interaction = record_interaction(
        uow,
        customer,
        kind=INTERACTION_KIND,
        channel=response.channel,
        direction="in",
        occurred_at=at,
        external_id=f"survey-invitation-{invitation.id}",
        payload={
            "survey": invitation.survey.name,
            "version": response.version,
            "response_id": response.id,
            "score": response.score,
            "comment": response.comment,
            "answers": answers,
        },
    )
    response.interaction_id = interaction.id
    session.flush()
    data = response_event_data(response)
    uow.emit("surveys_survey_answered", customer_id=customer.id, data=data, response=response)
    if response.detractor:
        _follow_up(uow, response, customer, data)
    return response


def _follow_up(uow, response: Response, customer, data: dict[str, Any]) -> None:
    handled = [
        r
        for r in uow.emit(
            "surveys_detractor",
            customer_id=customer.id,
            data=data,
            response=response,
            customer=customer,
        )
        if r is not None
    ]
    if handled:
        first = handled[0]
        ref = getattr(first, "id", None)
        response.followup = (
            f"{type(first).__name__.lower()} {ref}" if ref is not None else str(first)[:200]
        )
        return
    response.followup = "follow-up list"
    uow.session.add(
        FollowUp(
            response_id=response.id, customer_id=customer.id, status="open", created_at=uow.now()
        )
    )


def response_event_data(response: Response) -> dict[str, Any]:
    return {
        "response_id": response.id,
        "survey": response.survey_name,
        "version": response.version,
        "invitation_id": response.invitation_id,
        "score": response.score,
        "nps": response.nps_score,
        "csat": response.csat_score,
        "ces": response.ces_score,
        "detractor": response.detractor,
        "comment": response.comment,
    }


def import_answers(uow, path: str | Path, *, calendar: str = "gregorian") -> dict[str, Any]:
    """Record a CSV of answers: a ``token`` column, optional ``answered_at`` and ``channel``, and one column
    per question key (multiple choices separated by ``|`` or ``,``). All rows or none: the first bad row is
    reported with its line number and the whole import is rolled back."""
    path = Path(path)
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise ValidationError(f"cannot read {path}: {exc.strerror}", field="file") from None
    with fh:
        reader = csv.DictReader(fh)
        header = [h.strip() for h in (reader.fieldnames or [])]
        if "token" not in header:
            raise ValidationError(
                f"{path.name} has no 'token' column (columns: {', '.join(header) or 'none'})",
                field="file",
            )
        recorded = detractors = 0
        for line, row in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
            if not any(row.values()):
                continue
            token = row.pop("token")
            answered_at = row.pop("answered_at", "") or None
            channel = row.pop("channel", "") or None
            answers = {k: v for k, v in row.items() if v != ""}
            try:
                response = record_answer(
                    uow, token, answers, answered_at=answered_at, channel=channel, calendar=calendar
                )
            except CRMError as exc:
                raise exc.at_row(line)
            recorded += 1
            detractors += int(response.detractor)
    return {"recorded": recorded, "detractors": detractors}


def response_to_dict(uow, response: Response, *, calendar: str = "gregorian") -> dict[str, Any]:
    return {
        **response_event_data(response),
        "customer_id": response.customer_id,
        "channel": response.channel,
        "answered_at": format_datetime(response.answered_at, calendar, tz=uow.app.timezone),
        "answers": response.answers,
        "followup": response.followup,
        "interaction_id": response.interaction_id,
    }
