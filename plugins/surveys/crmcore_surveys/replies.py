"""Answers sent back as an SMS reply: «۹», «9 عالی بود», «٨ - خوب» (Persian, Arabic or Latin
digits).

Messaging records every inbound SMS as an incoming ``message`` interaction of the customers with
that phone; surveys hears it through the kernel's ``crm_interaction_recorded`` and answers the
customer's latest open SMS invitation with the leading number as its score and the rest as the
comment.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from crmcore.api import CRMError, to_ascii_digits

from .definitions import first_rating
from .models import Invitation

#: a score of one or two digits first (never part of a longer number), then an optional comment
REPLY = re.compile(r"^\s*(\d{1,2})(?!\d)\s*(?:(?:/|از)\s*10)?[\s,.:;!\-–—،؛]*(.*)$", re.DOTALL)


def parse_reply(text: str | None) -> tuple[int, str | None] | None:
    """``(score, comment)`` of a reply that starts with a score, else ``None``."""
    match = REPLY.match(to_ascii_digits(text or ""))
    if match is None:
        return None
    comment = match.group(2).strip()
    return int(match.group(1)), comment or None


def open_sms_invitation(uow, customer_id: int, at) -> Invitation | None:
    """The customer's latest SMS invitation a channel queued that can still be answered (a «۹»
    with no survey SMS behind it is someone else's message)."""
    return uow.session.scalar(
        select(Invitation)
        .where(
            Invitation.customer_id == customer_id,
            Invitation.channel == "sms",
            Invitation.status == "queued",
            Invitation.sent_at.is_not(None),
            Invitation.sent_at <= at,
            Invitation.expires_at > at,
        )
        .order_by(Invitation.sent_at.desc(), Invitation.id.desc())
        .limit(1)
    )


def on_inbound_sms(uow, interaction, customer) -> dict[str, Any] | None:
    """Answer the open SMS invitation with the reply; the outcome is noted on the SMS's log
    entry."""
    from .answers import record_answer

    payload = dict(interaction.payload or {})
    if payload.get("opt_out"):
        return None
    parsed = parse_reply(payload.get("text"))
    if parsed is None:
        return None
    invitation = open_sms_invitation(uow, customer.id, interaction.occurred_at)
    if invitation is None:
        return None
    score, comment = parsed
    questions = invitation.version_row.questions
    rating = first_rating(questions)
    if rating is None:
        return None
    answers: dict[str, Any] = {rating["key"]: score}
    text_question = next((q for q in questions if q["type"] == "text"), None)
    if comment and text_question is not None:
        answers[text_question["key"]] = comment
    try:
        response = record_answer(
            uow,
            invitation.token,
            answers,
            answered_at=interaction.occurred_at,
            channel="sms",
            partial=True,
        )
    except CRMError as exc:
        outcome = {"invitation": invitation.id, "recorded": False, "reason": str(exc)}
    else:
        outcome = {"invitation": invitation.id, "recorded": True, "response": response.id}
    interaction.payload = {**payload, "survey_answer": outcome}
    return outcome
