"""The transfers tables: transfers with their status history, family groups with members and invitations, and
the recipients a sender registered for the club to approve.

The points themselves live in the loyalty ledger: a transfer links to its ``transfer_out``, ``transfer_fee`` and
``transfer_in`` entries (and to the ``transfer_return``/``transfer_reversal`` entries that undo them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmcore.api import Base, CustomerData, JSONType, numbered

#: transfers in these states use up the period allowance (declined, cancelled, expired, reversed give it back)
COUNTED_STATUSES = ("pending", "completed")
FINAL_STATUSES = ("completed", "declined", "cancelled", "expired", "reversed")


class Transfer(Base):
    """Points one member gives another: pending (awaiting the recipient) or completed, or undone."""

    __tablename__ = "transfers_transfers"
    __customer_data__ = CustomerData(
        erase={"note": None},
        keep=("status", "key", "circle", "consumed", "fee_consumed", "entries"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    points: Mapped[int] = mapped_column(BigInteger)  # what the recipient receives
    fee: Mapped[int] = mapped_column(
        BigInteger, default=0
    )  # paid by the sender on top of ``points``
    #: pending, completed, declined, cancelled, expired, reversed
    status: Mapped[str] = mapped_column(String(16))
    key: Mapped[Optional[str]] = mapped_column(
        String(200), unique=True
    )  # idempotency key of the request
    note: Mapped[Optional[str]] = mapped_column(String(500))
    circle: Mapped[str] = mapped_column(
        String(16)
    )  # why the recipient was allowed: any, family, approved
    program_version: Mapped[Optional[int]] = mapped_column(Integer)
    expiry_days: Mapped[Optional[int]] = mapped_column(
        Integer
    )  # the policy's rule when the transfer was made
    created_at: Mapped[datetime]
    respond_by: Mapped[Optional[datetime]]  # a pending transfer expires then
    settled_at: Mapped[Optional[datetime]]  # completed, declined, cancelled or expired
    reversed_at: Mapped[Optional[datetime]]
    #: the sender's lots the amount and the fee came from: [[lot_id, points, expires_at ISO or null], …]
    consumed: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    fee_consumed: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    #: loyalty ledger entry ids by role: {"out": id, "fee": id, "in": [ids], "return": [ids], "reversal": [ids]}
    entries: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    history: Mapped[list["TransferEvent"]] = relationship(
        order_by="TransferEvent.id", back_populates="transfer"
    )

    __table_args__ = (
        Index("ix_transfers_transfers_sender_created", "sender_id", "created_at"),
        Index("ix_transfers_transfers_recipient_created", "recipient_id", "created_at"),
        Index("ix_transfers_transfers_status_respond_by", "status", "respond_by"),
    )


class TransferEvent(Base):
    """One step of a transfer's life: requested, accepted, completed, declined, cancelled, expired, reversed."""

    __tablename__ = "transfers_events"
    __customer_data__ = CustomerData(via="transfer_id", keep=("event", "status", "actor", "reason"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("transfers_transfers.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # the transfer's status after this step
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[Optional[str]] = mapped_column(String(500))
    transfer: Mapped[Transfer] = relationship(back_populates="history")


class Family(Base):
    """A family or household group (گروه خانواده): its members may give each other points."""

    __tablename__ = "transfers_families"
    __customer_data__ = CustomerData(erase={"name": numbered("family ")}, erase_for=("owner_id",))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime]
    dissolved_at: Mapped[Optional[datetime]]  # when its last member left


class FamilyMember(Base):
    """A customer's current family (one at most); leaving deletes the row (the audit log keeps the history)."""

    __tablename__ = "transfers_family_members"
    __customer_data__ = CustomerData(merge="delete_duplicate", keep=("role",))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("transfers_families.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    role: Mapped[str] = mapped_column(String(10))  # owner, member
    joined_at: Mapped[datetime]


class FamilyInvitation(Base):
    """An invitation to join a family: open until accepted, declined or withdrawn."""

    __tablename__ = "transfers_family_invitations"
    __customer_data__ = CustomerData(keep=("status",))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("transfers_families.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    status: Mapped[str] = mapped_column(String(10))  # open, accepted, declined, withdrawn
    created_at: Mapped[datetime]
    answered_at: Mapped[Optional[datetime]]


class ApprovedRecipient(Base):
    """Someone a sender registered as a recipient; the club approves or rejects it."""

    __tablename__ = "transfers_recipients"
    __customer_data__ = CustomerData(
        merge="delete_duplicate", erase={"note": None}, keep=("status", "decided_by")
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    recipient_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))  # requested, approved, rejected
    requested_at: Mapped[datetime]
    decided_at: Mapped[Optional[datetime]]
    decided_by: Mapped[Optional[str]] = mapped_column(String(100))
    note: Mapped[Optional[str]] = mapped_column(String(300))

    __table_args__ = (UniqueConstraint("sender_id", "recipient_id"),)
