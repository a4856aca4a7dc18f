"""The surveys plugin's tables: surveys and their question versions, invitations, responses, follow-ups,
and the plugin's settings. Every table is named ``surveys_…``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmcore.api import Base, CustomerData, JSONType

SURVEY_STATUSES = ("active", "paused", "closed")
CHANNELS = ("sms", "email", "any")
#: stored statuses; ``sent``, ``delivered``, ``failed`` (the channel's word on a queued one) and
#: ``expired`` are read at display time (:func:`crmcore_surveys.invitations.status_of`)
INVITATION_STATUSES = ("created", "queued", "answered", "cancelled")


class Survey(Base):
    __tablename__ = "surveys_surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: short unique name used on the command line and in reports (``nps-after-purchase``)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    title_fa: Mapped[Optional[str]] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    #: how invitations are delivered: sms, email, or any (sms when consented, else email)
    channel: Mapped[str] = mapped_column(String(16), default="sms")
    #: percentage (1–100) of triggering events that lead to an invitation
    sample_percent: Mapped[int] = mapped_column(Integer, default=100)
    #: minutes between the triggering event and sending the invitation
    delay_minutes: Mapped[int] = mapped_column(Integer, default=0)
    #: days an invitation can be answered after it is sent
    expire_days: Mapped[int] = mapped_column(Integer, default=30)
    #: normalised trigger declarations (see :mod:`crmcore_surveys.definitions`)
    triggers: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    current_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    created_by: Mapped[Optional[str]] = mapped_column(String(100))

    versions: Mapped[list["SurveyVersion"]] = relationship(
        back_populates="survey", order_by="SurveyVersion.version"
    )


class SurveyVersion(Base):
    """The questions of a survey as they were at one version; answers point at the version they answered."""

    __tablename__ = "surveys_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys_surveys.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    questions: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime]

    survey: Mapped[Survey] = relationship(back_populates="versions")
    __table_args__ = (UniqueConstraint("survey_id", "version"),)


class Invitation(Base):
    __tablename__ = "surveys_invitations"
    __customer_data__ = CustomerData(
        keep=(
            "token",
            "channel",
            "trigger",
            "source_key",
            "status",
            "delivery_ref",
            "delivery_note",
        )
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys_surveys.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("surveys_versions.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    #: unguessable (32 letters and digits from :mod:`secrets`, ~190 bits); the survey link carries it
    token: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    #: what caused it: manual, purchase, spend, first_purchase, ticket_closed, deal_won
    trigger: Mapped[str] = mapped_column(String(40))
    #: the triggering event (purchase:12, ticket:5); one invitation per survey, customer and event
    source_key: Mapped[Optional[str]] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="created")
    created_at: Mapped[datetime]
    send_at: Mapped[datetime]
    #: when it was handed to the channels (``surveys_invitation_created``), taken or not
    sent_at: Mapped[Optional[datetime]]
    #: the interaction log entry the channel will write for its message (its delivery status)
    delivery_ref: Mapped[Optional[str]] = mapped_column(String(100))
    #: why no channel took it (no trigger, no consent…)
    delivery_note: Mapped[Optional[str]] = mapped_column(String(300))
    expires_at: Mapped[datetime]
    answered_at: Mapped[Optional[datetime]]

    survey: Mapped[Survey] = relationship()
    version_row: Mapped[SurveyVersion] = relationship()
    __table_args__ = (
        UniqueConstraint("survey_id", "customer_id", "source_key"),
        Index("ix_surveys_invitations_customer_send", "customer_id", "send_at"),
        Index("ix_surveys_invitations_status_send", "status", "send_at"),
    )

    @property
    def survey_name(self) -> str:
        return self.survey.name


class Response(Base):
    __tablename__ = "surveys_responses"
    # crm_customer_forgotten prunes the text answers from ``answers``; the scores stay
    __customer_data__ = CustomerData(
        erase={"comment": None}, keep=("channel", "answers", "followup")
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys_surveys.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("surveys_versions.id"))
    invitation_id: Mapped[int] = mapped_column(ForeignKey("surveys_invitations.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    answered_at: Mapped[datetime]
    channel: Mapped[Optional[str]] = mapped_column(String(16))
    #: question key → answer (int for ratings, choice key(s), text)
    answers: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: the answer to the first rating question of the version (NPS, CSAT or CES)
    score: Mapped[Optional[int]] = mapped_column(Integer)
    nps_score: Mapped[Optional[int]] = mapped_column(Integer)
    csat_score: Mapped[Optional[int]] = mapped_column(Integer)
    ces_score: Mapped[Optional[int]] = mapped_column(Integer)
    #: the first free-text answer
    comment: Mapped[Optional[str]] = mapped_column(Text)
    interaction_id: Mapped[Optional[int]] = mapped_column(ForeignKey("interactions.id"))
    detractor: Mapped[bool] = mapped_column(Boolean, default=False)
    #: where a detractor's follow-up went: "ticket 12" (a plugin handled it) or "follow-up list"
    followup: Mapped[Optional[str]] = mapped_column(String(200))

    survey: Mapped[Survey] = relationship()
    version_row: Mapped[SurveyVersion] = relationship()
    __table_args__ = (Index("ix_surveys_responses_survey_answered", "survey_id", "answered_at"),)

    @property
    def survey_name(self) -> str:
        return self.survey.name

    @property
    def version(self) -> int:
        return self.version_row.version


class FollowUp(Base):
    """A detractor's answer no plugin took over (tickets not installed): someone should call them back."""

    __tablename__ = "surveys_followups"
    __customer_data__ = CustomerData(erase={"note": None}, keep=("status", "done_by"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("surveys_responses.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | done
    created_at: Mapped[datetime]
    done_at: Mapped[Optional[datetime]]
    done_by: Mapped[Optional[str]] = mapped_column(String(100))
    note: Mapped[Optional[str]] = mapped_column(Text)

    response: Mapped[Response] = relationship()


class SurveySetting(Base):
    """Plugin-wide settings (fatigue window, stale-event age, survey link base)."""

    __tablename__ = "surveys_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)
