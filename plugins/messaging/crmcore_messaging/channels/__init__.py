"""Delivery channels behind one interface: ``send(Outgoing) -> SendResult`` or raise ``DeliveryError``."""
from .base import KINDS, Channel, DeliveryError, Outgoing, SendResult, build_channel, validate_options  # noqa: F401
