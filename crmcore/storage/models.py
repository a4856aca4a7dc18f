"""The kernel's tables: customers and their phones, emails, tags and search tokens; interactions; the audit
log; the outbox; plugin state and settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Optional

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.dates import utcnow
from .base import Base, JSONType


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="person")  # person | organisation
    display_name: Mapped[str] = mapped_column(String(300))
    # indexed with the id: names starting with a query, in a stable order (PostgreSQL's index alone
    # would leave equal names in table order, and a search would sort every match to keep a few)
    search_key: Mapped[str] = mapped_column(String(300))
    external_id: Mapped[Optional[str]] = mapped_column(String(100), unique=True)
    birthday: Mapped[Optional[date]]
    city: Mapped[Optional[str]] = mapped_column(String(100))
    address: Mapped[Optional[str]] = mapped_column(Text)
    #: the responsible person as text (imported, free form); record rules use
    #: ``owner_id``/``team_id``
    owner: Mapped[Optional[str]] = mapped_column(String(100))
    #: the user owning the record and the team sharing it (record rules: crmcore.services.access)
    owner_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("web_users.id", ondelete="SET NULL"), index=True
    )
    team_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("crm_teams.id", ondelete="SET NULL"), index=True
    )
    consent_sms: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    merged_into_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    forgotten_at: Mapped[Optional[datetime]]

    phones: Mapped[list["CustomerPhone"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerPhone.position"
    )
    emails: Mapped[list["CustomerEmail"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerEmail.position"
    )
    tags: Mapped[list["CustomerTag"]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerTag.tag"
    )

    __table_args__ = (Index("ix_customers_search_key", "search_key", "id"),)

    @property
    def active(self) -> bool:
        return self.merged_into_id is None and self.forgotten_at is None


class CustomerPhone(Base):
    __tablename__ = "customer_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # no index of its own: the unique (customer_id, e164) index serves lookups by customer
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    e164: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="other")
    position: Mapped[int] = mapped_column(Integer, default=0)
    customer: Mapped[Customer] = relationship(back_populates="phones")
    __table_args__ = (UniqueConstraint("customer_id", "e164"),)


class CustomerEmail(Base):
    __tablename__ = "customer_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # no index of its own: the unique (customer_id, email) index serves lookups by customer
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    customer: Mapped[Customer] = relationship(back_populates="emails")
    __table_args__ = (UniqueConstraint("customer_id", "email"),)


class CustomerTag(Base):
    __tablename__ = "customer_tags"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(100), primary_key=True, index=True)
    customer: Mapped[Customer] = relationship(back_populates="tags")


class CustomerSearchToken(Base):
    """Normalised name tokens, for indexed prefix search of Persian and English names."""

    __tablename__ = "customer_search_tokens"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(300), primary_key=True)
    __table_args__ = (Index("ix_customer_search_tokens_token", "token", "customer_id"),)


class CustomerSearchTokenCount(Base):
    """How many customers have each name token: the search starts from the rarest query word. Kept
    with the tokens (:mod:`crmcore.storage.tokens`); the search's plan depends on it, its results
    do not."""

    __tablename__ = "customer_search_token_counts"

    token: Mapped[str] = mapped_column(String(300), primary_key=True)
    customers: Mapped[int] = mapped_column(Integer)
    __table_args__ = {"sqlite_with_rowid": False}  # the sum over a token range reads the key alone


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[Optional[str]] = mapped_column(String(40))
    direction: Mapped[Optional[str]] = mapped_column(String(8))  # in | out
    occurred_at: Mapped[datetime]
    amount_minor: Mapped[Optional[int]] = mapped_column(BigInteger)
    currency: Mapped[Optional[str]] = mapped_column(String(3))
    external_id: Mapped[Optional[str]] = mapped_column(String(100))
    #: the interaction this one refers to: the purchase a refund reverses, the message a reply answers
    related_id: Mapped[Optional[int]] = mapped_column(ForeignKey("interactions.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[Optional[str]] = mapped_column(String(100))

    __table_args__ = (
        UniqueConstraint("kind", "external_id"),
        Index("ix_interactions_customer_occurred", "customer_id", "occurred_at"),
        Index("ix_interactions_kind_occurred", "kind", "occurred_at"),
    )

    @property
    def money(self):
        from ..domain.money import Money

        return (
            None if self.amount_minor is None else Money(self.amount_minor, self.currency or "IRR")
        )


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))
    entity: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[Optional[str]] = mapped_column(String(60))
    customer_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class OutboxEvent(Base):
    """Every domain event, written in the transaction that caused it, for at-least-once delivery."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[Optional[int]] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[Optional[datetime]]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_outbox_unpublished", "published_at", "id"),)


class PluginState(Base):
    __tablename__ = "crm_plugins"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[Optional[str]] = mapped_column(String(40))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Setting(Base):
    __tablename__ = "crm_settings"

    namespace: Mapped[str] = mapped_column(String(60), primary_key=True)
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSONType)


