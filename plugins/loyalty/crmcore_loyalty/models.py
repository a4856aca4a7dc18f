"""The loyalty tables: program versions, accounts (the locked balance cache), the append-only ledger, lots,
purchase accruals (what each purchase earned, line by line, for refunds), redemptions and vouchers."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Optional

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crmcore.api import Base, CustomerData, JSONType


class LoyaltyProgram(Base):
    """One loaded version of the program file; the highest version is the active one."""

    __tablename__ = "loyalty_programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    name: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(Text)  # the TOML text as loaded
    source_name: Mapped[Optional[str]] = mapped_column(String(300))
    sha256: Mapped[str] = mapped_column(String(64))
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)  # the validated, normalised program
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(100))


class LoyaltyAccount(Base):
    """The cached balance of a member, and the row every write locks (``SELECT … FOR UPDATE``)."""

    __tablename__ = "loyalty_accounts"
    __customer_data__ = CustomerData(merge="hook", keep=("chain_head", "state"))

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    #: sum of the member's ledger entries (may be negative only under the ``allow_negative`` policy)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    #: points below zero (``allow_negative``): later earnings fill this hole before making new lots
    deficit: Mapped[int] = mapped_column(BigInteger, default=0)
    #: points still to claw back from later earnings (``clawback`` policy)
    owed: Mapped[int] = mapped_column(BigInteger, default=0)
    #: points the business absorbed (``absorb`` policy), recorded, never silently lost
    absorbed: Mapped[int] = mapped_column(BigInteger, default=0)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    chain_head: Mapped[str] = mapped_column(String(64), default="")
    #: running state of earning rules (threshold progress per rule)
    state: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    updated_at: Mapped[datetime]


class LoyaltyEntry(Base):
    """One change of a member's balance. Never updated or deleted; each row links to the previous one's hash."""

    __tablename__ = "loyalty_ledger"
    __customer_data__ = CustomerData(
        merge="keep",
        keep=(
            "kind",
            "reason",
            "key",
            "ref",
            "actor",
            "consumed_lots",
            "details",
            "prev_hash",
            "hash",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, 3… per member
    kind: Mapped[str] = mapped_column(
        String(30)
    )  # earn, redeem, expire, adjust, reverse, clawback, transfer_in…
    points: Mapped[int] = mapped_column(BigInteger)  # signed
    balance_after: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(500))
    key: Mapped[Optional[str]] = mapped_column(String(200), unique=True)  # idempotency key
    ref: Mapped[Optional[str]] = mapped_column(String(100))  # e.g. "redemption:12", "transfer:4"
    interaction_id: Mapped[Optional[int]] = mapped_column(ForeignKey("interactions.id"), index=True)
    actor: Mapped[str] = mapped_column(String(100))
    program_version: Mapped[Optional[int]] = mapped_column(Integer)
    occurred_at: Mapped[
        datetime
    ]  # when it counts (the purchase's time for accrual of imported history)
    recorded_at: Mapped[datetime]
    #: for debits: [[lot_id, points, expires_at ISO or null], …] in consumption order
    consumed_lots: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        UniqueConstraint("customer_id", "seq"),
        Index("ix_loyalty_ledger_kind_occurred", "kind", "occurred_at"),
        Index("ix_loyalty_ledger_customer_occurred", "customer_id", "occurred_at"),
    )

    @property
    def consumed(self) -> list[tuple[int, int, datetime | None]]:
        """The lots this debit consumed: ``(lot_id, points, expires_at)`` in consumption order."""
        out = []
        for lot_id, points, expires in self.consumed_lots or ():
            out.append((lot_id, points, datetime.fromisoformat(expires) if expires else None))
        return out


class LoyaltyLot(Base):
    """Points earned together, with their own expiry; debits take from lots in the program's spend order."""

    __tablename__ = "loyalty_lots"
    __customer_data__ = CustomerData(merge="keep")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    entry_id: Mapped[int] = mapped_column(ForeignKey("loyalty_ledger.id"))
    points: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    earned_at: Mapped[datetime]
    expires_at: Mapped[Optional[datetime]]
    warned_at: Mapped[Optional[datetime]]  # when "expiring soon" was announced
    entry: Mapped[LoyaltyEntry] = relationship()

    __table_args__ = (
        Index("ix_loyalty_lots_customer_remaining", "customer_id", "remaining"),
        Index("ix_loyalty_lots_expires_at", "expires_at"),
    )


class LoyaltyAccrual(Base):
    """What one purchase earned, line by line, and how much of it refunds have reversed."""

    __tablename__ = "loyalty_accruals"
    __customer_data__ = CustomerData(keep=("lines", "refund_ids"))

    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    entry_id: Mapped[Optional[int]] = mapped_column(ForeignKey("loyalty_ledger.id"))
    program_version: Mapped[int] = mapped_column(Integer)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    points: Mapped[int] = mapped_column(BigInteger)
    reversed_points: Mapped[int] = mapped_column(BigInteger, default=0)
    #: purchase-level points (fixed bonuses), reversed only when the purchase is refunded in full
    bonus_points: Mapped[int] = mapped_column(BigInteger, default=0)
    #: [{"sku", "category", "amount", "points", "refunded"}, …] with amounts in minor units
    lines: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    #: ids of the refunds already applied (a re-delivered refund event changes nothing)
    refund_ids: Mapped[list[Any]] = mapped_column(JSONType, default=list)


class LoyaltyRedemption(Base):
    """A reward taken by a member: the points debited and the voucher issued."""

    __tablename__ = "loyalty_redemptions"
    __customer_data__ = CustomerData(keep=("reward_code", "key", "source"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    reward_code: Mapped[str] = mapped_column(String(60), index=True)
    points: Mapped[int] = mapped_column(BigInteger)
    entry_id: Mapped[Optional[int]] = mapped_column(ForeignKey("loyalty_ledger.id"))
    program_version: Mapped[int] = mapped_column(Integer)
    redeemed_at: Mapped[datetime]
    key: Mapped[Optional[str]] = mapped_column(String(200), unique=True)
    source: Mapped[str] = mapped_column(String(30), default="redeem")  # redeem | threshold


class LoyaltyVoucher(Base):
    """A voucher code unique to one member, with its value and validity."""

    __tablename__ = "loyalty_vouchers"
    __customer_data__ = CustomerData(
        keep=("code", "reward_code", "kind", "currency", "sku", "status")
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    redemption_id: Mapped[int] = mapped_column(ForeignKey("loyalty_redemptions.id"))
    reward_code: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(
        String(30)
    )  # percent_discount, fixed_discount, free_item, points_payment
    percent: Mapped[Optional[int]] = mapped_column(Integer)
    amount_minor: Mapped[Optional[int]] = mapped_column(BigInteger)
    currency: Mapped[Optional[str]] = mapped_column(String(3))
    sku: Mapped[Optional[str]] = mapped_column(String(100))
    issued_at: Mapped[datetime]
    valid_until: Mapped[Optional[datetime]]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active, used, expired
    used_at: Mapped[Optional[datetime]]
    used_interaction_id: Mapped[Optional[int]] = mapped_column(ForeignKey("interactions.id"))
