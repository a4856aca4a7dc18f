"""Delivery channels behind one interface: ``send(Outgoing) -> SendResult`` or raise ``DeliveryError``."""

from .base import (  # noqa: F401
    KINDS,
    Channel,
    DeliveryError,
    Outgoing,
    SendResult,
    build_channel,
    validate_options,
)
