"""crmcore-tickets: support tickets with SLA policies measured in business hours."""

__version__ = "0.1.0"