class JobRun(Base):
    """One run of a scheduled job (``crm jobs run``): in the calling process, or handed to the workers.

    A hand-off (``--via-workers``) is recorded ``queued`` with a unique ``run_id`` in the transaction that
    publishes its message; the worker that takes it marks it ``running`` and writes ``ok`` (with the job's
    summary) in the same transaction as the job's effects, so a repeated delivery finds the run done and
    changes nothing. A failed job is rolled back and recorded ``failed`` with the error.
    """

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[str] = mapped_column(String(36), unique=True)
    job: Mapped[str] = mapped_column(String(100))
    #: the ``now`` the job ran for (``--now`` or the clock at the hand-off)
    moment: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(10))  # queued | running | ok | failed
    #: ``process`` (run by ``crm jobs run`` itself) or ``workers`` (handed to ``crm worker``)
    via: Mapped[str] = mapped_column(String(10))
    summary: Mapped[Optional[dict[str, Any]]] = mapped_column(JSONType)
    error: Mapped[Optional[str]] = mapped_column(Text)
    #: the worker (``host:pid``) that ran it last, or the process that ran it
    worker: Mapped[Optional[str]] = mapped_column(String(120))
    #: how many times a worker started it (more than 1: a worker died or the message came again mid-run)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[Optional[datetime]]
    finished_at: Mapped[Optional[datetime]]

    __table_args__ = (
        Index("ix_job_runs_job", "job", "id"),
        Index("ix_job_runs_status", "status", "id"),
    )


class PendingLead(Base):
    """A public lead-form submission whose phone or email matched a stored customer. An anonymous
    form never changes a customer (else anyone could attach their own phone or email to someone
    else's record), so the submission waits here until a person accepts it (its contacts and message
    go to the customer) or rejects it (dropped). Both decisions are audited; the row is deleted
    then."""

    __tablename__ = "pending_leads"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    matched_by: Mapped[str] = mapped_column(String(8))  # phone | email
    name: Mapped[str] = mapped_column(String(300))
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    email: Mapped[Optional[str]] = mapped_column(String(254))
    message: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[Optional[str]] = mapped_column(String(60))
    page: Mapped[Optional[str]] = mapped_column(String(500))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class ImportRun(Base):
    """One run of ``crm customers import`` / ``crm interactions import``
    (:mod:`crmcore.importing.runs`).

    An import commits a chunk of rows at a time and records here, in the chunk's transaction, the
    last row committed and the summary so far; a run left ``running`` by a killed process is resumed
    by the same command on the same file (same ``digest``) with the same options
    (``options_digest``)."""

    __tablename__ = "import_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # customers | interactions
    file_name: Mapped[str] = mapped_column(String(300))
    #: SHA-256 of the file's bytes, and of the options that change what is stored
    digest: Mapped[str] = mapped_column(String(64))
    options_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(12))  # running | done | failed
    #: the file's row number (the header is row 1) of the last row whose chunk is committed
    last_row: Mapped[int] = mapped_column(Integer, default=1)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    #: the summary so far and what the importer needs to go on (ids at the start of the run)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    actor: Mapped[Optional[str]] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[Optional[datetime]]

    __table_args__ = (Index("ix_import_runs_kind_status", "kind", "status", "id"),)


class Segment(Base):
    """A saved customer segment: a name and the ``--where`` clauses that select its customers
    (evaluated when used, so the segment follows the data)."""

    __tablename__ = "customer_segments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    clauses: Mapped[list[str]] = mapped_column(JSONType, default=list)
    created_by: Mapped[Optional[str]] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# The web interface's users, sessions and API tokens are kernel tables too (one metadata, one migration branch).
# Phone numbers by their reversed digits, for "numbers ending with 1234567" (the search). One index
# object whose expression compiles per dialect: two same-named indexes (one per dialect) made
# migration comparisons depend on which of them the metadata happened to list last.
from sqlalchemy.ext.compiler import compiles  # noqa: E402
from sqlalchemy.sql.expression import ColumnElement  # noqa: E402

# The outbox relay's partitions and the workers' processed events (crmcore.outbox, crmcore.workers).
from ..outbox import models as _outbox_models  # noqa: E402,F401
from ..services.search_plan import PHONE_REVERSED as _PHONE_REVERSED  # noqa: E402
from ..web import models as _web_models  # noqa: E402,F401
from . import postgres as _postgres_indexes  # noqa: E402,F401  (trigram indexes, PostgreSQL only)


class _PhoneReversed(ColumnElement):
    inherit_cache = True


@compiles(_PhoneReversed)
def _compile_phone_reversed(element, compiler, **kw):
    return _PHONE_REVERSED[compiler.dialect.name]


PHONE_REVERSED_INDEX = Index(
    "ix_customer_phones_e164_reversed", _PhoneReversed(), _table=CustomerPhone.__table__
)
