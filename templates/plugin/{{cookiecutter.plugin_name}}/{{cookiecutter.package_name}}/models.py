"""The plugin's tables (named {{ cookiecutter.plugin_name }}_…) on crmcore's shared declarative base."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crmcore.api import Base, CustomerData


class EventNote(Base):
    """One kernel event this plugin saw for a customer."""

    __tablename__ = "{{ cookiecutter.plugin_name }}_event_notes"
    # the kernel moves the rows on `crm customers merge` and erases `detail` on `forget`
    __customer_data__ = CustomerData(erase={"detail": ""}, keep=("event",))

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    event: Mapped[str] = mapped_column(String(60))
    detail: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[datetime]

    __table_args__ = (Index("ix_{{ cookiecutter.plugin_name }}_event_notes_customer", "customer_id", "at"),)
